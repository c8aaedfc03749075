package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// versionPolicy marks the change that follows the customer's own policy
// (R10), as the start input carries it (Input.Policy): a Standard request
// waits for Approvals distinct approvals (the first denial denies), the same
// for its extensions; a request the policy approves in advance is approved
// at once; approved access that starts later is scheduled until then; a
// Professional request may wait for approval too. With the zero Policy a
// run behaves as before it. Runs started before it skip all of it
// (docs/changing-the-workflow.md).
const versionPolicy = "customer-policy"

// byPolicy is who decided a request the customer's policy approved in
// advance (SPEC §13: decided_by policy).
var byPolicy = Person{ID: "policy", Name: "the customer's policy", Email: "policy"}

// approvalsNeeded is how many distinct approvals settle a request.
func (w *assignment) approvalsNeeded() int {
	if w.policy && w.in.Policy.Approvals > 1 {
		return w.in.Policy.Approvals
	}
	return 1
}

// confirmed are who is told that the request was approved: its approvers,
// or every customer user when the policy approved it (nobody was asked).
func (w *assignment) confirmed() []Person {
	if w.policy && w.in.Policy.AutoApproved != "" {
		return w.in.CustomerUsers
	}
	return w.in.Approvers
}

// autoApprove records the request and its approval by the customer's
// policy, naming the rule: no approver is asked.
func (w *assignment) autoApprove(ctx workflow.Context, state string) (*ApprovalSignal, error) {
	if err := w.begin(ctx, state, nil); err != nil {
		return nil, err
	}
	if w.requesterIsOther() {
		w.send(ctx, domain.EmailRequestSent, w.in.RequestedBy)
	}
	w.status.AutoApproved = w.in.Policy.AutoApproved
	return &ApprovalSignal{Approve: true, By: byPolicy}, nil
}

// countApproval counts an approver's approval of the request (extension 0)
// or of extension request n under N of M. It reports whether the request
// now has every approval it needs. The same approver counts once; a second
// approval of theirs is answered as such and changes nothing.
func (w *assignment) countApproval(ctx workflow.Context, s ApprovalSignal, approvals *[]ApprovalStatus) bool {
	need := w.approvalsNeeded()
	if approvedBy(*approvals, s.By.ID) {
		w.outcomes[s.ID] = SignalOutcome{Conflict: true, Detail: fmt.Sprintf("you have already approved; %d of %d approvals so far", len(*approvals), need)}
		return false
	}
	now := workflow.Now(ctx)
	*approvals = append(*approvals, ApprovalStatus{ByID: s.By.ID, By: s.By.Email, Name: s.By.Name, At: now})
	got := len(*approvals)
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.RecordApproval, activities.ApprovalRecord{
		AssignmentID: w.id, Extension: s.Extension, ApproverID: s.By.ID, At: now, Via: s.Via,
		Detail: fmt.Sprintf("%s approved (%d of %d)%s", s.By.Email, got, need, domain.ViaWords(s.Via)),
	}).Get(ctx, nil)
	if err != nil { // retried without limit, so only a cancelled run gets here
		workflow.GetLogger(ctx).Error("approval not recorded", "error", err)
	}
	if got == need && need > 1 { // the others must still be current approvers
		got = w.stillCounting(ctx, approvals)
	}
	if got < need {
		w.outcomes[s.ID] = SignalOutcome{Accepted: true, Awaiting: need - got}
		w.refreshChats(ctx, s.Extension)
		return false
	}
	return true
}

// stillCounting keeps of the approvals only those whose approvers still
// approve (suspended, or no longer in an approver's role: they no longer
// count), and returns how many are left.
func (w *assignment) stillCounting(ctx workflow.Context, approvals *[]ApprovalStatus) int {
	ids := make([]string, len(*approvals))
	for i, p := range *approvals {
		ids[i] = p.ByID
	}
	var still []string
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.CurrentApprovers, activities.ApproversCheck{
		CustomerID: w.in.CustomerID, Roles: w.approverRoles(), IDs: ids,
	}).Get(ctx, &still)
	if err != nil { // retried without limit, so only a cancelled run gets here
		return len(*approvals)
	}
	kept := (*approvals)[:0]
	for _, p := range *approvals {
		if slices.Contains(still, p.ByID) {
			kept = append(kept, p)
		}
	}
	*approvals = kept
	return len(kept)
}

// approverRoles are the roles the request's policy lets decide (nil: any
// approver's, as before).
func (w *assignment) approverRoles() []string {
	if w.policy {
		return w.in.Policy.ApproverRoles
	}
	return nil
}

