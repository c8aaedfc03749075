package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// a names the activity methods; the worker registers the real struct.
var a *activities.Activities

// assignment is the state of one workflow run.
type assignment struct {
	versions
	in        Input
	id        string
	seq       int
	status    Status
	approval  workflow.ReceiveChannel
	unassign  workflow.ReceiveChannel
	extension workflow.ReceiveChannel

	emails  []*email                  // in flight
	closing bool                      // the state is final: emails are owed, not sent
	owed    []activities.EmailRequest // handed over when the run ends

	signals  int                      // signals received; keys their audit entries
	outcomes map[string]SignalOutcome // by Vouch.ID, for QuerySignal
	seen     map[string]bool          // the voucher IDs of signals vouched for so far

	// cancelled is the cancel request's channel (nil before
	// versionCancelIsUnassign), cancelErr the run's own context's error,
	// and wasCancelled that a cancel request ended the assignment.
	cancelled    workflow.Channel
	cancelErr    func() error
	wasCancelled bool

	// target is the kind of the customer's access target when the run
	// started (CheckStart read it), credential that activation issued a
	// temporary password to show.
	target         string
	credential     bool
	unstarted      bool // scheduled access ended before its start (versionPolicy)
	decisionSignal string
	access         accessTimers // Standard access while it lasts (extended runs)
	pending        *pendingExtension

	// chat: the run asks in the chats its input names (versionChat);
	// chatAsked the requests asked there (0: the first, n: extension n);
	// chatsOwed the refreshes handed over when the run ends.
	chat      bool
	chatAsked map[int]bool
	chatsOwed []activities.ChatRefresh
}

// Assignment is the workflow of one assignment, Standard or Professional.
func Assignment(ctx workflow.Context, in Input) (Status, error) {
	w := &assignment{
		in:       in,
		id:       assignmentID(workflow.GetInfo(ctx)),
		approval: workflow.GetSignalChannelWithOptions(ctx, SignalApproval, workflow.SignalChannelOptions{Description: signalDescriptions[SignalApproval]}),
		unassign: workflow.GetSignalChannelWithOptions(ctx, SignalUnassign, workflow.SignalChannelOptions{Description: signalDescriptions[SignalUnassign]}),

		extension: workflow.GetSignalChannelWithOptions(ctx, SignalExtension, workflow.SignalChannelOptions{Description: signalDescriptions[SignalExtension]}),
	}
	w.status = Status{AssignmentID: w.id, State: domain.StateRequested, RequestedAt: workflow.Now(ctx)}
	if w.in.Edition == domain.EditionStandard {
		w.status.AccessDuration = w.in.Timing.AccessDuration
	}
	w.outcomes = map[string]SignalOutcome{}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (Status, error) { return w.status, nil },
		workflow.QueryHandlerOptions{Description: queryDescriptions[QueryStatus]}); err != nil {
		return w.status, err
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QuerySignal, func(id string) (*SignalOutcome, error) {
		if o, ok := w.outcomes[id]; ok {
			return &o, nil
		}
		return nil, nil
	}, workflow.QueryHandlerOptions{Description: queryDescriptions[QuerySignal]}); err != nil {
		return w.status, err
	}
	w.versions = readVersions(ctx)
	w.chat = len(in.Chats) > 0 && workflow.GetVersion(ctx, versionChat, workflow.DefaultVersion, 1) == 1
	if n := w.approvalsNeeded(); n > 1 {
		w.status.ApprovalsRequired = n
	}
	ctx = w.detachFromCancel(ctx)
	w.seen = map[string]bool{}
	if w.vouched {
		if ok, err := w.checkStart(ctx); !ok || err != nil {
			return w.status, err
		}
	}
	var err error
	if in.Edition == domain.EditionProfessional {
		err = w.professional(ctx)
	} else {
		err = w.standard(ctx)
	}
	if err != nil {
		return w.status, err
	}
	if !w.justified {
		w.settleEmails(ctx)
		return w.status, nil
	}
	err = w.handOverEmails(ctx)
	w.drainSignals(ctx) // last: starting the emails' workflow takes a task, and signals may come meanwhile
	return w.result(err)
}

