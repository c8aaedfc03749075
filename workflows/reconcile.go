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
	ReconcileScheduleID   = activities.ReconcileScheduleID
)

// attrScheduledBy is the search attribute Temporal sets on a run a
// Schedule started, and refuses from anyone starting a run.
var attrScheduledBy = temporal.NewSearchAttributeKeyKeyword("TemporalScheduledById")

// scheduledBy is what a reconciler pass may do: a pass of the Schedule that
// started it ("" when none did).
func scheduledBy(ctx workflow.Context) string {
	id, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(attrScheduledBy)
	return activities.ReconcileGrants(id)
}

// Reconcile runs one pass of the reconciler: any grant whose assignment
// workflow is closed, terminated or missing is revoked. Since
// versionVouchedReconcile a pass its Schedule did not vouch for does nothing.
func Reconcile(ctx workflow.Context, in ReconcileInput) (activities.ReconcileResult, error) {
	var res activities.ReconcileResult
	if workflow.GetVersion(ctx, versionVouchedReconcile, workflow.DefaultVersion, 1) == 1 {
		if err := checkVouched(ctx, activities.VouchReconcile, scheduledBy(ctx), "", in.SignedFields(), in.Vouch); err != nil {
			return res, err
		}
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	}), a.Reconcile).Get(ctx, &res)
	return res, err
}
