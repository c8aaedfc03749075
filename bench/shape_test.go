package bench

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/workflow"
)

// noop is an activity that does nothing.
func noop(context.Context) error { return nil }

// bareShape has the shape of a Standard assignment that is approved and
// expires: record; two approval emails; the approval signal; activate and
// record; three emails not waited for; the access timer; revoke and record;
// four emails; settle the emails. Fourteen activities, one signal, one timer.
func bareShape(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var pending []workflow.Future
	fire := func(n int) {
		for range n {
			pending = append(pending, workflow.ExecuteActivity(ctx, noop))
		}
	}
	run := func() error { return workflow.ExecuteActivity(ctx, noop).Get(ctx, nil) }
	if err := run(); err != nil {
		return err
	}
	fire(2)
	var approved bool
	workflow.GetSignalChannel(ctx, "approval").Receive(ctx, &approved)
	if err := run(); err != nil {
		return err
	}
	if err := run(); err != nil {
		return err
	}
	fire(3)
	if err := workflow.Sleep(ctx, time.Second); err != nil {
		return err
	}
	if err := run(); err != nil {
		return err
	}
	if err := run(); err != nil {
		return err
	}
	fire(4)
	for _, f := range pending {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// trivialHandler is the baseline of the access check: the same gin setup
// answering a constant.
func trivialHandler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/ping", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"allowed": false, "site": c.Query("site"), "user": c.Query("user")})
	})
	return r
}