// assignmentID is the first run's ID: stable across resets, and what the
// server learns from the start call.
func assignmentID(info *workflow.Info) string {
	if info.FirstRunID != "" {
		return info.FirstRunID
	}
	return info.WorkflowExecution.RunID // the test environment sets no FirstRunID
}

// standard: approval by the customer (R4), then access for the configured
// duration, then automatic removal. Since versionPolicy the customer's
// policy may ask for several approvals, approve in advance, or schedule the
// access for later (R10).
func (w *assignment) standard(ctx workflow.Context) error {
	d, err := w.requestApproval(ctx, FirstState(w.in.Edition))
	if d == nil || err != nil {
		return err
	}
	scheduled := false
	if w.policy {
		ended, err := w.awaitStart(ctx, d)
		if ended || err != nil {
			return err
		}
		scheduled = w.in.Policy.StartsAt != nil && w.status.State == domain.StateScheduled
	}
	return w.standardAccess(ctx, d, scheduled)
}

// requestApproval asks the approvers (R4) and waits for their decision. It
// returns the approval, or nil once the request ended otherwise (withdrawn,
// undeliverable, lapsed, denied: recorded and told).
func (w *assignment) requestApproval(ctx workflow.Context, state string) (*ApprovalSignal, error) {
	deadline := w.status.RequestedAt.Add(w.in.Timing.ApprovalTimeout)
	if s := w.startsAt(); s != nil && s.After(w.status.RequestedAt) && s.Before(deadline) {
		deadline = *s // decided before access is to start, or not at all (R10)
	}
	w.status.ApprovalDeadline = &deadline
	if w.policy && w.in.Policy.AutoApproved != "" {
		return w.autoApprove(ctx, state)
	}
	if err := w.begin(ctx, state, w.in.Approvers); err != nil {
		return nil, err
	}
	requests := make([]*email, len(w.in.Approvers))
	for i, p := range w.in.Approvers {
		requests[i] = w.send(ctx, domain.EmailApprovalRequest, p)
	}
	if w.justified {
		w.sendAll(ctx, domain.EmailCustomerNotice, w.notApprovers())
		if w.requesterIsOther() {
			w.send(ctx, domain.EmailRequestSent, w.in.RequestedBy)
		}
	}
	w.askInChats(ctx, 0, w.mailData(), w.status.AccessDuration, w.status.Approvals)

	outcome := w.awaitDecision(ctx, requests)
	switch {
	case outcome.unassigned != nil:
		told := append([]Person{w.in.PartnerUser}, w.in.Approvers...)
		if w.justified {
			told = append(w.partnerSide(), w.in.CustomerUsers...)
		}
		return nil, w.end(ctx, domain.StateWithdrawn, domain.ActionAssignmentWithdrawn, outcome.unassigned, domain.EmailRequestWithdrawn, told)
	case outcome.undeliverable:
		w.status.Failure = "the approval request could not be delivered to any approver"
		// the partner has been told by awaitDecision
		return nil, w.record(ctx, activities.Transition{State: domain.StateFailed, Action: domain.ActionAssignmentFailed, Detail: w.status.Failure, Failure: w.status.Failure})
	case outcome.decision == nil:
		w.status.EndReason = "no approver decided before the deadline"
		if err := w.record(ctx, activities.Transition{State: domain.StateApprovalExpired, Action: domain.ActionAssignmentApprovalExpired,
			EndReason: w.status.EndReason}); err != nil {
			return nil, err
		}
		w.sendAll(ctx, domain.EmailApprovalExpired, append(w.partnerSide(), w.in.Approvers...))
		return nil, nil
	case !outcome.decision.Approve:
		d := outcome.decision
		w.decided(ctx, domain.DecisionDenied, d.By)
		if err := w.record(ctx, activities.Transition{State: domain.StateDenied, Action: domain.ActionAssignmentDenied, Actor: d.By.ID,
			Decision: domain.DecisionDenied, DecidedBy: d.By.Email, DecisionSignal: d.ID, Via: d.Via}); err != nil {
			return nil, err
		}
		w.sendAll(ctx, domain.EmailApprovalConfirmation, w.in.Approvers)
		w.sendAll(ctx, domain.EmailAccessDenied, w.partnerSide())
		return nil, nil
	}
	return outcome.decision, nil
}

