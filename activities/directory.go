package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// Kinds of access target (the customer's `entra:` or `ldap:` block, or
// none).
const (
	TargetGateway = store.TargetGateway
	TargetEntra   = store.TargetEntra
	TargetLDAP    = store.TargetLDAP
)

// ErrTypeNoAccess is the application error type of a reissue for access
// no longer in force.
const ErrTypeNoAccess = "NoAccess"

// ErrTypeDirectoryDenied is the application error type of a directory's
// refusal that retrying cannot fix: a wrong secret, a missing permission or
// admin consent. Activation is not retried after it.
const ErrTypeDirectoryDenied = "DirectoryDenied"

// ProvisionAccess makes the access real in the customer's directory (an
// ordinary activity: it calls the directory's API, with retries). The
// target is read from the store; a customer without one changes nothing.
//
// It refuses an assignment the store holds as ended or as another's: a run
// reset to before activation finds the truth there.
func (a *Activities) ProvisionAccess(ctx context.Context, in target.Input) (target.ProvisionResult, error) {
	if err := a.justifyGrant(ctx, "provisioning", claim{in.AssignmentID, in.SiteID, in.UserID, in.CustomerID, in.PartnerID}); err != nil {
		return target.ProvisionResult{}, err
	}
	t, d, err := a.directory(ctx, in.CustomerID)
	if err != nil || d == nil {
		return target.ProvisionResult{Target: t.Kind}, err
	}
	var res target.ProvisionResult
	err = heartbeating(ctx, func() error {
		res, err = d.Provision(ctx, t, in)
		return err
	})
	if err != nil {
		return res, directoryError(err, true)
	}
	res.Target = t.Kind
	detail := fmt.Sprintf("%s in %s: member of the site's access group", res.Login, t.Kind)
	if res.Created {
		detail = fmt.Sprintf("%s made in %s with a temporary password, and added to the site's access group", res.Login, t.Kind)
	}
	key := "directory/provisioned/" + in.AssignmentID
	return res, a.Store.Audit(ctx, store.AuditEntry{At: time.Now(), ActorID: "system", Action: domain.ActionAccessProvisioned,
		Outcome: store.OutcomeOK, AssignmentID: in.AssignmentID, Detail: detail, EventKey: &key})
}

// DeprovisionAccess removes the access from the customer's directory and
// proves it gone, or fails so that Temporal retries it (without limit).
// While it fails, the store holds what blocks it: the customer's page shows
// it and partner_access_revocations_pending counts it.
func (a *Activities) DeprovisionAccess(ctx context.Context, in target.Input) error {
	t, d, err := a.directory(ctx, in.CustomerID)
	if err != nil || d == nil {
		return err
	}
	var took time.Duration
	err = heartbeating(ctx, func() error {
		took, err = d.Deprovision(ctx, t, in)
		return err
	})
	if err != nil {
		if perr := a.Store.SetRevocationPending(ctx, in.AssignmentID, time.Now(), err.Error()); perr != nil {
			return errors.Join(err, perr)
		}
		return directoryError(err, false)
	}
	if err := a.Store.ClearRevocationPending(ctx, in.AssignmentID); err != nil {
		return err
	}
	detail := fmt.Sprintf("the site's access group in %s no longer holds the account; proven in %s", t.Kind, took.Round(time.Millisecond))
	steps, err := a.Store.DirectorySteps(ctx, in.AssignmentID)
	if err != nil {
		return err
	}
	for _, s := range steps {
		if s.Phase == store.PhaseRevoke && s.Step == target.StepDesktops && s.Detail != "" {
			detail += "; " + s.Detail // the desktop sessions: how many, how long
		}
	}
	key := "directory/proven/" + in.AssignmentID
	return a.Store.Audit(ctx, store.AuditEntry{At: time.Now(), ActorID: "system", Action: domain.ActionRevocationProven,
		Outcome: store.OutcomeOK, AssignmentID: in.AssignmentID, EventKey: &key, Detail: detail})
}

