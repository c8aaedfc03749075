package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// versionCancelIsUnassign marks the change that makes a cancel request
// (the Temporal UI's "Request Cancellation", the CLI or an SDK) end the
// assignment as an operator's unassign would: a pending request is
// withdrawn, access is revoked at once, the store and both sides are told,
// and the run closes as Canceled. The run works on a disconnected context,
// so the cancel reaches only its waits and never the steps that record and
// revoke. Runs started before it keep their old, broken handling of a
// cancel (docs/changing-the-workflow.md); terminate stays the operator's
// hard stop, after which the reconciler revokes the grant.
const versionCancelIsUnassign = "cancel-is-unassign"

// CauseCancelled is the Cause of the unassign that a cancel request stands for.
const CauseCancelled = "cancelled"

// cancelActor is who the audit log names for a cancel: Temporal does not
// tell the workflow who asked.
var cancelActor = Person{ID: "operator", Name: "An operator", Email: "an operator, through Temporal"}

// detachFromCancel returns the context the run works on: since
// versionCancelIsUnassign, one that a cancel request does not reach, with
// the request kept in w.cancelled for the waits to take.
func (w *assignment) detachFromCancel(ctx workflow.Context) workflow.Context {
	if !w.cancellable {
		return ctx
	}
	w.cancelled = ctx.Done()
	w.cancelErr = ctx.Err
	detached, _ := workflow.NewDisconnectedContext(ctx)
	return detached
}

// receiveCancel lets sel take a cancel request as an unassign (cause
// cancelled). The request's channel stays ready once closed: the wait that
// takes it ends the assignment, so it is taken once.
func (w *assignment) receiveCancel(ctx workflow.Context, sel workflow.Selector, out **UnassignSignal) {
	if w.cancelled == nil {
		return
	}
	sel.AddReceive(w.cancelled, func(c workflow.ReceiveChannel, _ bool) {
		c.ReceiveAsync(nil)
		w.wasCancelled = true
		*out = &UnassignSignal{By: cancelActor, Cause: CauseCancelled}
	})
}

// result is how the run closes: Canceled when a cancel request ended it,
// as Temporal expects of a workflow that honoured one.
func (w *assignment) result(err error) (Status, error) {
	if err == nil && w.wasCancelled {
		return w.status, w.cancelErr()
	}
	return w.status, err
}