// standardAccess makes approved Standard access real, for its duration.
// scheduled: the approval was recorded and told when the access was
// scheduled; now only its start is.
func (w *assignment) standardAccess(ctx workflow.Context, d *ApprovalSignal, scheduled bool) error {
	if !scheduled { // a scheduled request was decided when it was scheduled
		w.decided(ctx, domain.DecisionApproved, d.By)
	}
	now := workflow.Now(ctx)
	if w.inDirectory() { // active only once the directory holds the membership
		w.decisionSignal = d.ID
		res, why := w.provision(ctx, now)
		if why != "" {
			return w.failProvision(ctx, why)
		}
		w.credential, now = res.Credential, workflow.Now(ctx)
	}
	ends := now.Add(w.in.Timing.AccessDuration)
	if err := w.activate(ctx, now, &ends); err != nil {
		return err
	}
	t := activities.Transition{State: domain.StateActive, Action: domain.ActionAssignmentApproved, Actor: d.By.ID,
		Decision: domain.DecisionApproved, DecidedBy: d.By.Email, DecisionSignal: d.ID, ActivatedAt: &now, AccessEndsAt: &ends, Via: d.Via}
	switch {
	case scheduled: // the decision, recorded when scheduled, keeps its time
		t.Action, t.Actor, t.Decision, t.DecidedBy, t.DecisionSignal, t.Via = domain.ActionAccessStarted, "", "", "", "", ""
	case w.policy && (d.By == byPolicy || len(w.status.Approvals) > 1):
		t.Detail = "approved by " + w.approvedBy(d) + "; reason: " + w.in.Reason
	}
	if err := w.record(ctx, t); err != nil {
		return err
	}
	if !scheduled {
		w.sendAll(ctx, domain.EmailApprovalConfirmation, w.confirmed())
	}
	w.sendAll(ctx, domain.EmailAccessGranted, w.partnerSide())
	if w.credential { // a new directory account: its first password, shown once
		w.send(ctx, domain.EmailCredentialLink, w.in.PartnerUser)
	}

	if w.extended {
		return w.extensibleAccess(ctx, now)
	}
	if u := w.awaitEnd(ctx, w.in.Timing.AccessDuration); u != nil {
		return w.end(ctx, domain.StateRevoked, domain.ActionAccessRevoked, u, domain.EmailAccessEnded, w.bothSides())
	}
	w.status.EndReason = fmt.Sprintf("access expired after %s", w.in.Timing.AccessDuration)
	return w.end(ctx, domain.StateExpired, domain.ActionAccessExpired, nil, domain.EmailAccessEnded, w.bothSides())
}

// professional: no approval (R5); the customer is told, the partner user
// gets the AVD instructions and a temporary credential, a ready email after
// the wait, and keeps access until unassigned.
func (w *assignment) professional(ctx workflow.Context) error {
	if w.policy {
		if ended, err := w.professionalStart(ctx); ended || err != nil {
			return err
		}
	} else if err := w.begin(ctx, FirstState(w.in.Edition), nil); err != nil {
		return err
	}
	w.sendAll(ctx, domain.EmailProfessionalNotice, w.in.CustomerUsers)
	granted := workflow.Now(ctx)
	if w.inDirectory() { // the account, a fresh password and the membership
		if _, why := w.provision(ctx, granted); why != "" {
			return w.failProvision(ctx, why)
		}
		granted = workflow.Now(ctx)
	}
	if err := w.activate(ctx, granted, nil); err != nil {
		return err
	}
	if !w.inDirectory() {
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.IssueCredential,
			activities.CredentialInput{AssignmentID: w.id, Login: w.in.PartnerUser.Email, At: granted}).Get(ctx, nil)
		if err != nil {
			return err
		}
	}
	w.send(ctx, domain.EmailAVDInstructions, w.in.PartnerUser)
	w.send(ctx, domain.EmailCredentialLink, w.in.PartnerUser)

	if u := w.awaitEnd(ctx, w.in.Timing.ReadyWait); u != nil {
		return w.end(ctx, domain.StateRevoked, domain.ActionAccessRevoked, u, domain.EmailAccessEnded, w.bothSides())
	}
	if err := w.record(ctx, activities.Transition{State: domain.StateActive, Action: domain.ActionAccessReady, ActivatedAt: &granted}); err != nil {
		return err
	}
	w.send(ctx, domain.EmailReadyToLogIn, w.in.PartnerUser)

	var u *UnassignSignal
	if w.extended {
		u = w.awaitUnassignReminding(ctx, granted)
	} else {
		u = w.awaitEnd(ctx, 0)
	}
	return w.end(ctx, domain.StateRevoked, domain.ActionAccessRevoked, u, domain.EmailAccessEnded, w.bothSides())
}

