package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/target"
)

// versionDirectory marks the change that makes access real where the
// partner user connects: when the customer names a directory (Entra ID),
// activation makes or enables the partner user's account there and adds it
// to the site's access group before the assignment is active, and every end
// of access removes the membership, disables the account when nothing else
// needs it, ends its sessions and proves the membership gone. A directory
// that refuses for good, or does not answer within PROVISION_RETRY_FOR, ends
// the assignment failed with what was half done undone. Runs started before
// it keep the gateway rows only (docs/changing-the-workflow.md).
const versionDirectory = "directory-access"

// Activity options of the directory steps. Activation is retried until
// Timing.ProvisionRetryFor, then the assignment fails; removal is retried
// without limit, as access must end: activities.PendingRevocation shows
// what blocks it meanwhile. Both honour a directory's Retry-After through
// the activity's next retry delay.
var (
	provisionOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    10 * time.Second, // a worker gone mid-step is noticed soon
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeDirectoryDenied},
		},
	}
	deprovisionOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
		},
	}
)

// versionDesktopWarning marks the change that warns the partner user's
// open desktop sessions (the customer's AVD host pools, SPEC §16) before
// Standard access ends: at EXPIRY_WARNING, and desktopLastWarning before
// the end. Runs started before it warn by email alone.
const versionDesktopWarning = "desktop-warning"

// desktopLastWarning is how long before the end of Standard access the
// open desktop sessions get their last warning.
const desktopLastWarning = 10 * time.Minute

// desktopWarningOptions: a warning is worth a few tries, not holding the
// access: after a minute it is given up (and logged).
var desktopWarningOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: time.Minute,
	RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second},
}

// warnDesktops shows the partner user, in each desktop session open on the
// customer's host pools, when the access ends (since versionDesktopWarning,
// for access in a directory).
func (w *assignment) warnDesktops(ctx workflow.Context) {
	if !w.desktops || !w.inDirectory() || w.status.AccessEndsAt == nil {
		return
	}
	in := activities.DesktopWarning{Input: w.directoryInput(workflow.Now(ctx)), SiteName: w.in.SiteName, EndsAt: *w.status.AccessEndsAt}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, desktopWarningOptions), a.WarnDesktops, in).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("desktop sessions not warned", "error", err)
	}
}

// defaultProvisionRetryFor bounds activation when the input names no bound.
const defaultProvisionRetryFor = time.Hour

// inDirectory reports whether this run's access lives in a directory: the
// change applies and the customer named one when the run started.
func (w *assignment) inDirectory() bool {
	return w.directory && w.target != "" && w.target != activities.TargetGateway
}

// provision makes the access real in the customer's directory. It returns
// why it failed when the directory refused or did not answer in time; the
// caller ends the assignment failed with it (failProvision).
func (w *assignment) provision(ctx workflow.Context, at time.Time) (target.ProvisionResult, string) {
	opts := provisionOptions
	opts.ScheduleToCloseTimeout = w.in.Timing.ProvisionRetryFor
	if opts.ScheduleToCloseTimeout <= 0 {
		opts.ScheduleToCloseTimeout = defaultProvisionRetryFor
	}
	var res target.ProvisionResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.ProvisionAccess, w.directoryInput(at)).Get(ctx, &res)
	if err == nil {
		return res, ""
	}
	return res, provisionFailure(err, opts.ScheduleToCloseTimeout)
}

// provisionFailure is what the people told of a failed activation read.
// Anything but a refusal means the directory did not accept within the
// retry window: activation is retried until then.
func provisionFailure(err error, retriedFor time.Duration) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == activities.ErrTypeDirectoryDenied {
		return "the customer's directory refused: " + app.Message()
	}
	why := fmt.Sprintf("the customer's directory did not accept the access within %s", retriedFor)
	if errors.As(err, &app) {
		why += " (last: " + app.Message() + ")"
	}
	return why
}

// deprovision removes the access from the directory and proves it gone,
// retrying without limit.
func (w *assignment) deprovision(ctx workflow.Context, at time.Time) {
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, deprovisionOptions), a.DeprovisionAccess, w.directoryInput(at)).Get(ctx, nil)
	if err != nil { // retried without limit, so only a cancelled context gets here
		workflow.GetLogger(ctx).Error("directory access not removed", "error", err)
	}
}

func (w *assignment) directoryInput(at time.Time) target.Input {
	return target.Input{
		AssignmentID: w.id, CustomerID: w.in.CustomerID, SiteID: w.in.SiteID, PartnerID: w.in.PartnerID,
		UserID: w.in.PartnerUser.ID, DisplayName: w.in.PartnerUser.Name, Edition: w.in.Edition, At: at,
	}
}

// failProvision ends the assignment failed after a refused activation,
// tells both sides why, and then undoes whatever an attempt may have made
// (an attempt whose answer was lost may have added the membership): the
// failure shows at once, and an undo the directory still refuses waits as a
// pending revocation.
func (w *assignment) failProvision(ctx workflow.Context, why string) error {
	w.status.Failure = why
	t := activities.Transition{State: domain.StateFailed, Action: domain.ActionAccessFailed, Detail: why, Failure: why}
	if w.status.Decision != "" {
		t.Decision, t.DecidedBy, t.DecisionSignal = w.status.Decision, w.status.DecidedBy, w.decisionSignal
	}
	if err := w.record(ctx, t); err != nil {
		return err
	}
	d := w.mailData()
	d.FailureReason = why
	w.sendEach(ctx, domain.EmailAccessFailed, w.bothSides(), d, 0)
	w.deprovision(ctx, workflow.Now(ctx))
	return nil
}
