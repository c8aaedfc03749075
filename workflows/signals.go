package workflows

import (
	"fmt"
	"time"

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
		w.refuseDecision(ctx, s, v.Forged, SignalOutcome{Detail: v.Why})
		return false
	case w.policy && !w.isApprover(s.By.ID): // the policy names who may decide (R10)
		w.refuseDecision(ctx, s, false, SignalOutcome{Detail: "the customer's policy does not let " + s.By.Email + " decide this request"})
		return false
	case !workflow.Now(ctx).Before(*w.status.ApprovalDeadline):
		w.refuseDecision(ctx, s, false, SignalOutcome{Gone: true,
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
		Fields: fields, MAC: v.MAC, Decision: decision, Roles: w.approverRoles(),
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
	w.refuseVia(ctx, signal, by, v, forged, o, "")
}

// refuseDecision records a decision that changes nothing, with the channel
// it came through.
func (w *assignment) refuseDecision(ctx workflow.Context, s ApprovalSignal, forged bool, o SignalOutcome) {
	w.refuseVia(ctx, SignalApproval, s.By, s.Vouch, forged, o, s.Via)
}

func (w *assignment) refuseVia(ctx workflow.Context, signal string, by Person, v Vouch, forged bool, o SignalOutcome, via string) {
	if _, told := w.outcomes[v.ID]; v.ID != "" && !(w.vouched && told) { // a replay keeps the first's outcome
		w.outcomes[v.ID] = o
	}
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.RecordSignal, activities.SignalRecord{
		AssignmentID: w.id, Seq: w.signals, Signal: signal, ByID: by.ID, Forged: forged, Detail: o.Detail, At: workflow.Now(ctx),
		Via: via,
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
	w.refuseDecision(ctx, s, false, o)
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
	w.receiveWhileOpen(ctx, sel, &out, func(s ApprovalSignal) { w.lateDecision(ctx, s) }, nil)
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

// receiveWhileOpen lets sel take what every wait after the decision takes,
// in this order: an unassign that counts and a cancel request (kept in
// *out), a decision (onDecision) and, when onExtension is not nil, a
// request for more time. The order is the selector's, so it stays as runs
// recorded it.
func (w *assignment) receiveWhileOpen(ctx workflow.Context, sel workflow.Selector, out **UnassignSignal,
	onDecision func(ApprovalSignal), onExtension func(ExtensionSignal)) {
	w.receiveUnassign(ctx, sel, out)
	w.receiveCancel(ctx, sel, out)
	sel.AddReceive(w.approval, func(c workflow.ReceiveChannel, _ bool) {
		var s ApprovalSignal
		c.Receive(ctx, &s)
		onDecision(s)
	})
	if onExtension != nil {
		sel.AddReceive(w.extension, func(c workflow.ReceiveChannel, _ bool) {
			var s ExtensionSignal
			c.Receive(ctx, &s)
			onExtension(s)
		})
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