// ReissueDirectoryCredential resets the password of the assignment's
// account in the customer's directory, while that assignment's grant is in
// force (R5). Only the account of the assignment's own user, site and
// customer, as the store holds them: an input that claims otherwise is
// refused and audited (reissue.forged).
func (a *Activities) ReissueDirectoryCredential(ctx context.Context, in target.Input) error {
	as, err := a.justifyReissue(ctx, in, time.Now())
	if err != nil {
		return err
	}
	in.SiteID, in.UserID, in.CustomerID, in.PartnerID, in.DisplayName = as.SiteID, as.PartnerUserID, as.CustomerID, as.PartnerID, as.PartnerUserName
	t, d, err := a.directory(ctx, in.CustomerID)
	if err != nil {
		return err
	}
	if d == nil {
		return temporal.NewNonRetryableApplicationError("the customer names no directory", ErrTypeNoAccess, nil)
	}
	if err := d.Reissue(ctx, t, in); err != nil {
		return directoryError(err, true)
	}
	return nil
}

// DesktopWarning is a warning to the partner user's open desktop sessions
// that access ends. It is an activity's input, recorded in histories: its
// field names stay.
type DesktopWarning struct {
	Input    target.Input
	SiteName string
	EndsAt   time.Time
}

// Desktops is a directory target that can reach the partner user's open
// desktop sessions (Entra ID with AVD host pools).
type Desktops interface {
	// WarnDesktops shows title and body in each of the account's open
	// sessions and returns how many it reached.
	WarnDesktops(ctx context.Context, t store.Target, in target.Input, title, body string) (int, error)
}

// WarnDesktops shows the partner user, in each desktop session open on the
// customer's AVD host pools, when the access to the site ends: "Your access
// to Contoso Sage 200 ends at 14:00 UTC; save your work". A customer naming
// no pools has none.
func (a *Activities) WarnDesktops(ctx context.Context, in DesktopWarning) (int, error) {
	t, d, err := a.directory(ctx, in.Input.CustomerID)
	if err != nil || d == nil {
		return 0, err
	}
	dd, ok := d.(Desktops)
	if !ok || t.AVDHostPools == "" {
		return 0, nil
	}
	body := fmt.Sprintf("Your access to %s ends at %s; save your work.", in.SiteName, in.EndsAt.UTC().Format("15:04 MST on 2 Jan"))
	n, err := dd.WarnDesktops(ctx, t, in.Input, "Partner Access", body)
	if err != nil {
		return n, directoryError(err, false)
	}
	return n, nil
}

// heartbeatEvery is how often a directory step tells Temporal it is alive:
// a worker that dies mid-step is noticed within the step's
// HeartbeatTimeout, not its StartToCloseTimeout, and the step is retried on
// another worker (every step is idempotent).
const heartbeatEvery = 2 * time.Second

// heartbeating runs fn while heartbeating, outside a test environment's
// activity too.
func heartbeating(ctx context.Context, fn func() error) error {
	if !activity.IsActivity(ctx) {
		return fn()
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(heartbeatEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return fn()
}

// directory is the customer's target and the target.Directory of its
// kind; nil for the gateway.
func (a *Activities) directory(ctx context.Context, customerID string) (store.Target, target.Directory, error) {
	t, err := a.Store.CustomerTarget(ctx, customerID)
	if err != nil || t.Kind == TargetGateway {
		return t, nil, err
	}
	d := a.Directories[t.Kind]
	if d == nil {
		return t, nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("this worker has no %s directory configured", t.Kind), ErrTypeDirectoryDenied, nil)
	}
	return t, d, nil
}

// directoryError maps a target's error to how Temporal should retry it: a
// permanent refusal ends activation (when activating), a requested wait
// becomes the next retry's delay.
func directoryError(err error, activating bool) error {
	var te *target.Error
	if !errors.As(err, &te) {
		return err
	}
	if activating && te.Permanent {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDirectoryDenied, nil)
	}
	if d := te.RetryAfter; d > 0 {
		return temporal.NewApplicationErrorWithOptions(err.Error(), "DirectoryBusy", temporal.ApplicationErrorOptions{NextRetryDelay: d})
	}
	return err
}
