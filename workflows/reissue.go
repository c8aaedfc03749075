package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
)

// ReissueWorkflowName sets a new temporary password of an assignment whose
// account lives in the customer's directory (R5's reissue): the worker holds
// the directory's secrets, so the server asks it through this short workflow
// and waits for the answer.
const ReissueWorkflowName = "CredentialReissue"

// ReissueWorkflowID is a reissue's workflow ID: one at a time per assignment.
func ReissueWorkflowID(assignmentID string) string { return "credential-reissue/" + assignmentID }

// Reissue resets the account's password in the directory and seals the new
// one as the assignment's credential, viewable once. A refusal is not
// retried; anything else is, for at most a minute. Since
// versionVouchedReissue a run the server did not vouch for changes nothing.
func Reissue(ctx workflow.Context, in ReissueInput) error {
	if workflow.GetVersion(ctx, versionVouchedReissue, workflow.DefaultVersion, 1) == 1 {
		if err := checkVouched(ctx, activities.VouchReissue, activities.ReissueGrants(in.AssignmentID), in.AssignmentID,
			in.SignedFields(workflow.GetInfo(ctx).WorkflowExecution.ID), in.Vouch); err != nil {
			return err
		}
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second,
			NonRetryableErrorTypes: []string{activities.ErrTypeDirectoryDenied, activities.ErrTypeNoAccess, activities.ErrTypeForged},
		},
	}), a.ReissueDirectoryCredential, in.Input).Get(ctx, nil)
}
