package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/internal/store"
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

// Directory changes access in the customers' directories of one kind of
// target. Both methods are idempotent: a retry finds done what was done.
type Directory interface {
	// Provision finds or makes the partner user's account in the customer's
	// directory, enables it, gives it a fresh temporary password when it is
	// new or in.Edition is Professional (sealed in the store as the
	// assignment's credential, never returned), and adds it to the site's
	// access group.
	Provision(ctx context.Context, t store.Target, in DirectoryInput) (ProvisionResult, error)
	// Deprovision removes the account from the site's access group, disables
	// the account when no other grant in force needs it, ends its sign-in
	// sessions, and reads the group back until the account is gone. It
	// returns how long the proof took.
	Deprovision(ctx context.Context, t store.Target, in DirectoryInput) (time.Duration, error)
	// Reissue sets a fresh temporary password on the partner user's
	// account, sealed in the store as the assignment's credential.
	Reissue(ctx context.Context, t store.Target, in DirectoryInput) error
	// Drift compares each access group of the customer's sites with the
	// grants in force at now, and repairs it: an account this product made
	// that is a member without a grant is removed, a grant whose account is
	// not a member is restored. Other members are the customer's own and
	// are left alone.
	Drift(ctx context.Context, t store.Target, customerID string, now time.Time) ([]DriftRepair, error)
}

// DriftRepair is one membership drift repaired.
type DriftRepair struct {
	Kind   string // DriftRemoved or DriftRestored
	SiteID string
	UserID string
	Login  string
	// AssignmentID is the assignment whose grant a restored membership
	// serves, so that its own audit log shows the repair; a removed one
	// has none.
	AssignmentID string
}

// Kinds of drift.
const (
	DriftRemoved  = "removed"
	DriftRestored = "restored"
)

// DirectoryError is what a Directory's error may say about itself.
// Permanent: retrying cannot fix it (names what is missing). RetryAfter:
// the directory asked to wait that long.
type DirectoryError interface {
	error
	Permanent() bool
	RetryAfter() time.Duration
}

// DirectoryInput names the access to make or remove.
type DirectoryInput struct {
	AssignmentID string
	CustomerID   string
	SiteID       string
	PartnerID    string
	UserID       string
	DisplayName  string
	Edition      string
	At           time.Time
}

// ProvisionResult is what activation did.
type ProvisionResult struct {
	Target  string // the kind of target
	Login   string // the account's sign-in name
	Created bool   // the account was made now
	// Credential: a temporary password waits for the partner user on the
	// credential page.
	Credential bool
}

// ProvisionAccess makes the access real in the customer's directory (an
// ordinary activity: it calls the directory's API, with retries). The
// target is read from the store; a customer without one changes nothing.
//
// It refuses an assignment the store holds as ended or as another's: a run
// reset to before activation finds the truth there.
func (a *Activities) ProvisionAccess(ctx context.Context, in DirectoryInput) (ProvisionResult, error) {
	if err := a.justifyGrant(ctx, "provisioning", claim{in.AssignmentID, in.SiteID, in.UserID, in.CustomerID, in.PartnerID}); err != nil {
		return ProvisionResult{}, err
	}
	t, d, err := a.directory(ctx, in.CustomerID)
	if err != nil || d == nil {
		return ProvisionResult{Target: t.Kind}, err
	}
	var res ProvisionResult
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
	return res, a.Store.Audit(ctx, store.AuditEntry{At: time.Now(), ActorID: "system", Action: "access.provisioned",
		Outcome: store.OutcomeOK, AssignmentID: in.AssignmentID, Detail: detail, EventKey: &key})
}

// DeprovisionAccess removes the access from the customer's directory and
// proves it gone, or fails so that Temporal retries it (without limit).
// While it fails, the store holds what blocks it: the customer's page shows
// it and partner_access_revocations_pending counts it.
func (a *Activities) DeprovisionAccess(ctx context.Context, in DirectoryInput) error {
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
	key := "directory/proven/" + in.AssignmentID
	return a.Store.Audit(ctx, store.AuditEntry{At: time.Now(), ActorID: "system", Action: "revocation.proven",
		Outcome: store.OutcomeOK, AssignmentID: in.AssignmentID, EventKey: &key,
		Detail: fmt.Sprintf("the site's access group in %s no longer holds the account; proven in %s", t.Kind, took.Round(time.Millisecond))})
}

// ReissueDirectoryCredential resets the password of the assignment's
// account in the customer's directory, while that assignment's grant is in
// force (R5). Only the account of the assignment's own user, site and
// customer, as the store holds them: an input that claims otherwise is
// refused and audited (reissue.forged).
func (a *Activities) ReissueDirectoryCredential(ctx context.Context, in DirectoryInput) error {
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

// directory is the customer's target and the Directory of its kind; nil
// for the gateway.
func (a *Activities) directory(ctx context.Context, customerID string) (store.Target, Directory, error) {
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

// directoryError maps a Directory's error to how Temporal should retry it:
// a permanent refusal ends activation (when activating), a requested wait
// becomes the next retry's delay.
func directoryError(err error, activating bool) error {
	var de DirectoryError
	if !errors.As(err, &de) {
		return err
	}
	if activating && de.Permanent() {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDirectoryDenied, nil)
	}
	if d := de.RetryAfter(); d > 0 {
		return temporal.NewApplicationErrorWithOptions(err.Error(), "DirectoryBusy", temporal.ApplicationErrorOptions{NextRetryDelay: d})
	}
	return err
}
