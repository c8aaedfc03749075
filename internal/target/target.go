// Package target is the contract of a directory target: what the
// activities ask of a customer's directory (Entra ID, LDAP) and what it
// answers. Every target implements it and imports only this, never the
// activities or Temporal, as every plugin of Teleport's implements
// integrations/access/common apart from the others. A chat approval
// channel or a webhook sender gets a contract package of its own in the
// same way.
package target

import (
	"context"
	"time"

	"github.com/partneraccess/partneraccess/internal/store"
)

// Directory changes access in the customers' directories of one kind of
// target. Every method is idempotent: a retry finds done what was done.
type Directory interface {
	// Provision finds or makes the partner user's account in the customer's
	// directory, enables it, gives it a fresh temporary password when it is
	// new or in.Edition is Professional (sealed in the store as the
	// assignment's credential, never returned), and adds it to the site's
	// access group.
	Provision(ctx context.Context, t store.Target, in Input) (ProvisionResult, error)
	// Deprovision removes the account from the site's access group, disables
	// the account when no other grant in force needs it, ends its sign-in
	// sessions, and reads the group back until the account is gone. It
	// returns how long the proof took.
	Deprovision(ctx context.Context, t store.Target, in Input) (time.Duration, error)
	// Reissue sets a fresh temporary password on the partner user's
	// account, sealed in the store as the assignment's credential.
	Reissue(ctx context.Context, t store.Target, in Input) error
	// Drift compares each access group of the customer's sites with the
	// grants in force at now, and repairs it: an account this product made
	// that is a member without a grant is removed, a grant whose account is
	// not a member is restored. Other members are the customer's own and
	// are left alone.
	Drift(ctx context.Context, t store.Target, customerID string, now time.Time) ([]DriftRepair, error)
}

// Input names the access to make or remove. It is an activity's input,
// recorded in workflow histories as JSON: its field names stay.
type Input struct {
	AssignmentID string
	CustomerID   string
	SiteID       string
	PartnerID    string
	UserID       string
	DisplayName  string
	Edition      string
	At           time.Time
}

// ProvisionResult is what activation did. It is an activity's result,
// recorded in workflow histories: its field names stay.
type ProvisionResult struct {
	Target  string // the kind of target
	Login   string // the account's sign-in name
	Created bool   // the account was made now
	// Credential: a temporary password waits for the partner user on the
	// credential page.
	Credential bool
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
	// DriftSessionEnded: a desktop session of an account holding no grant
	// was logged off (SiteID empty: sessions belong to host pools).
	DriftSessionEnded = "session_ended"
)
