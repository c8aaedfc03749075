package testenv

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"
)

// TriggerSchedule runs the Schedule id's action now, as its interval
// would, and returns the run it started.
func (e *Env) TriggerSchedule(id string) (workflowID, runID string) {
	e.T.Helper()
	ctx := context.Background()
	h := e.Client.ScheduleClient().GetHandle(ctx, id)
	before, err := h.Describe(ctx)
	if err != nil {
		e.T.Fatal(err)
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		e.T.Fatal(err)
	}
	e.Eventually(15*time.Second, "a run of schedule "+id, func() bool {
		d, err := h.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) <= len(before.Info.RecentActions) {
			return false
		}
		r := d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult
		workflowID, runID = r.WorkflowID, r.FirstExecutionRunID
		return true
	})
	return workflowID, runID
}
