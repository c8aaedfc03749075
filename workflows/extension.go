package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// versionExtension marks the change that warns the partner side before
// Standard access ends, takes extension requests while it lasts (approved
// like the first request), and reminds the partner user of Professional
// access left open. Runs started before it keep their single access timer
// and their silent wait for an unassign (docs/changing-the-workflow.md).
const versionExtension = "expiry-warning-extension"

// maxProfessionalReminders bounds one run's history: each reminder adds
// about ten events (a timer, an email activity and their workflow tasks),
// so a thousand stay under Temporal's 10,240-event warning. At the weekly
// default that is nineteen years of reminders; a demo's period of seconds
// stops reminding after a thousand instead of growing the history without
// end. A timer loop keeps the server's signals and queries aimed at one
// run; continue-as-new would change the run ID they name.
const maxProfessionalReminders = 1000

// accessTimers end Standard access and warn before it ends. They live in
// their own cancellable context, so an approved extension replaces them
// (not stacked) with timers for the new end.
type accessTimers struct {
	ends    workflow.Future
	warning workflow.Future // nil once fired, or when there is no warning
	desktop workflow.Future // the desktops' last warning (versionDesktopWarning); nil once fired, or none
	cancel  workflow.CancelFunc
}

// pendingExtension is the extension request waiting for a decision (one at
// a time) and its deadline's timer.
type pendingExtension struct {
	n        int
	deadline workflow.Future
	cancel   workflow.CancelFunc
}

// extensibleAccess waits, while Standard access lasts, for its end, an
// unassign, extension requests and their decisions, and warns before the
// end. The access ends at the latest end an approver granted.
func (w *assignment) extensibleAccess(ctx workflow.Context, activated time.Time) error {
	w.status.Extensible = w.in.Timing.MaxExtensions > 0
	u := w.awaitAccessEnd(ctx)
	if w.pending != nil { // access ended first: the request dies with it
		w.settleExtension(ctx, domain.ExtensionLapsed, nil, false)
	}
	if u != nil {
		return w.end(ctx, domain.StateRevoked, domain.ActionAccessRevoked, u, domain.EmailAccessEnded, w.bothSides())
	}
	w.status.EndReason = fmt.Sprintf("access expired after %s", w.status.AccessEndsAt.Sub(activated))
	if n := w.extensionsGranted(); n > 0 {
		w.status.EndReason += fmt.Sprintf(" (extended %d time(s))", n)
	}
	return w.end(ctx, domain.StateExpired, domain.ActionAccessExpired, nil, domain.EmailAccessEnded, w.bothSides())
}

// awaitAccessEnd returns the unassign that ended access, or nil when its
// time ran out.
func (w *assignment) awaitAccessEnd(ctx workflow.Context) *UnassignSignal {
	w.armAccessTimers(ctx)
	defer func() { w.access.cancel() }()
	var out *UnassignSignal
	expired := false
	for out == nil && !expired {
		// A new selector each round: it waits on the timers of now, not on
		// ones an extension replaced.
		sel := workflow.NewSelector(ctx)
		w.receiveWhileOpen(ctx, sel, &out, func(s ApprovalSignal) { w.extensionDecision(ctx, s) },
			func(s ExtensionSignal) { w.extensionRequest(ctx, s) })
		sel.AddFuture(w.access.ends, func(f workflow.Future) { expired = f.Get(ctx, nil) == nil })
		if f := w.access.warning; f != nil {
			sel.AddFuture(f, func(workflow.Future) {
				w.access.warning = nil
				if f.Get(ctx, nil) == nil {
					w.warnExpiry(ctx)
					w.warnDesktops(ctx)
				}
			})
		}
		if f := w.access.desktop; f != nil {
			sel.AddFuture(f, func(workflow.Future) {
				w.access.desktop = nil
				if f.Get(ctx, nil) == nil {
					w.warnDesktops(ctx)
				}
			})
		}
		if p := w.pending; p != nil {
			sel.AddFuture(p.deadline, func(f workflow.Future) {
				if f.Get(ctx, nil) == nil && w.pending == p {
					w.settleExtension(ctx, domain.ExtensionLapsed, nil, true)
				}
			})
		}
		sel.Select(ctx)
	}
	return out
}

