package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// versionVouchedStart marks the change that makes a run check its own
// start before it does anything: the server vouches for the input with a
// MAC, and a local activity verifies it and re-reads what the rules depend
// on. A run started straight on the Temporal frontend, or whose claims the
// store contradicts, ends failed and grants nothing. Since it too, a
// vouched signal counts once and only while fresh (check). Runs started
// before it skip both (docs/changing-the-workflow.md). The check also
// consumes the server's record of the start, so a start replayed byte for
// byte, or a run reset to before the check, ends failed too: its
// commands are the same as any refused start's, so no new version.
const versionVouchedStart = "vouched-start"

// checkStart reports whether the run may go on; when not, it has recorded
// the refusal and the run ends, failed.
func (w *assignment) checkStart(ctx workflow.Context) (bool, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, storeOptions)
	run := workflow.GetInfo(ctx).WorkflowExecution
	wfID := run.ID
	ids := make([]string, len(w.in.Approvers))
	for i, p := range w.in.Approvers {
		ids[i] = p.ID
	}
	var v activities.SignalVerdict
	if err := workflow.ExecuteLocalActivity(lctx, a.CheckStart, activities.StartCheck{
		Fields: w.in.SignedFields(wfID), MAC: w.in.Vouch.MAC, WorkflowID: wfID, RunID: run.RunID, VouchID: w.in.Vouch.ID, SiteID: w.in.SiteID, CustomerID: w.in.CustomerID,
		PartnerID: w.in.PartnerID, Edition: w.in.Edition, PartnerUserID: w.in.PartnerUser.ID, ApproverIDs: ids,
	}).Get(ctx, &v); err != nil {
		return false, err
	}
	if v.OK {
		w.target = v.Target
		return true, nil
	}
	w.status.Failure = "the start was refused: " + v.Why
	w.seq = 1
	w.setState(ctx, domain.StateFailed)
	return false, workflow.ExecuteLocalActivity(lctx, a.RefuseStart, activities.StartRefusal{
		BeginInput: activities.BeginInput{AssignmentID: w.id, WorkflowID: wfID, SiteID: w.in.SiteID, PartnerUserID: w.in.PartnerUser.ID,
			Role: w.in.Role, Reason: w.in.Reason, Edition: w.in.Edition, RequestedBy: w.in.RequestedBy.ID, RequestedAt: w.status.RequestedAt},
		Why: w.status.Failure, RunID: run.RunID,
	}).Get(ctx, nil)
}
