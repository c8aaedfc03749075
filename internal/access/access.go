// Package access activates and revokes a partner user's access to a site, and
// issues the temporary directory credential of Professional sites (docs/workflow.md).
package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Provisioner is what the workflow's activities call to change access. Every
// method is idempotent: calling it again after success changes nothing.
type Provisioner interface {
	Activate(ctx context.Context, g store.Grant) error
	Revoke(ctx context.Context, assignmentID string, at time.Time) error
	// HasAccess reports whether the assignment's access is still in force;
	// used to prove a revocation took effect.
	HasAccess(ctx context.Context, assignmentID string, at time.Time) (bool, error)
	IssueCredential(ctx context.Context, assignmentID, login string, at time.Time) error
}

// StoreProvisioner keeps access as rows the gateway reads, and credentials
// encrypted in the store.
type StoreProvisioner struct {
	Store *store.Store
	Keys  *secret.Keys
}

var _ Provisioner = (*StoreProvisioner)(nil)

// Activate writes the access grant.
func (p *StoreProvisioner) Activate(ctx context.Context, g store.Grant) error {
	return p.Store.PutGrant(ctx, g)
}

// Revoke ends the grant and destroys any credential not yet viewed.
func (p *StoreProvisioner) Revoke(ctx context.Context, assignmentID string, at time.Time) error {
	if err := p.Store.RevokeGrant(ctx, assignmentID, at); err != nil {
		return err
	}
	return p.Store.DestroyCredential(ctx, assignmentID, at)
}

// HasAccess reports whether a grant is in force, or a credential still readable.
func (p *StoreProvisioner) HasAccess(ctx context.Context, assignmentID string, at time.Time) (bool, error) {
	g, err := p.Store.GrantByAssignment(ctx, assignmentID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if err == nil && g.RevokedAt == nil && (g.ExpiresAt == nil || g.ExpiresAt.After(at)) {
		return true, nil
	}
	c, err := p.Store.CredentialByAssignment(ctx, assignmentID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && c.Ciphertext != nil, err
}

// IssueCredential creates the temporary password once; a retry finds it made.
func (p *StoreProvisioner) IssueCredential(ctx context.Context, assignmentID, login string, at time.Time) error {
	_, err := p.Store.PutCredential(ctx, store.Credential{
		AssignmentID: assignmentID,
		Login:        login,
		Ciphertext:   p.Keys.Seal([]byte(secret.NewPassword()), assignmentID),
		CreatedAt:    at,
	})
	return err
}

// ErrCredentialGone is returned when the credential was already viewed or destroyed.
var ErrCredentialGone = errors.New("the temporary password was already viewed or has been destroyed")

// TakeCredential returns the login and temporary password, destroying the
// stored copy: it is shown once.
func TakeCredential(ctx context.Context, s *store.Store, keys *secret.Keys, assignmentID string, at time.Time) (login, password string, err error) {
	c, err := s.TakeCredential(ctx, assignmentID, at)
	if err != nil {
		return "", "", err
	}
	if c.Ciphertext == nil {
		return c.Login, "", ErrCredentialGone
	}
	pw, err := keys.Open(c.Ciphertext, assignmentID)
	if err != nil {
		return "", "", fmt.Errorf("decrypt credential of %s: %w", assignmentID, err)
	}
	return c.Login, string(pw), nil
}

// ErrNoAccess is returned when a credential cannot be reissued: access has
// ended, or the first credential was not issued yet.
var ErrNoAccess = errors.New("access is not in force, or no temporary password was issued yet")

// ReissueCredential replaces the temporary password of an assignment whose
// access is in force with a new one (the old one is destroyed); it is
// viewable once, like the first.
func ReissueCredential(ctx context.Context, s *store.Store, keys *secret.Keys, assignmentID string, at time.Time) error {
	ok, err := s.ReplaceCredential(ctx, assignmentID, keys.Seal([]byte(secret.NewPassword()), assignmentID), at)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNoAccess
	}
	return nil
}