// armAccessTimers starts the timers for the current end of access,
// cancelling the ones for an earlier end. The warning is skipped when its
// time has passed (a short extension).
func (w *assignment) armAccessTimers(ctx workflow.Context) {
	if w.access.cancel != nil {
		w.access.cancel()
	}
	tctx, cancel := workflow.WithCancel(ctx)
	now, ends := workflow.Now(ctx), *w.status.AccessEndsAt
	w.access = accessTimers{ends: workflow.NewTimer(tctx, ends.Sub(now)), cancel: cancel}
	if d := w.in.Timing.ExpiryWarning; d > 0 && ends.Add(-d).After(now) {
		w.access.warning = workflow.NewTimer(tctx, ends.Add(-d).Sub(now))
	}
	if w.desktops && w.inDirectory() && ends.Add(-desktopLastWarning).After(now) {
		w.access.desktop = workflow.NewTimer(tctx, ends.Add(-desktopLastWarning).Sub(now))
	}
}

// warnExpiry tells the partner side when access ends and that they may ask
// for more time; after an extension they are warned again before the new end.
func (w *assignment) warnExpiry(ctx workflow.Context) {
	d := w.mailData()
	d.Remaining = w.status.AccessEndsAt.Sub(workflow.Now(ctx))
	w.sendEach(ctx, domain.EmailExpiryWarning, w.partnerSide(), d, w.extensionsGranted())
}

// extensionRequest acts on a request for more time: vouched for, none
// waiting, fewer than MaxExtensions so far, no longer than AccessDuration.
// The approvers get one-time links, good until the request's deadline: the
// approval window or the end of access, whichever is first.
func (w *assignment) extensionRequest(ctx workflow.Context, s ExtensionSignal) {
	v := w.check(ctx, s.Vouch, s.SignedFields(w.id), s.By.ID, false)
	if !v.OK {
		w.refuse(ctx, SignalExtension, s.By, s.Vouch, v.Forged, SignalOutcome{Detail: v.Why})
		return
	}
	if o, ok := w.extensionRefusal(s); !ok {
		w.refuse(ctx, SignalExtension, s.By, s.Vouch, false, o)
		return
	}
	now, ends := workflow.Now(ctx), *w.status.AccessEndsAt
	deadline := now.Add(w.in.Timing.ApprovalTimeout)
	if ends.Before(deadline) { // the window does not outlive access
		deadline = ends
	}
	n := len(w.status.Extensions) + 1
	w.status.Extensions = append(w.status.Extensions, ExtensionStatus{N: n, Duration: s.Duration, Reason: s.Reason,
		RequestedBy: s.By.Email, RequestedAt: now, ApprovalDeadline: deadline, State: domain.ExtensionPending, EndsBefore: ends})
	ids := make([]string, len(w.in.Approvers))
	for i, p := range w.in.Approvers {
		ids[i] = p.ID
	}
	t := w.step(ctx, activities.Transition{State: domain.StateActive, Action: domain.ActionExtensionRequested, Actor: s.By.ID,
		Detail: fmt.Sprintf("%s asked for %s more, until %s, decided by %s: %s", s.By.Email, s.Duration,
			ends.Add(s.Duration).UTC().Format(time.RFC3339), deadline.UTC().Format(time.RFC3339), s.Reason)})
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.RequestExtension, activities.ExtensionInput{
		Transition: t, N: n, Duration: s.Duration, Reason: s.Reason, RequestedBy: s.By.ID,
		ApprovalDeadline: deadline, EndsBefore: ends, ApproverIDs: ids,
	}).Get(ctx, nil)
	if err != nil { // retried without limit, so only a cancelled run gets here
		workflow.GetLogger(ctx).Warn("extension request not recorded", "error", err)
	}
	w.outcomes[s.ID] = SignalOutcome{Accepted: true} // once recorded, so the server reads it back
	dctx, cancel := workflow.WithCancel(ctx)
	w.pending = &pendingExtension{n: n, deadline: workflow.NewTimer(dctx, deadline.Sub(now)), cancel: cancel}
	w.sendEach(ctx, domain.EmailExtensionRequest, w.in.Approvers, w.extensionData(n), n)
	w.askInChats(ctx, n, w.extensionData(n), s.Duration, nil)
}

