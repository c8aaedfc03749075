package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
)

// The webhooks' workflows (SPEC §15, docs/workflow.md): one dispatcher
// stages each organization's new audit entries for its webhooks, in the
// store, and wakes each webhook's own workflow, which sends them. Neither
// carries an event or a secret: the store holds what is staged and sent,
// so a worker killed at any point loses nothing, and a delivery repeated
// after a crash carries the same webhook-id.
const (
	WebhookDispatchWorkflowName = activities.WebhookDispatchWorkflowName
	WebhookDispatchWorkflowID   = activities.WebhookDispatchWorkflowID
	WebhookWorkflowName         = activities.WebhookWorkflowName
	SignalWebhookWake           = activities.SignalWebhookWake
)

// Webhook workflow defaults.
const (
	DefaultWebhookRetryFor    = 72 * time.Hour
	DefaultWebhookMaxInFlight = 4
	// webhookHistoryLimit: past it, an idle run continues as new.
	webhookHistoryLimit = 2000
	// webhookIdle: an idle webhook looks at the store this often even
	// unwoken (a lost wake costs at most this).
	webhookIdle = 10 * time.Minute
)

var (
	dispatchOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	}
	webhookStoreOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	}
)

// webhookDeliveryOptions retry one delivery with backoff for retryFor.
// A delivery waits at most 10 s for the receiver; 15 s bounds an attempt
// whose worker died, after which it is made again.
func webhookDeliveryOptions(retryFor time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: retryFor,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        min(10*time.Minute, max(time.Second, retryFor/8)),
			NonRetryableErrorTypes: []string{activities.ErrTypeWebhookGone},
		},
	}
}

// dispatchPasses is how many passes one dispatcher run makes before it
// continues as new.
const dispatchPasses = 100

// WebhookDispatch stages new audit entries for every webhook and wakes
// their workflows, for ever (continuing as new every dispatchPasses).
func WebhookDispatch(ctx workflow.Context, state activities.DispatchState) error {
	ctx = workflow.WithActivityOptions(ctx, dispatchOptions)
	for range dispatchPasses {
		if err := workflow.ExecuteActivity(ctx, a.StageWebhooks, state).Get(ctx, &state); err != nil {
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, WebhookDispatch, activities.DispatchState{Paused: state.Paused})
}

// WebhookEndpoint sends one webhook's staged events: in order per subject
// (an assignment), at most MaxInFlight at once, each retried with backoff
// for RetryFor. An event still not delivered then pauses the webhook (its
// administrators are told); the run waits, and sends again once resumed.
func WebhookEndpoint(ctx workflow.Context, in activities.WebhookInput) error {
	in.RetryFor = cmpOr(in.RetryFor, DefaultWebhookRetryFor)
	in.MaxInFlight = max(1, cmpOr(in.MaxInFlight, DefaultWebhookMaxInFlight))
	e := &endpoint{in: in, queues: map[string][]int64{}, known: map[int64]bool{}, busy: map[string]bool{}}
	return e.run(ctx)
}

func cmpOr[T comparable](v, otherwise T) T {
	var zero T
	if v == zero {
		return otherwise
	}
	return v
}

type endpoint struct {
	in       activities.WebhookInput
	queues   map[string][]int64 // by subject, oldest first
	subjects []string           // in the order first seen
	known    map[int64]bool     // queued or in flight
	busy     map[string]bool    // subjects with a delivery in flight
	inFlight int
	failed   *int64 // a delivery that gave up: pause once the others are back
	refresh  bool   // read the store again: woken, idle, or all sent
}

func (e *endpoint) run(ctx workflow.Context) error {
	wake := workflow.GetSignalChannel(ctx, SignalWebhookWake)
	sel := workflow.NewSelector(ctx)
	e.refresh = true // look at the store first
	sel.AddReceive(wake, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		e.refresh = true
	})
	var idle workflow.Future // one timer at a time
	for {
		if e.refresh && e.failed == nil {
			e.refresh = false
			p, err := e.pending(ctx)
			if err != nil {
				return err
			}
			if p.Deleted {
				return e.drain(ctx, sel)
			}
		}
		if e.failed != nil && e.inFlight == 0 {
			if err := e.pause(ctx); err != nil {
				return err
			}
			continue
		}
		if e.failed == nil {
			e.startDeliveries(ctx, sel)
		}
		if e.inFlight == 0 && len(e.known) == 0 && !e.refresh {
			if workflow.GetInfo(ctx).GetCurrentHistoryLength() > webhookHistoryLimit {
				drainSignals(wake)
				return workflow.NewContinueAsNewError(ctx, WebhookEndpoint, e.in)
			}
			if idle == nil {
				idle = workflow.NewTimer(ctx, webhookIdle)
				sel.AddFuture(idle, func(workflow.Future) { idle, e.refresh = nil, true })
			}
		}
		if !e.refresh || e.inFlight > 0 {
			sel.Select(ctx)
		}
	}
}