// awaitStart holds approved access that the request scheduled for later:
// the assignment is scheduled, both sides are told when it starts, and an
// unassign (or any end) meanwhile revokes it, with nothing to remove. It
// reports whether the assignment ended.
func (w *assignment) awaitStart(ctx workflow.Context, d *ApprovalSignal) (bool, error) {
	starts := w.in.Policy.StartsAt
	now := workflow.Now(ctx)
	if starts == nil || !starts.After(now) {
		return false, nil
	}
	asked := w.status.ApprovalDeadline != nil
	if asked {
		w.decided(ctx, domain.DecisionApproved, d.By)
	}
	w.status.StartsAt = starts
	ends := starts.Add(w.in.Timing.AccessDuration)
	if w.in.Edition == domain.EditionProfessional {
		ends = time.Time{}
	}
	t := activities.Transition{State: domain.StateScheduled, Action: domain.ActionAssignmentScheduled,
		Detail: fmt.Sprintf("access starts at %s", starts.UTC().Format(time.RFC3339))}
	if asked {
		t.Detail = fmt.Sprintf("approved by %s; %s", w.approvedBy(d), t.Detail)
		t.Actor, t.Decision, t.DecidedBy, t.DecisionSignal, t.Via = d.By.ID, domain.DecisionApproved, d.By.Email, d.ID, d.Via
	}
	if err := w.record(ctx, t); err != nil {
		return false, err
	}
	if t.Decision != "" {
		w.sendAll(ctx, domain.EmailApprovalConfirmation, w.confirmed())
	}
	data := w.mailData()
	data.StartsAt, data.AccessEndsAt = *starts, ends
	w.sendEach(ctx, domain.EmailAccessScheduled, w.partnerSide(), data, 0)
	if u := w.awaitEnd(ctx, starts.Sub(now)); u != nil {
		w.unstarted = true // nothing was made: nothing to remove
		return true, w.end(ctx, domain.StateRevoked, domain.ActionAccessRevoked, u, domain.EmailAccessEnded, w.bothSides())
	}
	return false, nil
}

// approvedBy names who approved, in words for the record.
func (w *assignment) approvedBy(d *ApprovalSignal) string {
	if d.By == byPolicy {
		return "the customer's policy (" + w.in.Policy.AutoApproved + ")"
	}
	names := make([]string, len(w.status.Approvals))
	for i, p := range w.status.Approvals {
		names[i] = p.By
	}
	if len(names) > 1 {
		return strings.Join(names, " and ")
	}
	return d.By.Email
}

// professionalStart begins a Professional assignment under its policy: an
// approval first when the policy asks for one, and a wait until its start
// when it is scheduled. It reports whether the assignment ended meanwhile.
func (w *assignment) professionalStart(ctx workflow.Context) (bool, error) {
	scheduled := w.in.Policy.StartsAt != nil && w.in.Policy.StartsAt.After(workflow.Now(ctx))
	asked := w.in.Policy.ProfessionalApproval
	d := &ApprovalSignal{Approve: true, By: byPolicy} // nobody is asked
	switch {
	case asked:
		var err error
		if d, err = w.requestApproval(ctx, domain.StatePendingApproval); d == nil || err != nil {
			return true, err
		}
	case scheduled:
		if err := w.begin(ctx, domain.StateScheduled, nil); err != nil {
			return false, err
		}
	default:
		return false, w.begin(ctx, domain.StateProvisioning, nil)
	}
	if scheduled {
		if ended, err := w.awaitStart(ctx, d); ended || err != nil {
			return ended, err
		}
		return false, w.record(ctx, activities.Transition{State: domain.StateProvisioning, Action: domain.ActionAccessStarted})
	}
	w.decided(ctx, domain.DecisionApproved, d.By)
	if err := w.record(ctx, activities.Transition{State: domain.StateProvisioning, Action: domain.ActionAssignmentApproved, Actor: d.By.ID,
		Decision: domain.DecisionApproved, DecidedBy: d.By.Email, DecisionSignal: d.ID, Via: d.Via,
		Detail: "approved by " + w.approvedBy(d)}); err != nil {
		return false, err
	}
	w.sendAll(ctx, domain.EmailApprovalConfirmation, w.confirmed())
	return false, nil
}

// approvedBy reports whether the approver's approval is among approvals.
func approvedBy(approvals []ApprovalStatus, id string) bool {
	return slices.ContainsFunc(approvals, func(p ApprovalStatus) bool { return p.ByID == id })
}

// progress is the N-of-M progress in words: "1 of 2 approvals: Casey
// Contoso" ("" when one approval settles the request).
func progress(approvals []ApprovalStatus, need int) string {
	names := make([]string, len(approvals))
	for i, p := range approvals {
		names[i] = p.Name
	}
	return domain.ApprovalProgress(need, names)
}

// startsAt is when the request's access starts, when its policy scheduled
// it (nil: at approval).
func (w *assignment) startsAt() *time.Time {
	if w.policy {
		return w.in.Policy.StartsAt
	}
	return nil
}

// maxExtension is the most one extension may add, and what it is in
// words: the policy's max_duration, or the access duration as before.
func (w *assignment) maxExtension() (time.Duration, string) {
	if w.policy && w.in.Policy.MaxDuration > 0 {
		return w.in.Policy.MaxDuration, fmt.Sprintf("the policy's longest access (%s)", w.in.Policy.MaxDuration)
	}
	return w.in.Timing.AccessDuration, fmt.Sprintf("the access duration (%s)", w.in.Timing.AccessDuration)
}