// extensionRefusal says why a vouched-for request may not be made, if so.
func (w *assignment) extensionRefusal(s ExtensionSignal) (SignalOutcome, bool) {
	limit := w.in.Timing.MaxExtensions
	longest, inWords := w.maxExtension()
	switch {
	case w.pending != nil:
		return SignalOutcome{Conflict: true, Detail: fmt.Sprintf("extension request %d is already waiting for a decision", w.pending.n)}, false
	case len(w.status.Extensions) >= limit:
		return SignalOutcome{Conflict: true, Detail: fmt.Sprintf("this assignment has made %d extension requests; at most %d are allowed", len(w.status.Extensions), limit)}, false
	case s.Duration <= 0 || s.Duration > longest:
		return SignalOutcome{Detail: fmt.Sprintf("an extension lasts more than nothing and at most %s, not %s", inWords, s.Duration)}, false
	}
	return SignalOutcome{}, true
}

// extensionDecision applies R4 to a decision on the pending extension
// request, as to the first request; a decision on anything else changes
// nothing and is answered.
func (w *assignment) extensionDecision(ctx workflow.Context, s ApprovalSignal) {
	p := w.pending
	if p == nil || s.Extension != p.n {
		w.lateDecision(ctx, s)
		return
	}
	v := w.check(ctx, s.Vouch, s.SignedFields(w.id), s.By.ID, true)
	deadline := w.status.Extensions[p.n-1].ApprovalDeadline
	switch {
	case !v.OK:
		w.refuseDecision(ctx, s, v.Forged, SignalOutcome{Detail: v.Why})
		return
	case w.policy && !w.isApprover(s.By.ID): // the policy names who may decide (R10)
		w.refuseDecision(ctx, s, false, SignalOutcome{Detail: "the customer's policy does not let " + s.By.Email + " decide this request"})
		return
	case !workflow.Now(ctx).Before(deadline):
		w.refuseDecision(ctx, s, false, SignalOutcome{Gone: true,
			Detail: "the extension request lapsed at " + deadline.UTC().Format(time.RFC3339) + ", before this decision"})
		return
	}
	if s.Approve && w.approvalsNeeded() > 1 && !w.countApproval(ctx, s, &w.status.Extensions[p.n-1].Approvals) {
		return // more approvals to come (R10)
	}
	state := domain.ExtensionDenied
	if s.Approve {
		state = domain.ExtensionApproved
	}
	w.settleExtension(ctx, state, &s, true)
	w.outcomes[s.ID] = SignalOutcome{Accepted: true} // once recorded, so the server reads the new end
}

// lateExtensionDecision answers a decision on an extension request that is
// not waiting for one.
func (w *assignment) lateExtensionDecision(ctx workflow.Context, s ApprovalSignal) {
	w.signals++
	o := SignalOutcome{Conflict: true, Detail: fmt.Sprintf("extension request %d is not waiting for a decision", s.Extension)}
	if s.Extension <= len(w.status.Extensions) {
		switch e := w.status.Extensions[s.Extension-1]; {
		case e.DecidedBy != "":
			o.Detail = fmt.Sprintf("already %s by %s", e.State, e.DecidedBy)
		case e.State == domain.ExtensionLapsed:
			o.Detail = "the extension request has lapsed"
		}
	}
	w.refuseDecision(ctx, s, false, o)
}

