// Package worker runs the assignment workflow and its activities on a task queue.
package worker

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/workflows"
)

// DefaultTaskQueue is the task queue of the assignment workflow.
const DefaultTaskQueue = "partner-access"

// DefaultCacheSize bounds the workflows kept in memory between their tasks.
// Each costs about 64 KB and a goroutine while cached (BENCHMARKS.md); one
// evicted from the cache is replayed from its short history on its next task.
const DefaultCacheSize = 2000

// SetCacheSize bounds the workflows cached in this process (0:
// DefaultCacheSize). The SDK shares one cache among all workers of a process
// and sizes it when the first starts; in one-process mode that is the
// embedded Temporal server's own system worker, so call this before starting
// anything.
func SetCacheSize(n int) {
	if n == 0 {
		n = DefaultCacheSize
	}
	sdkworker.SetStickyWorkflowCacheSize(n)
}

// Options tunes the worker; the zero value takes the SDK's defaults.
type Options struct {
	// Pollers for each kind of task.
	WorkflowPollers int
	ActivityPollers int
}

// Register adds the workflow and activities to any registry (a worker, or
// the test environment).
func Register(r sdkworker.Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.Assignment, workflow.RegisterOptions{Name: workflows.WorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Emails, workflow.RegisterOptions{Name: workflows.EmailsWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Reconcile, workflow.RegisterOptions{Name: workflows.ReconcileWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Reissue, workflow.RegisterOptions{Name: workflows.ReissueWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Review, workflow.RegisterOptions{Name: workflows.ReviewWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.ReviewPass, workflow.RegisterOptions{Name: workflows.ReviewPassWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.WebhookDispatch, workflow.RegisterOptions{Name: workflows.WebhookDispatchWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.WebhookEndpoint, workflow.RegisterOptions{Name: workflows.WebhookWorkflowName})
	r.RegisterActivity(acts)
}

// EagerActivitiesPerTask is how many of the activities one workflow task
// schedules the worker may take at once, in the server's answer to that
// task, instead of through the task queue: an eager activity skips the
// server's transfer queue, matching and a poll. The SDK takes 3; a step of
// the assignment schedules up to 5 emails at once (an approval's 4, the 5
// "access ended" of the emails' workflow), and with 3 the rest each made the
// whole trip. With 16 a paced Standard flow cost the process 169–197 ms of
// CPU against 197–205 ms, and 64 in flight ran at a median of 13.70 against
// 12.65 flows a second (runs in turns, BENCHMARKS.md). A worker takes an
// activity eagerly only while it has a free activity slot; the others go the
// usual way.
const EagerActivitiesPerTask = 16

// New returns a worker (not started) for the assignment workflow.
func New(c client.Client, taskQueue string, acts *activities.Activities, o Options) sdkworker.Worker {
	eager := EagerActivitiesPerTask
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		MaxConcurrentWorkflowTaskPollers:            o.WorkflowPollers,
		MaxConcurrentActivityTaskPollers:            o.ActivityPollers,
		MaxEagerActivityReservationsPerWorkflowTask: &eager,
	})
	Register(w, acts)
	return w
}

// EnsureReconcileSchedule creates the Temporal Schedule that runs the
// reconciler every interval, or sets the interval of the one that exists, so
// every worker may call it at start. Its action carries the workers' vouch
// (signed with keys, made anew at every start, so a rotated key takes
// over); a pass without it does nothing.
func EnsureReconcileSchedule(ctx context.Context, c client.Client, taskQueue string, every time.Duration, keys *secret.Keys) error {
	var in workflows.ReconcileInput
	v, err := scheduleVouch(ctx, keys, activities.VouchReconcile, workflows.ReconcileScheduleID,
		func(v workflows.Vouch) []string { in.Vouch = v; return in.SignedFields() })
	if err != nil {
		return err
	}
	in.Vouch = v
	return ensureSchedule(ctx, c, workflows.ReconcileScheduleID, every, &client.ScheduleWorkflowAction{
		ID: "partner-access-reconcile", Workflow: workflows.ReconcileWorkflowName, TaskQueue: taskQueue,
		WorkflowRunTimeout: 30 * time.Minute, Args: []any{in},
	})
}

// EnsureReviewSchedule creates (or updates) the Schedule whose passes
// start the access reviews that are due and end the permissions whose end
// came (SPEC §15), vouched for as the reconciler's.
func EnsureReviewSchedule(ctx context.Context, c client.Client, taskQueue string, every time.Duration, keys *secret.Keys) error {
	var in workflows.ReviewPassInput
	v, err := scheduleVouch(ctx, keys, activities.VouchReviewPass, workflows.ReviewScheduleID,
		func(v workflows.Vouch) []string { in.Vouch = v; return in.SignedFields() })
	if err != nil {
		return err
	}
	in.Vouch = v
	return ensureSchedule(ctx, c, workflows.ReviewScheduleID, every, &client.ScheduleWorkflowAction{
		ID: "partner-access-review-pass", Workflow: workflows.ReviewPassWorkflowName, TaskQueue: taskQueue,
		WorkflowRunTimeout: 30 * time.Minute, Args: []any{in},
	})
}

// scheduleVouch is the workers' vouch for every pass of a Schedule: a MAC
// over what fields signs, never recorded (every pass has the same input).
func scheduleVouch(ctx context.Context, keys *secret.Keys, kind, scheduleID string, fields func(workflows.Vouch) []string) (workflows.Vouch, error) {
	v, err := activities.NewVouch(ctx, keys, nil, kind, scheduleID, "", time.Now(), func(id string, at time.Time) []string {
		return fields(workflows.Vouch{ID: id, SentAt: at})
	})
	return workflows.Vouch{ID: v.ID, SentAt: v.SentAt, MAC: v.MAC}, err
}

// ensureSchedule creates the Schedule id that starts action every
// interval, or sets the interval and action of the one that exists.
func ensureSchedule(ctx context.Context, c client.Client, id string, every time.Duration, action *client.ScheduleWorkflowAction) error {
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      id,
		Spec:    spec,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action:  action,
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return err
	}
	return c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			u.Description.Schedule.Spec = &spec
			u.Description.Schedule.Action = action
			return &client.ScheduleUpdate{Schedule: &u.Description.Schedule}, nil
		},
	})
}

// EnsureWebhookDispatcher starts the webhooks' dispatcher unless it runs,
// so every worker may call it at start: it stages each organization's new
// audit entries for its webhooks and wakes their workflows.
func EnsureWebhookDispatcher(ctx context.Context, c client.Client, taskQueue string) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WebhookDispatchWorkflowID, TaskQueue: taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.WebhookDispatchWorkflowName, activities.DispatchState{})
	return err
}
