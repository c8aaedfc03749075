// Package membership holds what every directory target does the same way
// with its access groups: proving that an account left a group, and
// repairing the drift between the groups and the grants in force.
package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// Groups are a directory's access groups, by the IDs that the store's
// directory accounts keep (ObjectID).
type Groups interface {
	Members(ctx context.Context, group string) ([]string, error)
	Add(ctx context.Context, group, id string) error
	Remove(ctx context.Context, group, id string) error
}

// Store is what Repair reads of the store: the accounts this product made,
// the customer's sites, the grants in force and the assignments in flight.
type Store interface {
	DirectoryAccounts(ctx context.Context, customerID string) ([]store.DirectoryAccount, error)
	SitesForCustomer(ctx context.Context, customerID string) ([]store.Site, error)
	GrantsOnSite(ctx context.Context, siteID string, now time.Time) ([]store.Grant, error)
	OpenAssignment(ctx context.Context, siteID, userID string) (store.Assignment, error)
}

// Prove reads the group back until id is no longer a member (a directory
// may be eventually consistent), with backoff, for at most within. It
// returns how long the proof took.
func Prove(ctx context.Context, g Groups, group, id string, within time.Duration) (time.Duration, error) {
	start, wait := time.Now(), 100*time.Millisecond
	if within <= 0 {
		within = 30 * time.Second
	}
	for {
		members, err := g.Members(ctx, group)
		if err != nil {
			return 0, err
		}
		if !contains(members, id) {
			return time.Since(start), nil
		}
		if time.Since(start)+wait > within {
			return 0, fmt.Errorf("the access group still lists the account %s after %s", id, within)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// Repair compares each access group of the customer's sites with the
// grants in force at now: an account this product made in the directory
// (tenant) that is a member without a grant is removed, a grant whose
// account is not a member is restored. Other members are the customer's
// own and are left alone; a member whose assignment is still open is left
// to the activation or revocation in flight.
func Repair(ctx context.Context, st Store, g Groups, tenant, customerID string, now time.Time) ([]target.DriftRepair, error) {
	accounts, err := st.DirectoryAccounts(ctx, customerID)
	if err != nil || len(accounts) == 0 {
		return nil, err // nothing of this product's can have drifted
	}
	ours := map[string]store.DirectoryAccount{} // by object ID
	byUser := map[string]store.DirectoryAccount{}
	for _, a := range accounts {
		if a.TenantID == tenant {
			ours[a.ObjectID], byUser[a.UserID] = a, a
		}
	}
	sites, err := st.SitesForCustomer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	var repairs []target.DriftRepair
	for _, site := range sites {
		if site.AccessGroup == "" {
			continue
		}
		members, err := g.Members(ctx, site.AccessGroup)
		if err != nil {
			return repairs, err
		}
		grants, err := st.GrantsOnSite(ctx, site.ID, now)
		if err != nil {
			return repairs, err
		}
		granted := map[string]bool{}
		for _, gr := range grants {
			granted[gr.UserID] = true
		}
		member := map[string]bool{}
		for _, m := range members {
			a, mine := ours[m]
			member[m] = true
			if !mine || granted[a.UserID] {
				continue // the customer's own member, or one that should be there
			}
			if _, err := st.OpenAssignment(ctx, site.ID, a.UserID); err == nil {
				continue // an activation or a revocation in flight settles it
			} else if !errors.Is(err, store.ErrNotFound) {
				return repairs, err
			}
			if err := g.Remove(ctx, site.AccessGroup, m); err != nil {
				return repairs, err
			}
			repairs = append(repairs, target.DriftRepair{Kind: target.DriftRemoved, SiteID: site.ID, UserID: a.UserID, Login: a.Login})
		}
		for _, gr := range grants {
			a, ok := byUser[gr.UserID]
			if !ok || member[a.ObjectID] {
				continue // a grant of the gateway alone, or in place
			}
			if err := g.Add(ctx, site.AccessGroup, a.ObjectID); err != nil {
				return repairs, err
			}
			member[a.ObjectID] = true
			repairs = append(repairs, target.DriftRepair{Kind: target.DriftRestored, SiteID: site.ID, UserID: gr.UserID, Login: a.Login,
				AssignmentID: gr.AssignmentID})
		}
	}
	return repairs, nil
}

func contains(ids []string, id string) bool {
	for _, m := range ids {
		if m == id {
			return true
		}
	}
	return false
}
