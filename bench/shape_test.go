package bench

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/workflows"
)

// noop is the bare shape's email: an ordinary activity that does nothing.
func noop(context.Context) error { return nil }

// noopLocal is the bare shape's store and access step: a local activity
// that does nothing.
func noopLocal(context.Context) error { return nil }

// The product's activity options (workflows/options.go), copied: the bare
// shape must schedule the same commands.
var (
	bareLocal = workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
	}
	bareEmail = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	}
)

// bareShape has the shape of a Standard assignment (workflow version
// access-follows-justification) that is approved and expires, on the demo
// site (two approvers, three customer users, assigned by the partner agent),
// with no-op activities of the same kinds and nothing of the app:
//
//   - a version marker; Begin (local); two approval requests, one customer
//     notice and one "request sent" (ordinary), not waited for;
//   - the approval signal, raced against the 1 h approval timer and the
//     approval requests' completions, then CheckSignal (local);
//   - Activate and Record (local), the status search attribute upserted;
//     two confirmations and two "access granted" (ordinary);
//   - the 1 s access timer, raced against the unassign and approval signals;
//   - Revoke and Record (local), the status upserted; the five "access
//     ended" emails and any still in flight handed over to a child workflow
//     (parent-close policy abandon) whose start the run waits for.
//
// Six local activities, eight ordinary ones in the run and five in the
// child, one signal, two timers, two upserts: what the product's workflow
// schedules for the same assignment.
func bareShape(ctx workflow.Context) error {
	status := func(state string) {
		if err := workflow.UpsertTypedSearchAttributes(ctx, workflows.AttrStatus.ValueSet(state)); err != nil {
			workflow.GetLogger(ctx).Warn("upsert", "error", err)
		}
		workflow.SetCurrentDetails(ctx, "**"+state+"**: bare shape")
	}
	approval := workflow.GetSignalChannel(ctx, workflows.SignalApproval)
	unassign := workflow.GetSignalChannel(ctx, workflows.SignalUnassign)
	workflow.GetVersion(ctx, "bare-shape", workflow.DefaultVersion, 1)
	lctx := workflow.WithLocalActivityOptions(ctx, bareLocal)
	local := func() error { return workflow.ExecuteLocalActivity(lctx, noopLocal).Get(ctx, nil) }
	actx := workflow.WithActivityOptions(ctx, bareEmail)
	var emails []workflow.Future
	send := func(n int) []workflow.Future {
		fs := make([]workflow.Future, n)
		for i := range fs {
			fs[i] = workflow.ExecuteActivity(actx, noop)
		}
		emails = append(emails, fs...)
		return fs
	}
	// The start set the status; Begin.
	workflow.SetCurrentDetails(ctx, "**"+domain.StatePendingApproval+"**: bare shape")
	if err := local(); err != nil {
		return err
	}
	requests := send(2)
	send(2) // customer notice, request sent

	timers, cancelTimers := workflow.WithCancel(ctx)
	decided := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(approval, func(c workflow.ReceiveChannel, _ bool) {
		var v any
		c.Receive(ctx, &v)
		decided = local() == nil // CheckSignal
	})
	sel.AddReceive(unassign, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddFuture(workflow.NewTimer(timers, time.Hour), func(workflow.Future) {})
	for _, f := range requests {
		sel.AddFuture(f, func(f workflow.Future) { f.Get(ctx, nil) })
	}
	for !decided {
		sel.Select(ctx)
	}
	cancelTimers()

	if err := local(); err != nil { // Activate
		return err
	}
	status(domain.StateActive)
	if err := local(); err != nil { // Record
		return err
	}
	send(4) // two confirmations, two "access granted"

	timers, cancelTimers = workflow.WithCancel(ctx)
	done := false
	sel = workflow.NewSelector(ctx)
	sel.AddReceive(unassign, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddReceive(approval, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddFuture(workflow.NewTimer(timers, time.Second), func(workflow.Future) { done = true })
	for !done {
		sel.Select(ctx)
	}
	cancelTimers()

	if err := local(); err != nil { // Revoke
		return err
	}
	status(domain.StateExpired)
	if err := local(); err != nil { // Record
		return err
	}
	owed := 5 // "access ended" to the partner user, the agent, three customer users
	for _, f := range emails {
		if !f.IsReady() {
			owed++
		}
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        "bare-emails/" + workflow.GetInfo(ctx).WorkflowExecution.RunID,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:     "emails of a bare shape",
	})
	return workflow.ExecuteChildWorkflow(cctx, bareEmails, owed).GetChildWorkflowExecution().Get(ctx, nil)
}

// bareEmails is the emails' workflow of the bare shape: n no-op activities.
func bareEmails(ctx workflow.Context, n int) error {
	actx := workflow.WithActivityOptions(ctx, bareEmail)
	fs := make([]workflow.Future, n)
	for i := range fs {
		fs[i] = workflow.ExecuteActivity(actx, noop)
	}
	for _, f := range fs {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// bareGin is the baseline of the access check: a gin engine with no
// middleware doing the same indexed SELECT as the product's check, through
// the same store method, and answering the same JSON.
func bareGin(r *rig) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/access", func(c *gin.Context) {
		site, user := c.Query("site"), c.Query("user")
		g, err := r.store.ActiveGrant(c, site, user, time.Now())
		if err != nil {
			c.JSON(http.StatusOK, gin.H{"allowed": false, "site": site, "user": user})
			return
		}
		c.JSON(http.StatusOK, gin.H{"allowed": true, "site": site, "user": user, "until": g.ExpiresAt, "assignment_id": g.AssignmentID})
	})
	return e
}

// trivialHandler is a gin engine answering a constant: the ceiling.
func trivialHandler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/ping", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"allowed": false, "site": c.Query("site"), "user": c.Query("user")})
	})
	return r
}
