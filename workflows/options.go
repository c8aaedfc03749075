package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activity options, in one place. Store and access steps are quick writes to
// the local store: they run as local activities, inside the workflow task,
// which saves two round trips to the server for each (the step that matters
// most to approve→active latency), and are retried without limit: they must
// happen. Emails are ordinary activities, retried with backoff until the
// provider accepts them or refuses them for good (non-retryable), without
// holding up the workflow.
var (
	storeOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	}
	emailOptions = workflow.ActivityOptions{
		// Since versionJustified, ScheduleToCloseTimeout bounds the retries
		// (Timing.EmailRetryFor); see emailOptionsFor.
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
		},
	}
)

// emailOptionsFor bounds an email's retries by the assignment's
// EmailRetryFor (none for runs started before it existed).
func emailOptionsFor(t Timing) workflow.ActivityOptions {
	o := emailOptions
	o.ScheduleToCloseTimeout = t.EmailRetryFor
	return o
}