// settleExtension ends the pending request: approved moves the end of
// access and replaces its timers; denied or lapsed keeps the end. Both
// sides are told when tell is set (not when access ended first).
func (w *assignment) settleExtension(ctx workflow.Context, state string, by *ApprovalSignal, tell bool) {
	p := w.pending
	w.pending = nil
	p.cancel()
	e := &w.status.Extensions[p.n-1]
	now := workflow.Now(ctx)
	e.State, e.DecidedAt = state, &now
	t := activities.Transition{State: domain.StateActive, Action: domain.ExtensionSettled(state)}
	if by != nil {
		e.DecidedBy, t.Actor, t.Via = by.By.Email, by.By.ID, by.Via
	}
	switch state {
	case domain.ExtensionApproved:
		ends := w.status.AccessEndsAt.Add(e.Duration)
		e.EndsAfter, t.AccessEndsAt = &ends, &ends
		t.Detail = fmt.Sprintf("extension %d of %s approved by %s: access now ends at %s", p.n, e.Duration, e.DecidedBy, ends.UTC().Format(time.RFC3339))
	case domain.ExtensionDenied:
		t.Detail = fmt.Sprintf("extension %d of %s denied by %s: access still ends at %s", p.n, e.Duration, e.DecidedBy, w.status.AccessEndsAt.UTC().Format(time.RFC3339))
	default:
		t.Detail = fmt.Sprintf("extension %d of %s lapsed without a decision", p.n, e.Duration)
	}
	t = w.step(ctx, t)
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.SettleExtension, activities.ExtensionOutcome{
		Transition: t, N: p.n, State: state, DecidedBy: e.DecidedBy,
	}).Get(ctx, nil)
	if err != nil { // retried without limit, so only a cancelled run gets here
		workflow.GetLogger(ctx).Warn("extension outcome not recorded", "error", err)
	}
	w.refreshChats(ctx, p.n)
	if state == domain.ExtensionApproved {
		w.armAccessTimers(ctx)
	}
	if !tell {
		return
	}
	d := w.extensionData(p.n)
	switch state {
	case domain.ExtensionApproved:
		w.sendEach(ctx, domain.EmailExtensionGranted, w.bothSides(), d, p.n)
	case domain.ExtensionDenied:
		w.sendEach(ctx, domain.EmailExtensionDenied, append(w.partnerSide(), w.in.Approvers...), d, p.n)
	default:
		w.sendEach(ctx, domain.EmailExtensionDenied, w.partnerSide(), d, p.n)
	}
}

func (w *assignment) extensionsGranted() int {
	n := 0
	for _, e := range w.status.Extensions {
		if e.State == domain.ExtensionApproved {
			n++
		}
	}
	return n
}

// extensionData is an email's data about extension request n.
func (w *assignment) extensionData(n int) activities.EmailData {
	e := w.status.Extensions[n-1]
	d := w.mailData()
	d.Extension, d.ExtensionDuration, d.ExtensionReason, d.ExtensionRequestedBy = n, e.Duration, e.Reason, e.RequestedBy
	d.PreviousEndsAt, d.ApprovalDeadline, d.DecidedBy = e.EndsBefore, e.ApprovalDeadline, e.DecidedBy
	return d
}

// awaitUnassignReminding waits for an unassign of Professional access and
// reminds the partner user every ProfessionalReminder that it is still
// open (the seed's tip: unused AVD users clutter the customer's desktop).
func (w *assignment) awaitUnassignReminding(ctx workflow.Context, granted time.Time) *UnassignSignal {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	period := w.in.Timing.ProfessionalReminder
	var timer workflow.Future
	if period > 0 {
		timer = workflow.NewTimer(tctx, period)
	}
	var out *UnassignSignal
	reminders := 0
	for out == nil {
		sel := workflow.NewSelector(ctx)
		w.receiveWhileOpen(ctx, sel, &out, func(s ApprovalSignal) { w.lateDecision(ctx, s) }, func(s ExtensionSignal) {
			w.signals++
			w.refuse(ctx, SignalExtension, s.By, s.Vouch, false, SignalOutcome{Conflict: true,
				Detail: "Professional access has no end to extend: it lasts until someone unassigns it"})
		})
		if f := timer; f != nil {
			sel.AddFuture(f, func(workflow.Future) {
				timer = nil
				if f.Get(ctx, nil) != nil {
					return
				}
				reminders++
				d := w.mailData()
				d.ActiveFor = workflow.Now(ctx).Sub(granted)
				w.sendRound(ctx, domain.EmailProfessionalReminder, w.in.PartnerUser, d, reminders)
				if reminders < maxProfessionalReminders {
					timer = workflow.NewTimer(tctx, period)
				}
			})
		}
		sel.Select(ctx)
	}
	return out
}
