package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
)

// Names of the reconciler, which a Temporal Schedule starts every
// RECONCILE_EVERY.
const (
	ReconcileWorkflowName = "Reconcile"
	ReconcileScheduleID   = "partner-access-reconciler"
)

// Reconcile runs one pass of the reconciler: any grant whose assignment
// workflow is closed, terminated or missing is revoked. Since
// versionVouchedReconcile a pass its Schedule did not vouch for does nothing.
func Reconcile(ctx workflow.Context, in ReconcileInput) (activities.ReconcileResult, error) {
	var res activities.ReconcileResult
	if workflow.GetVersion(ctx, versionVouchedReconcile, workflow.DefaultVersion, 1) == 1 {
		if err := checkVouched(ctx, activities.VouchReconcile, "", "", in.SignedFields(), in.Vouch); err != nil {
			return res, err
		}
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	}), a.Reconcile).Get(ctx, &res)
	return res, err
}
