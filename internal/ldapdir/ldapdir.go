// Package ldapdir enforces access in a customer's own LDAP directory (the
// `ldap` target): OpenLDAP or Active Directory, over LDAPS or StartTLS,
// with github.com/go-ldap/ldap/v3. A partner user gets one account entry
// under the customer's users_dn, made at its first activation, and each
// site's access is the account's DN in the `member` attribute of the
// site's group. The group's other members are the customer's and are never
// touched; an account whose access ended is disabled, never deleted.
//
// This file is the target; the LDAP protocol it speaks is apart, as
// internal/graph is from internal/entra: the connection (conn.go), entries
// and passwords (entries.go), group members (groups.go) and result codes
// (errors.go).
package ldapdir

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/partneraccess/partneraccess/internal/membership"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// Directory is the LDAP target: target.Directory for every customer with
// an `ldap:` block (store.Target's LDAPURL, BindDN and UsersDN).
type Directory struct {
	target.Base
	// Password reads a target's bind password when it binds; nil: from the
	// environment variable or file the directory file names.
	Password func(store.Target) (string, error)
	// Timeout bounds each request to the server (default 15s).
	Timeout time.Duration

	mu     sync.Mutex
	flavor map[string]bool // URL -> Active Directory
}

var _ target.Directory = (*Directory)(nil)

// Provision implements target.Directory.
func (d *Directory) Provision(ctx context.Context, t store.Target, in target.Input) (target.ProvisionResult, error) {
	group, err := d.group(ctx, in.SiteID)
	if err != nil {
		return target.ProvisionResult{}, err
	}
	c, ad, err := d.connect(ctx, t)
	if err != nil {
		return target.ProvisionResult{}, err
	}
	defer c.Close()
	a := account(t, in, ad)
	res := target.ProvisionResult{Login: a.login}
	exists, err := entryExists(c, a.dn)
	if err != nil {
		return res, err
	}
	if !exists {
		err := c.Add(a.addRequest(in))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) { // made by an attempt whose answer was lost
			return res, refusal(err, "make the account "+a.dn)
		}
	}
	// The entry and its first password are two requests: an entry that the
	// store does not record as made (the store's row follows the password)
	// was added by an attempt cut off before its password, and is new.
	made, err := d.Store.DirectoryAccount(ctx, in.UserID, in.CustomerID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	res.Created = err != nil || made.Kind != store.TargetLDAP || made.TenantID != t.LDAPURL() || made.ObjectID != a.dn
	if res.Created || in.Edition == "professional" { // a fresh password when new, and at every Professional activation (R5)
		if err := d.resetPassword(ctx, c, ad, in.AssignmentID, a, in.At); err != nil {
			return res, err
		}
		res.Credential = true
	}
	if err := setEnabled(c, ad, a.dn, true); err != nil {
		return res, err
	}
	if err := d.Store.SaveDirectoryAccount(ctx, store.DirectoryAccount{UserID: in.UserID, CustomerID: in.CustomerID,
		Kind: store.TargetLDAP, TenantID: t.LDAPURL(), ObjectID: a.dn, Login: a.login, Enabled: true, CreatedAt: in.At, UpdatedAt: time.Now()}); err != nil {
		return res, err
	}
	return res, groups{c}.Add(ctx, group, a.dn)
}

// Reissue implements target.Directory.
func (d *Directory) Reissue(ctx context.Context, t store.Target, in target.Input) error {
	acct, err := d.Store.DirectoryAccount(ctx, in.UserID, in.CustomerID)
	if err != nil {
		return err
	}
	c, ad, err := d.connect(ctx, t)
	if err != nil {
		return err
	}
	defer c.Close()
	return d.resetPassword(ctx, c, ad, in.AssignmentID, entry{dn: acct.ObjectID, login: acct.Login}, time.Now())
}

// Deprovision implements target.Directory.
func (d *Directory) Deprovision(ctx context.Context, t store.Target, in target.Input) (time.Duration, error) {
	acct, err := d.Store.DirectoryAccount(ctx, in.UserID, in.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil // nothing was made
	} else if err != nil {
		return 0, err
	}
	group, err := d.group(ctx, in.SiteID)
	if err != nil {
		return 0, err
	}
	c, ad, err := d.connect(ctx, t)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	g := groups{c}
	if err := g.Remove(ctx, group, acct.ObjectID); err != nil {
		return 0, err
	}
	others, err := d.Store.DirectoryGrantsInForce(ctx, in.CustomerID, in.UserID, in.AssignmentID, time.Now())
	if err != nil {
		return 0, err
	}
	if others == 0 && acct.Enabled {
		// An entry the customer deleted has nothing left to disable.
		if err := setEnabled(c, ad, acct.ObjectID, false); err != nil && !ldap.IsErrorWithCode(errors.Unwrap(err), ldap.LDAPResultNoSuchObject) {
			return 0, err
		}
		acct.Enabled, acct.UpdatedAt = false, time.Now()
		if err := d.Store.SaveDirectoryAccount(ctx, acct); err != nil {
			return 0, err
		}
	}
	return membership.Prove(ctx, g, group, acct.ObjectID, d.ProofWithin)
}

// Drift implements target.Directory.
func (d *Directory) Drift(ctx context.Context, t store.Target, customerID string, now time.Time) ([]target.DriftRepair, error) {
	c, _, err := d.connect(ctx, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return membership.Repair(ctx, d.Store, groups{c}, t.LDAPURL(), customerID, now)
}

// resetPassword gives the account a fresh temporary password that must be
// changed at its first sign-in, sealed in the store first as the
// assignment's credential.
func (d *Directory) resetPassword(ctx context.Context, c *ldap.Conn, ad bool, assignmentID string, a entry, at time.Time) error {
	password := secret.NewPassword()
	if err := d.Seal(ctx, assignmentID, a.login, password, at); err != nil {
		return err
	}
	return setPassword(c, ad, a.dn, password)
}

// group is the site's access group (a DN).
func (d *Directory) group(ctx context.Context, siteID string) (string, error) {
	g, err := d.AccessGroup(ctx, siteID)
	if err != nil {
		return "", err
	}
	return normalize(g), nil
}

// ReadPassword reads a target's bind password from the environment
// variable or the file the directory file names. Its errors name the
// source, never the value.
func ReadPassword(t store.Target) (string, error) {
	return secret.ReadNamed(t.SecretEnv, t.SecretFile, "the bind password", "the worker")
}
