package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// decisionCounts applies R4 to an approver's decision while the request is
// pending: it counts only when a server vouched for it, the decider is still
// an approver, the permission stands (R1) and the deadline has not passed by
// the workflow's clock. Anything else is recorded and changes nothing.
func (w *assignment) decisionCounts(ctx workflow.Context, s ApprovalSignal) bool {
	v := w.check(ctx, s.Vouch, s.SignedFields(w.id), s.By.ID, true)
	switch {
	case !v.OK:
		w.refuse(ctx, SignalApproval, s.By, s.Vouch, v.Forged, SignalOutcome{Detail: v.Why})
		return false
	case !workflow.Now(ctx).Before(*w.status.ApprovalDeadline):
		w.refuse(ctx, SignalApproval, s.By, s.Vouch, false, SignalOutcome{Gone: true,
			Detail: "the request lapsed at " + w.status.ApprovalDeadline.UTC().Format(time.RFC3339) + ", before this decision"})
		return false
	}
	w.outcomes[s.ID] = SignalOutcome{Accepted: true}
	return true
}

// unassignCounts accepts an unassign signal a server vouched for (R7).
func (w *assignment) unassignCounts(ctx workflow.Context, s UnassignSignal) bool {
	if v := w.check(ctx, s.Vouch, s.SignedFields(w.id), s.By.ID, false); !v.OK {
		w.refuse(ctx, SignalUnassign, s.By, s.Vouch, v.Forged, SignalOutcome{Detail: v.Why})
		return false
	}
	w.outcomes[s.ID] = SignalOutcome{Accepted: true}
	return true
}

// check asks a local activity, which holds the key and reads the store,
// whether a signal may count; replay reads its answer from history.
func (w *assignment) check(ctx workflow.Context, v Vouch, fields []string, by string, decision bool) activities.SignalVerdict {
	w.signals++
	if w.vouched && v.ID != "" {
		if w.seen[v.ID] {
			return activities.SignalVerdict{Forged: true, Why: "this signal was received before; a replay of it changes nothing"}
		}
		if age := workflow.Now(ctx).Sub(v.SentAt); age > maxSignalAge || age < -maxSignalAge {
			return activities.SignalVerdict{Forged: true, Why: fmt.Sprintf("the signal was sent more than %s before it arrived, by the workflow's clock; it was ignored", maxSignalAge)}
		}
	}
	var verdict activities.SignalVerdict
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.CheckSignal, activities.SignalCheck{
		AssignmentID: w.id, CustomerID: w.in.CustomerID, PartnerID: w.in.PartnerID, ByID: by,
		Fields: fields, MAC: v.MAC, Decision: decision,
	}).Get(ctx, &verdict)
	if err != nil { // retried without limit, so only a cancelled run gets here
		return activities.SignalVerdict{Why: "the signal could not be checked: " + err.Error()}
	}
	if w.vouched && !verdict.Forged {
		w.seen[v.ID] = true // a server vouched for it: it counts once
	}
	return verdict
}

// maxSignalAge bounds how old a vouched signal may be when it arrives
// (since versionVouchedStart), with room for the clocks of servers and
// Temporal to differ: a captured signal cannot be replayed later.
const maxSignalAge = 10 * time.Minute

// refuse records a signal that changes nothing, and its outcome for the
// server that sent it.
func (w *assignment) refuse(ctx workflow.Context, signal string, by Person, v Vouch, forged bool, o SignalOutcome) {
	if _, told := w.outcomes[v.ID]; v.ID != "" && !(w.vouched && told) { // a replay keeps the first's outcome
		w.outcomes[v.ID] = o
	}
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.RecordSignal, activities.SignalRecord{
		AssignmentID: w.id, Seq: w.signals, Signal: signal, ByID: by.ID, Forged: forged, Detail: o.Detail, At: workflow.Now(ctx),
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("refused signal not recorded", "signal", signal, "error", err)
	}
}

// lateDecision refuses a decision that arrives once the request is settled.
func (w *assignment) lateDecision(ctx workflow.Context, s ApprovalSignal) {
	if w.extended && s.Extension > 0 {
		w.lateExtensionDecision(ctx, s)
		return
	}
	w.signals++
	o := SignalOutcome{Conflict: true, Detail: "this request is no longer waiting for a decision: it is " + w.status.State}
	if w.status.Decision != "" {
		o.Detail = fmt.Sprintf("already %s by %s", w.status.Decision, w.status.DecidedBy)
	} else if w.in.Edition == domain.EditionProfessional {
		o.Detail = "a Professional site needs no approval"
	}
	w.refuse(ctx, SignalApproval, s.By, s.Vouch, false, o)
}

// awaitEnd waits d (forever when d is 0) for an unassign signal that counts.
// Before versionJustified it takes any unassign signal and leaves decisions
// unread; since, it refuses what may not count and answers late decisions.
func (w *assignment) awaitEnd(ctx workflow.Context, d time.Duration) *UnassignSignal {
	if !w.justified {
		return w.awaitUnassign(ctx, d)
	}
	timers, cancelTimers := workflow.WithCancel(ctx)
	defer cancelTimers()
	var out *UnassignSignal
	done := false
	sel := workflow.NewSelector(ctx)
	w.receiveUnassign(ctx, sel, &out)
	w.receiveCancel(ctx, sel, &out)
	sel.AddReceive(w.approval, func(c workflow.ReceiveChannel, _ bool) {
		var s ApprovalSignal
		c.Receive(ctx, &s)
		w.lateDecision(ctx, s)
	})
	if d > 0 {
		sel.AddFuture(workflow.NewTimer(timers, d), func(workflow.Future) { done = true })
	}
	for out == nil && !done {
		sel.Select(ctx)
	}
	return out
}