// decisionOutcome is how the approval wait ended.
type decisionOutcome struct {
	decision      *ApprovalSignal
	unassigned    *UnassignSignal
	undeliverable bool
}

// awaitDecision waits for the first valid decision, an unassign, the
// deadline, or every approval request refused. It reminds approvers before
// the deadline and tells the partner user of requests that could not be delivered.
func (w *assignment) awaitDecision(ctx workflow.Context, requests []*email) decisionOutcome {
	// Only the timers are cancelled on return: emails started here go on.
	timers, cancelTimers := workflow.WithCancel(ctx)
	defer cancelTimers()
	var out decisionOutcome
	lapsed := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(w.approval, func(c workflow.ReceiveChannel, _ bool) {
		var s ApprovalSignal
		c.Receive(ctx, &s)
		switch {
		case w.extended && s.Extension > 0: // no extension can be pending before access
			w.lateExtensionDecision(ctx, s)
		case w.justified:
			if w.decisionCounts(ctx, s) && (!s.Approve || w.approvalsNeeded() == 1 || w.countApproval(ctx, s, &w.status.Approvals)) {
				out.decision = &s
			}
		case w.isApprover(s.By.ID):
			out.decision = &s
			w.outcomes[s.ID] = SignalOutcome{Accepted: true} // state only, no command: safe for old runs
		default:
			workflow.GetLogger(ctx).Warn("decision from someone not an approver ignored", "by", s.By.ID)
		}
	})
	sel.AddReceive(w.unassign, func(c workflow.ReceiveChannel, _ bool) {
		var s UnassignSignal
		c.Receive(ctx, &s)
		if !w.justified || w.unassignCounts(ctx, s) {
			out.unassigned = &s
		}
	})
	w.receiveCancel(ctx, sel, &out.unassigned)
	sel.AddFuture(workflow.NewTimer(timers, w.in.Timing.ApprovalTimeout), func(f workflow.Future) { lapsed = f.Get(ctx, nil) == nil })
	if r := w.in.Timing.ApprovalReminder; r > 0 && r < w.in.Timing.ApprovalTimeout {
		sel.AddFuture(workflow.NewTimer(timers, w.in.Timing.ApprovalTimeout-r), func(f workflow.Future) {
			if f.Get(ctx, nil) != nil {
				return
			}
			for _, req := range requests {
				if (!req.settled || req.err == nil) && !approvedBy(w.status.Approvals, req.req.To.ID) {
					w.send(ctx, domain.EmailApprovalReminder, Person(req.req.To))
				}
			}
		})
	}
	pending, failed := len(requests), 0
	for _, req := range requests {
		sel.AddFuture(req.future, func(workflow.Future) {
			pending--
			if w.settle(ctx, req) != nil {
				failed++
			}
			if pending == 0 && failed > 0 {
				w.tellDeliveryFailed(ctx, requests)
			}
		})
	}
	for out.decision == nil && out.unassigned == nil && !lapsed && !(pending == 0 && failed == len(requests)) {
		sel.Select(ctx)
	}
	out.undeliverable = out.decision == nil && out.unassigned == nil && !lapsed
	return out
}

func (w *assignment) decided(ctx workflow.Context, decision string, by Person) {
	now := workflow.Now(ctx)
	w.status.Decision, w.status.DecidedBy, w.status.DecidedAt = decision, by.Email, &now
}

