package target

import (
	"context"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Store is the part of the store a directory target uses: the sites'
// access groups, the accounts it made, the credentials it seals, the grants
// in force, the steps it answered, and what internal/membership reads to
// repair drift.
type Store interface {
	SiteByID(ctx context.Context, id string) (store.Site, error)
	SitesForCustomer(ctx context.Context, customerID string) ([]store.Site, error)
	DirectoryAccount(ctx context.Context, userID, customerID string) (store.DirectoryAccount, error)
	DirectoryAccounts(ctx context.Context, customerID string) ([]store.DirectoryAccount, error)
	SaveDirectoryAccount(ctx context.Context, a store.DirectoryAccount) error
	DirectoryGrantsInForce(ctx context.Context, customerID, userID, exceptAssignment string, now time.Time) (int, error)
	GrantsOnSite(ctx context.Context, siteID string, now time.Time) ([]store.Grant, error)
	OpenAssignment(ctx context.Context, siteID, userID string) (store.Assignment, error)
	SetCredential(ctx context.Context, c store.Credential) error
	DirectorySteps(ctx context.Context, assignmentID string) ([]store.DirectoryStep, error)
	SaveDirectoryStep(ctx context.Context, st store.DirectoryStep) error
	ClearDirectorySteps(ctx context.Context, assignmentID, phase string) error
}

// Base is what every directory target holds alike.
type Base struct {
	Store Store
	Keys  *secret.Keys
	// ProofWithin bounds how long one attempt reads the group back before it
	// fails, to be retried by Temporal (default 30s).
	ProofWithin time.Duration
}

// Seal keeps a temporary password in the store as the assignment's
// credential, sealed to it. A target seals before it sets the password:
// whatever the directory ends up holding, a retry seals and sets a new one.
func (b Base) Seal(ctx context.Context, assignmentID, login, password string, at time.Time) error {
	return b.Store.SetCredential(ctx, store.Credential{AssignmentID: assignmentID, Login: login,
		Ciphertext: b.Keys.Seal([]byte(password), assignmentID), CreatedAt: at})
}

// AccessGroup is the site's access group as the directory file names it.
func (b Base) AccessGroup(ctx context.Context, siteID string) (string, error) {
	site, err := b.Store.SiteByID(ctx, siteID)
	if err != nil {
		return "", err
	}
	if site.AccessGroup == "" {
		return "", Permanent(fmt.Sprintf("site %s names no access_group in the directory file", siteID))
	}
	return site.AccessGroup, nil
}