// pending reads what is to send and queues what is new.
func (e *endpoint) pending(ctx workflow.Context) (activities.WebhookPending, error) {
	var p activities.WebhookPending
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, webhookStoreOptions), a.PendingWebhookDeliveries, e.in).Get(ctx, &p)
	for _, d := range p.Items {
		if e.known[d.AuditID] {
			continue
		}
		e.known[d.AuditID] = true
		if _, ok := e.queues[d.Subject]; !ok {
			e.subjects = append(e.subjects, d.Subject)
		}
		e.queues[d.Subject] = append(e.queues[d.Subject], d.AuditID)
	}
	return p, err
}

// startDeliveries starts the oldest event of each subject with none in
// flight, oldest subjects first, up to MaxInFlight.
func (e *endpoint) startDeliveries(ctx workflow.Context, sel workflow.Selector) {
	actx := workflow.WithActivityOptions(ctx, webhookDeliveryOptions(e.in.RetryFor))
	for _, subject := range slices.Clone(e.subjects) {
		q := e.queues[subject]
		if e.inFlight >= e.in.MaxInFlight {
			return
		}
		if e.busy[subject] || len(q) == 0 {
			continue
		}
		id := q[0]
		e.busy[subject], e.inFlight = true, e.inFlight+1
		f := workflow.ExecuteActivity(actx, a.DeliverWebhook, activities.WebhookDelivery{WebhookID: e.in.WebhookID, AuditID: id})
		sel.AddFuture(f, func(f workflow.Future) { e.delivered(subject, id, f.Get(ctx, nil)) })
	}
}

// delivered settles one delivery: the next of its subject may go, unless
// it gave up, which pauses the webhook.
func (e *endpoint) delivered(subject string, id int64, err error) {
	e.busy[subject], e.inFlight = false, e.inFlight-1
	var gone *temporal.ApplicationError
	switch {
	case err == nil:
	case errors.As(err, &gone) && gone.Type() == activities.ErrTypeWebhookGone:
		e.refresh = true // deleted or paused meanwhile
	default:
		if e.failed == nil {
			e.failed = &id
		}
		return
	}
	e.queues[subject] = e.queues[subject][1:]
	delete(e.known, id)
	if len(e.known) == 0 {
		e.refresh = true // more may have been staged than one read brings
	}
	if len(e.queues[subject]) == 0 {
		delete(e.queues, subject)
		e.subjects = slices.DeleteFunc(e.subjects, func(s string) bool { return s == subject })
	}
}

// pause pauses the webhook for the delivery that gave up, forgets what was
// queued (the store keeps it pending), and waits for a wake.
func (e *endpoint) pause(ctx workflow.Context) error {
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, webhookStoreOptions), a.PauseWebhook,
		activities.WebhookPause{WebhookID: e.in.WebhookID, AuditID: *e.failed, RetryFor: e.in.RetryFor}).Get(ctx, nil)
	if err != nil {
		return err
	}
	e.failed, e.queues, e.subjects, e.known = nil, map[string][]int64{}, nil, map[int64]bool{}
	return nil
}

// drain waits for the deliveries in flight of a deleted webhook.
func (e *endpoint) drain(ctx workflow.Context, sel workflow.Selector) error {
	for e.inFlight > 0 {
		sel.Select(ctx)
	}
	return nil
}

func drainSignals(c workflow.ReceiveChannel) {
	for c.ReceiveAsync(nil) {
	}
}
