package workflows

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/target"
)

// Every workflow type is a door on the Temporal frontend (SPEC §7). These
// mark the change that makes each type other than the assignment check its
// start first, as the assignment does since versionVouchedStart: the MAC of
// whoever started it, and the start's record, consumed once. A refused run
// does nothing and fails. Runs started before them skip the check
// (docs/changing-the-workflow.md).
const (
	// versionVouchedEmails: the assignment vouches for the emails' run it
	// starts (a local activity records and signs it), and that run checks it.
	versionVouchedEmails = "vouched-emails"
	// versionVouchedReissue: a reissue's run checks the server's vouch.
	versionVouchedReissue = "vouched-reissue"
	// versionVouchedReconcile: a reconciler's pass checks its Schedule's
	// vouch (a MAC only: every pass has the same input).
	versionVouchedReconcile = "vouched-reconcile"
)

// Tags of each kind in activities.VouchFields.
const (
	tagEmails    = "emails"
	tagReissue   = "reissue"
	tagReconcile = "reconcile"
)

// SignedFields are what the MAC of an emails run's start covers.
func (in EmailsInput) SignedFields(workflowID string) []string {
	return activities.VouchFields(workflowID, tagEmails, in.Vouch.ID, in.Vouch.SentAt, in.body()...)
}

// body is what the emails run acts on. JSON of the workflow's own types is
// the same bytes after a payload's round trip.
func (in EmailsInput) body() []string {
	emails, err := json.Marshal(in.Emails)
	if err != nil { // only plain fields: cannot fail
		panic(err)
	}
	body := []string{in.AssignmentID, in.RetryFor.String(), string(emails)}
	if len(in.Chats) > 0 { // runs without chats are signed as before them
		chats, err := json.Marshal(in.Chats)
		if err != nil {
			panic(err)
		}
		body = append(body, "chats", string(chats))
	}
	return body
}

// EmailsWorkflowID is the emails run of an assignment.
func EmailsWorkflowID(assignmentID string) string { return "assignment-emails/" + assignmentID }

// ReissueInput asks for a new temporary password (R5's reissue), vouched
// for by the server (since versionVouchedReissue). The input is embedded,
// so its fields are the JSON's own, as recorded histories hold them.
type ReissueInput struct {
	target.Input
	Vouch Vouch `json:",omitzero"`
}

// SignedFields are what the MAC of a reissue's start covers.
func (in ReissueInput) SignedFields(workflowID string) []string {
	d := in.Input
	return activities.VouchFields(workflowID, tagReissue, in.Vouch.ID, in.Vouch.SentAt,
		d.AssignmentID, d.CustomerID, d.SiteID, d.PartnerID, d.UserID, d.DisplayName, d.Edition, d.At.UTC().Format(time.RFC3339Nano))
}

// ReconcileInput is what the reconciler's Schedule starts each pass with.
type ReconcileInput struct {
	Vouch Vouch `json:",omitzero"`
}

// SignedFields are what the MAC of a reconciler's pass covers: its
// Schedule, not a run's own workflow ID (each pass has another).
func (in ReconcileInput) SignedFields() []string {
	return activities.VouchFields(ReconcileScheduleID, tagReconcile, in.Vouch.ID, in.Vouch.SentAt)
}

// checkVouched checks the start of the run in ctx and consumes its record;
// a refused start is audited (by the activity) and fails the run.
func checkVouched(ctx workflow.Context, kind, grants, assignmentID string, fields []string, v Vouch) error {
	run := workflow.GetInfo(ctx).WorkflowExecution
	var verdict activities.SignalVerdict
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.CheckVouch, activities.VouchCheck{
		Kind: kind, WorkflowID: run.ID, RunID: run.RunID, VouchID: v.ID, Grants: grants, Fields: fields, MAC: v.MAC,
		AssignmentID: assignmentID,
	}).Get(ctx, &verdict)
	if err != nil {
		return err
	}
	if !verdict.OK {
		return temporal.NewNonRetryableApplicationError("refused: "+verdict.Why, activities.ErrTypeForged, nil)
	}
	return nil
}

// vouchEmails vouches for the emails run the assignment is about to start.
func vouchEmails(ctx workflow.Context, in *EmailsInput) error {
	var v activities.StartVouch
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.VouchStart, activities.VouchRequest{
		Kind: activities.VouchEmails, Tag: tagEmails, WorkflowID: EmailsWorkflowID(in.AssignmentID),
		Grants: activities.EmailsGrants(in.AssignmentID), Body: in.body(),
	}).Get(ctx, &v)
	in.Vouch = Vouch{ID: v.ID, SentAt: v.SentAt, MAC: v.MAC}
	return err
}