// begin records the assignment and, for Standard, the approvers' tokens.
func (w *assignment) begin(ctx workflow.Context, state string, approvers []Person) error {
	ids := make([]string, len(approvers))
	for i, p := range approvers {
		ids[i] = p.ID
	}
	w.seq = 1
	w.setState(ctx, state)
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.Begin, activities.BeginInput{
		AssignmentID: w.id, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		SiteID: w.in.SiteID, PartnerUserID: w.in.PartnerUser.ID, Role: w.in.Role, Reason: w.in.Reason,
		Edition: w.in.Edition, RequestedBy: w.in.RequestedBy.ID, RequestedAt: w.status.RequestedAt,
		State: state, ApprovalDeadline: w.status.ApprovalDeadline, ApproverIDs: ids,
		ApprovalsRequired: w.status.ApprovalsRequired, StartsAt: w.startsAt(),
		Detail: fmt.Sprintf("%s assigned %s (%s) to %s: %s", w.in.RequestedBy.Email, w.in.PartnerUser.Email,
			w.in.Role, w.in.SiteName, w.in.Reason),
	}).Get(ctx, nil)
}

// record applies a transition: the workflow's status, its search attribute,
// and the store's projection and audit log.
func (w *assignment) record(ctx workflow.Context, t activities.Transition) error {
	t = w.step(ctx, t)
	if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.Record, t).Get(ctx, nil); err != nil {
		return err
	}
	if w.settlesRequest(t) {
		w.refreshChats(ctx, 0)
	}
	return nil
}

// step numbers a transition and applies it to the workflow's status; the
// caller records it.
func (w *assignment) step(ctx workflow.Context, t activities.Transition) activities.Transition {
	w.seq++
	t.AssignmentID, t.Seq, t.At = w.id, w.seq, workflow.Now(ctx)
	if t.Actor == "" {
		t.Actor = "system"
	}
	if t.Detail == "" {
		t.Detail = "reason: " + w.in.Reason
	}
	if t.ActivatedAt != nil {
		w.status.ActivatedAt = t.ActivatedAt
	}
	if t.AccessEndsAt != nil {
		w.status.AccessEndsAt = t.AccessEndsAt
	}
	if !domain.OpenState(t.State) {
		w.status.EndedAt = &t.At
		w.closing = w.justified
	}
	w.setState(ctx, t.State)
	return t
}

func (w *assignment) setState(ctx workflow.Context, state string) {
	w.status.State = state
	// The start sets the first state; upsert only changes (each is a write).
	if cur, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(AttrStatus); cur != state {
		if err := workflow.UpsertTypedSearchAttributes(ctx, AttrStatus.ValueSet(state)); err != nil {
			workflow.GetLogger(ctx).Warn("search attribute not updated", "error", err)
		}
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s**: %s (%s) on %s — %s",
		state, w.in.PartnerUser.Email, w.in.Role, w.in.SiteName, w.in.Reason))
}

func (w *assignment) activate(ctx workflow.Context, at time.Time, until *time.Time) error {
	return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.Activate, activities.GrantInput{
		AssignmentID: w.id, SiteID: w.in.SiteID, UserID: w.in.PartnerUser.ID, At: at, Until: until,
	}).Get(ctx, nil)
}

// end revokes access if any, records the final state, and tells who must know.
func (w *assignment) end(ctx workflow.Context, state string, action domain.Action, by *UnassignSignal, kind domain.EmailKind, to []Person) error {
	if (state == domain.StateRevoked || state == domain.StateExpired) && !w.unstarted {
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.Revoke,
			activities.RevokeInput{AssignmentID: w.id, At: workflow.Now(ctx)}).Get(ctx, nil)
		if err != nil {
			return err
		}
	}
	t := activities.Transition{State: state, Action: action, EndReason: w.status.EndReason}
	if by != nil {
		t.Actor, t.EndedBy = by.By.ID, by.By.Email
		t.EndReason = endedBy(by.Cause) + by.By.Email
		if by.Cause == CauseCancelled {
			t.EndReason = "cancelled in Temporal by an operator"
		}
		if r := strings.TrimSpace(by.Reason); r != "" {
			t.EndReason += ": " + r
		}
		w.status.EndedBy = by.By.Email
	}
	w.status.EndReason = t.EndReason
	if err := w.record(ctx, t); err != nil {
		return err
	}
	if w.inDirectory() && (state == domain.StateRevoked || state == domain.StateExpired) && !w.unstarted {
		w.deprovision(ctx, workflow.Now(ctx)) // the emails go once the directory has let go
	}
	w.sendAll(ctx, kind, to)
	return nil
}
