// Package entra enforces access in a customer's Microsoft Entra ID tenant
// (the `entra` target): one member account per partner user in the tenant,
// made at its first activation, and membership of the site's access group,
// which the customer assigned once to its Azure Virtual Desktop application
// group. It talks to Microsoft Graph through internal/graph, and never
// deletes a user: an account whose access ended is disabled.
package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/partneraccess/partneraccess/internal/graph"
	"github.com/partneraccess/partneraccess/internal/membership"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// Directory is the Entra ID target: target.Directory for every customer
// with an `entra:` block.
type Directory struct {
	target.Base
	// LoginURL and GraphURL are the endpoints (ENTRA_LOGIN_URL, GRAPH_URL);
	// empty: Microsoft's public cloud.
	LoginURL, GraphURL string
	HTTPClient         *http.Client
	// Secret reads a target's client secret when a token is needed; nil:
	// from the environment variable or file the directory file names.
	Secret func(store.Target) (string, error)

	mu      sync.Mutex
	clients map[string]*graph.Client // by tenant and client ID
}

var _ target.Directory = (*Directory)(nil)

// UPN is the sign-in name of a partner user's account in a tenant:
// <user-id>.<partner-id>@<user_domain>, the same on every retry.
func UPN(userID, partnerID, domain string) string {
	return userID + "." + partnerID + "@" + domain
}

// upnLocal is what Entra accepts before the @ of a UPN (at most 64).
var upnLocal = regexp.MustCompile(`^[A-Za-z0-9'._!#^~-]{1,64}$`)

// Provision implements target.Directory.
func (d *Directory) Provision(ctx context.Context, t store.Target, in target.Input) (target.ProvisionResult, error) {
	c, group, upn, err := d.prepare(ctx, t, in)
	if err != nil {
		return target.ProvisionResult{}, err
	}
	res := target.ProvisionResult{Login: upn}
	u, err := c.UserByUPN(ctx, upn)
	switch {
	case errors.Is(err, graph.ErrNotFound):
		if u, err = d.create(ctx, c, t, in, upn); err != nil {
			return res, err
		}
		res.Created, res.Credential = true, true
	case err != nil:
		return res, refusal(err)
	default:
		if !u.AccountEnabled {
			if err := c.SetEnabled(ctx, u.ID, true); err != nil {
				return res, refusal(err)
			}
		}
		if in.Edition == "professional" { // a fresh password at every activation (R5)
			if err := d.resetPassword(ctx, c, in.AssignmentID, upn, u.ID, in.At); err != nil {
				return res, err
			}
			res.Credential = true
		}
	}
	if err := d.Store.SaveDirectoryAccount(ctx, store.DirectoryAccount{UserID: in.UserID, CustomerID: in.CustomerID,
		Kind: store.TargetEntra, TenantID: t.TenantID, ObjectID: u.ID, Login: upn, Enabled: true, CreatedAt: in.At, UpdatedAt: time.Now()}); err != nil {
		return res, err
	}
	if err := c.AddMember(ctx, group, u.ID); err != nil {
		if errors.Is(err, graph.ErrNotFound) && res.Created {
			return res, lag("the new account is not visible to its group yet")
		}
		return res, refusal(err)
	}
	return res, nil
}

// create makes the account with a temporary password that must be changed
// at its first sign-in, sealed in the store first: whatever the directory
// ends up holding, a retry seals and sets a new one.
func (d *Directory) create(ctx context.Context, c *graph.Client, t store.Target, in target.Input, upn string) (graph.User, error) {
	password := secret.NewPassword()
	if err := d.Seal(ctx, in.AssignmentID, upn, password, in.At); err != nil {
		return graph.User{}, err
	}
	local, _, _ := strings.Cut(upn, "@")
	u, err := c.CreateUser(ctx, graph.NewUser{UPN: upn, DisplayName: in.DisplayName + " (partner)",
		MailNickname: strings.ReplaceAll(local, ".", "-"), Password: password})
	if errors.Is(err, graph.ErrExists) { // made by an attempt whose answer was lost
		if u, err = c.UserByUPN(ctx, upn); err != nil {
			if errors.Is(err, graph.ErrNotFound) {
				return u, lag("the account exists but cannot be read yet")
			}
			return u, refusal(err)
		}
		return u, d.resetPassword(ctx, c, in.AssignmentID, upn, u.ID, in.At)
	}
	return u, refusal(err)
}

// resetPassword gives the account a fresh temporary password, sealed in the
// store as the assignment's credential.
func (d *Directory) resetPassword(ctx context.Context, c *graph.Client, assignmentID, upn, objectID string, at time.Time) error {
	password := secret.NewPassword()
	if err := d.Seal(ctx, assignmentID, upn, password, at); err != nil {
		return err
	}
	return refusal(c.ResetPassword(ctx, objectID, password))
}