// awaitUnassign is the wait of runs before versionJustified: d (forever
// when 0) for any unassign signal.
func (w *assignment) awaitUnassign(ctx workflow.Context, d time.Duration) *UnassignSignal {
	var s UnassignSignal
	if d == 0 {
		w.unassign.Receive(ctx, &s)
		return &s
	}
	if ok, _ := w.unassign.ReceiveWithTimeout(ctx, d, &s); !ok {
		return nil
	}
	return &s
}

// drainSignals answers the signals that arrived after the state became
// final, so none is left unhandled.
func (w *assignment) drainSignals(ctx workflow.Context) {
	for {
		var s ApprovalSignal
		if !w.approval.ReceiveAsync(&s) {
			break
		}
		w.lateDecision(ctx, s)
	}
	for {
		var s UnassignSignal
		if !w.unassign.ReceiveAsync(&s) {
			break
		}
		w.signals++
		w.refuse(ctx, SignalUnassign, s.By, s.Vouch, false, SignalOutcome{Conflict: true, Detail: "the assignment has already ended"})
	}
	for w.extended {
		var s ExtensionSignal
		if !w.extension.ReceiveAsync(&s) {
			break
		}
		w.signals++
		w.refuse(ctx, SignalExtension, s.By, s.Vouch, false, SignalOutcome{Conflict: true,
			Detail: "access has already ended (" + w.status.State + "); assign again if more time is needed"})
	}
}

// handOverEmails settles the emails that are done and starts a workflow that delivers the emails still owed (the
// final ones, and any still retrying) and returns once it has started: the
// assignment closes with its state, and a new one for the same user and site
// can start at once.
func (w *assignment) handOverEmails(ctx workflow.Context) error {
	owed := w.owed
	for _, e := range w.emails {
		switch {
		case e.settled:
		case e.future.IsReady():
			w.settle(ctx, e) // records one that ran out of retries
		default:
			owed = append(owed, e.req)
		}
	}
	if len(owed) == 0 {
		return nil
	}
	in := EmailsInput{AssignmentID: w.id, Emails: owed, RetryFor: w.in.Timing.EmailRetryFor}
	if workflow.GetVersion(ctx, versionVouchedEmails, workflow.DefaultVersion, 1) == 1 {
		if err := vouchEmails(ctx, &in); err != nil {
			return err
		}
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        EmailsWorkflowID(w.id),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON, // the emails outlive the assignment
		StaticSummary:     fmt.Sprintf("%d emails of assignment %s", len(owed), w.id),
	})
	child := workflow.ExecuteChildWorkflow(cctx, EmailsWorkflowName, in)
	return child.GetChildWorkflowExecution().Get(ctx, nil)
}

// Emails delivers an ended assignment's emails, each retried for at most
// RetryFor; one that is not delivered by then is recorded as failed.
//
// Since versionCancelIsUnassign a cancel request stops the emails not yet
// delivered: each is recorded as failed, and the run closes as Canceled.
// Since versionVouchedEmails it first checks that its assignment vouched
// for it: a run started on the frontend sends nothing.
func Emails(ctx workflow.Context, in EmailsInput) error {
	if workflow.GetVersion(ctx, versionVouchedEmails, workflow.DefaultVersion, 1) == 1 {
		if err := checkVouched(ctx, activities.VouchEmails, activities.EmailsGrants(in.AssignmentID), in.AssignmentID,
			in.SignedFields(workflow.GetInfo(ctx).WorkflowExecution.ID), in.Vouch); err != nil {
			return err
		}
	}
	opts := workflow.WithActivityOptions(ctx, emailOptionsFor(Timing{EmailRetryFor: in.RetryFor}))
	futures := make([]workflow.Future, len(in.Emails))
	for i, r := range in.Emails {
		futures[i] = workflow.ExecuteActivity(opts, a.SendEmail, r)
	}
	record := ctx // where failures are recorded: out of a cancel's reach since versionCancelIsUnassign
	if workflow.GetVersion(ctx, versionCancelIsUnassign, workflow.DefaultVersion, 1) == 1 {
		record, _ = workflow.NewDisconnectedContext(ctx)
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			giveUp(record, in.Emails[i], err)
		}
	}
	if record != ctx && ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// giveUp records an email that ran out of retries. One the provider refused
// is already recorded by the activity.
func giveUp(ctx workflow.Context, r activities.EmailRequest, err error) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == activities.ErrTypeEmailRejected {
		return
	}
	reason := "not delivered within the retry window: " + err.Error()
	if temporal.IsCanceledError(err) {
		reason = "not delivered: a cancel request in Temporal stopped its delivery"
	}
	err = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.GiveUpEmail, activities.EmailFailure{
		AssignmentID: r.AssignmentID, Kind: r.Kind, To: r.To.Email, At: workflow.Now(ctx), Reason: reason,
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("undelivered email not recorded", "kind", r.Kind, "error", err)
	}
}

// receiveUnassign lets sel take an unassign signal; one that counts (vouched
// for, from someone who may end the assignment) is kept in *out.
func (w *assignment) receiveUnassign(ctx workflow.Context, sel workflow.Selector, out **UnassignSignal) {
	sel.AddReceive(w.unassign, func(c workflow.ReceiveChannel, _ bool) {
		var s UnassignSignal
		c.Receive(ctx, &s)
		if w.unassignCounts(ctx, s) {
			*out = &s
		}
	})
}