// Reissue implements target.Directory.
func (d *Directory) Reissue(ctx context.Context, t store.Target, in target.Input) error {
	c, _, _, err := d.prepare(ctx, t, in)
	if err != nil {
		return err
	}
	acct, err := d.Store.DirectoryAccount(ctx, in.UserID, in.CustomerID)
	if err != nil {
		return err
	}
	return d.resetPassword(ctx, c, in.AssignmentID, acct.Login, acct.ObjectID, time.Now())
}

// Deprovision implements target.Directory.
func (d *Directory) Deprovision(ctx context.Context, t store.Target, in target.Input) (time.Duration, error) {
	acct, err := d.Store.DirectoryAccount(ctx, in.UserID, in.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil // nothing was made
	} else if err != nil {
		return 0, err
	}
	c, group, _, err := d.prepare(ctx, t, in)
	if err != nil {
		return 0, err
	}
	if err := c.RemoveMember(ctx, group, acct.ObjectID); err != nil {
		return 0, refusal(err)
	}
	others, err := d.Store.DirectoryGrantsInForce(ctx, in.CustomerID, in.UserID, in.AssignmentID, time.Now())
	if err != nil {
		return 0, err
	}
	if others == 0 && acct.Enabled {
		// An account the customer deleted has nothing left to disable.
		if err := c.SetEnabled(ctx, acct.ObjectID, false); err != nil && !errors.Is(err, graph.ErrNotFound) {
			return 0, refusal(err)
		}
		acct.Enabled, acct.UpdatedAt = false, time.Now()
		if err := d.Store.SaveDirectoryAccount(ctx, acct); err != nil {
			return 0, err
		}
	}
	if err := c.RevokeSessions(ctx, acct.ObjectID); err != nil && !errors.Is(err, graph.ErrNotFound) {
		return 0, refusal(err)
	}
	return d.prove(ctx, c, group, acct.ObjectID)
}

// Drift implements target.Directory.
func (d *Directory) Drift(ctx context.Context, t store.Target, customerID string, now time.Time) ([]target.DriftRepair, error) {
	return membership.Repair(ctx, d.Store, groups{d.client(t)}, t.TenantID, customerID, now)
}

// prove reads the group back until the account is gone (Graph is
// eventually consistent), for at most ProofWithin.
func (d *Directory) prove(ctx context.Context, c *graph.Client, group, objectID string) (time.Duration, error) {
	return membership.Prove(ctx, groups{c}, group, objectID, d.ProofWithin)
}

// groups are a tenant's groups, for internal/membership; refusals keep
// what they say about permissions.
type groups struct{ c *graph.Client }

func (g groups) Members(ctx context.Context, group string) ([]string, error) {
	ms, err := g.c.Members(ctx, group)
	if err != nil {
		return nil, refusal(err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids, nil
}

func (g groups) Add(ctx context.Context, group, id string) error {
	return refusal(g.c.AddMember(ctx, group, id))
}

func (g groups) Remove(ctx context.Context, group, id string) error {
	return refusal(g.c.RemoveMember(ctx, group, id))
}

// prepare is the tenant's client, the site's access group and the UPN.
func (d *Directory) prepare(ctx context.Context, t store.Target, in target.Input) (*graph.Client, string, string, error) {
	group, err := d.AccessGroup(ctx, in.SiteID)
	if err != nil {
		return nil, "", "", err
	}
	upn := UPN(in.UserID, in.PartnerID, t.UserDomain)
	if local, _, _ := strings.Cut(upn, "@"); !upnLocal.MatchString(local) {
		return nil, "", "", target.Permanent(fmt.Sprintf("%q cannot be the name of an Entra account", local))
	}
	return d.client(t), group, upn, nil
}

// client is the tenant's Graph client, made once: it caches its token.
func (d *Directory) client(t store.Target) *graph.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := t.TenantID + "/" + t.ClientID + "/" + t.SecretEnv + "/" + t.SecretFile
	if c := d.clients[key]; c != nil {
		return c
	}
	if d.clients == nil {
		d.clients = map[string]*graph.Client{}
	}
	read := d.Secret
	if read == nil {
		read = ReadSecret
	}
	c := graph.New(graph.Config{LoginURL: d.LoginURL, GraphURL: d.GraphURL, TenantID: t.TenantID, ClientID: t.ClientID,
		Secret: func() (string, error) { return read(t) }, HTTPClient: d.HTTPClient})
	d.clients[key] = c
	return c
}

// ReadSecret reads a target's client secret from the environment variable
// or the file the directory file names. Its errors name the source, never
// the value.
func ReadSecret(t store.Target) (string, error) {
	v, err := secret.ReadNamed(t.SecretEnv, t.SecretFile, "the client secret", "the worker")
	if err != nil {
		return "", target.Permanent(err.Error())
	}
	return v, nil
}
