// Package entra enforces access in a customer's Microsoft Entra ID tenant
// (the `entra` target): one member account per partner user in the tenant,
// made at its first activation, and membership of the site's access group,
// which the customer assigned once to its Azure Virtual Desktop application
// group. It talks to Microsoft Graph through internal/graph, and never
// deletes a user: an account whose access ended is disabled.
package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/partneraccess/partneraccess/internal/avd"
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

	// ARMURL is Azure Resource Manager's endpoint for the customers' AVD
	// host pools (ARM_URL); empty: Microsoft's public cloud.
	ARMURL string
	// Pace paces the writes to each tenant, shared by every activity of the
	// worker (GRAPH_WRITES_PER_SECOND); nil: graph.DefaultWritesPerSecond.
	Pace *graph.Pace

	mu      sync.Mutex
	clients map[string]*graph.Client // by tenant and client ID
	pools   map[string]*avd.Client   // by tenant, client ID and pools
}

var _ target.Directory = (*Directory)(nil)

// UPN is the sign-in name of a partner user's account in a tenant:
// <user-id>.<partner-id>@<user_domain>, the same on every retry.
func UPN(userID, partnerID, domain string) string {
	return userID + "." + partnerID + "@" + domain
}

// upnLocal is what Entra accepts before the @ of a UPN (at most 64).
var upnLocal = regexp.MustCompile(`^[A-Za-z0-9'._!#^~-]{1,64}$`)

// Provision implements target.Directory. Each write is recorded once it
// is answered (target.Steps): a retried activation neither makes the
// account again nor resets its password again nor adds it again.
func (d *Directory) Provision(ctx context.Context, t store.Target, in target.Input) (target.ProvisionResult, error) {
	c, group, upn, err := d.prepare(ctx, t, in)
	if err != nil {
		return target.ProvisionResult{}, err
	}
	steps, err := d.Steps(ctx, in.AssignmentID, store.PhaseActivate)
	if err != nil {
		return target.ProvisionResult{}, err
	}
	res := target.ProvisionResult{Login: upn}
	var acct accountStep
	if detail, done := steps.Done(target.StepAccount); done {
		if err := json.Unmarshal([]byte(detail), &acct); err != nil {
			return res, fmt.Errorf("the recorded account step of %s: %w", in.AssignmentID, err)
		}
	} else if acct, err = d.account(ctx, c, steps, t, in, upn); err != nil {
		return res, err
	}
	res.Created, res.Credential = acct.Created, acct.Credential
	if _, done := steps.Done(target.StepMembership); done {
		return res, nil
	}
	if err := c.AddMember(ctx, group, acct.ObjectID); err != nil {
		if errors.Is(err, graph.ErrNotFound) && acct.Created {
			return res, lag("the new account is not visible to its group yet")
		}
		return res, refusal(err)
	}
	return res, steps.Mark(ctx, target.StepMembership, "")
}

// accountStep is what activation recorded of the account.
type accountStep struct {
	ObjectID   string `json:"object_id"`
	Created    bool   `json:"created"`
	Credential bool   `json:"credential"`
}

// account finds or makes the partner user's account, enabled, with a fresh
// password when it is new or the access is Professional, and records it
// in the store and as the step done.
func (d *Directory) account(ctx context.Context, c *graph.Client, steps *target.Steps, t store.Target, in target.Input, upn string) (accountStep, error) {
	var acct accountStep
	_, sent := steps.Done(target.StepCreate)
	u, err := c.UserByUPN(ctx, upn)
	switch {
	case errors.Is(err, graph.ErrNotFound):
		if u, err = d.create(ctx, c, steps, in, upn); err != nil {
			return acct, err
		}
		acct.Created, acct.Credential = true, true
	case err != nil:
		return acct, refusal(err)
	case sent:
		// An earlier attempt's create was made, its answer lost: the
		// account is new, with the password sealed before it.
		acct.Created, acct.Credential = true, true
	default:
		if !u.AccountEnabled {
			if err := c.SetEnabled(ctx, u.ID, true); err != nil {
				return acct, refusal(err)
			}
		}
		if in.Edition == "professional" { // a fresh password at every activation (R5)
			if err := d.resetPassword(ctx, c, in.AssignmentID, upn, u.ID, in.At); err != nil {
				return acct, err
			}
			acct.Credential = true
		}
	}
	acct.ObjectID = u.ID
	if err := d.Store.SaveDirectoryAccount(ctx, store.DirectoryAccount{UserID: in.UserID, CustomerID: in.CustomerID,
		Kind: store.TargetEntra, TenantID: t.TenantID, ObjectID: u.ID, Login: upn, Enabled: true, CreatedAt: in.At, UpdatedAt: time.Now()}); err != nil {
		return acct, err
	}
	detail, _ := json.Marshal(acct)
	return acct, steps.Mark(ctx, target.StepAccount, string(detail))
}

// create makes the account with a temporary password that must be changed
// at its first sign-in, sealed in the store first: whatever the directory
// ends up holding, a retry seals and sets a new one.
func (d *Directory) create(ctx context.Context, c *graph.Client, steps *target.Steps, in target.Input, upn string) (graph.User, error) {
	password := secret.NewPassword()
	if err := d.Seal(ctx, in.AssignmentID, upn, password, in.At); err != nil {
		return graph.User{}, err
	}
	if err := steps.Mark(ctx, target.StepCreate, ""); err != nil {
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

// Deprovision implements target.Directory. Each step is recorded once it
// is answered (target.Steps), and a retry resumes after the last: no
// removal, disable or revocation of sessions is sent twice.
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
	steps, err := d.Steps(ctx, in.AssignmentID, store.PhaseRevoke)
	if err != nil {
		return 0, err
	}
	if detail, done := steps.Done(target.StepProof); done {
		took, _ := time.ParseDuration(detail)
		return took, nil
	}
	for _, step := range []struct {
		name string
		do   func() error
	}{
		{target.StepMembership, func() error { return refusal(c.RemoveMember(ctx, group, acct.ObjectID)) }},
		{target.StepAccount, func() error { return d.disable(ctx, c, in, acct) }},
		{target.StepSessions, func() error {
			if err := c.RevokeSessions(ctx, acct.ObjectID); err != nil && !errors.Is(err, graph.ErrNotFound) {
				return refusal(err)
			}
			return nil
		}},
		{target.StepDesktops, func() error { return d.logOff(ctx, t, acct.Login, steps) }},
	} {
		if _, done := steps.Done(step.name); done || (step.name == target.StepDesktops && t.AVDHostPools == "") {
			continue
		}
		if err := step.do(); err != nil {
			return 0, err
		}
		if _, done := steps.Done(step.name); done {
			continue // the step recorded itself, with what it did
		}
		if err := steps.Mark(ctx, step.name, ""); err != nil {
			return 0, err
		}
	}
	took, err := d.prove(ctx, c, group, acct.ObjectID)
	if err != nil {
		return 0, err
	}
	return took, steps.Mark(ctx, target.StepProof, took.String())
}

// logOff logs off the account's sessions in the customer's AVD host pools,
// then lists them again until none is left (a user may reconnect while
// the membership's removal spreads), for at most ProofWithin. The step
// records how many it ended and how long it took. Only for a customer
// naming its pools.
func (d *Directory) logOff(ctx context.Context, t store.Target, upn string, steps *target.Steps) error {
	c, err := d.desktops(t)
	if err != nil {
		return err
	}
	within := d.ProofWithin
	if within <= 0 {
		within = 30 * time.Second
	}
	start, wait, ended := time.Now(), 100*time.Millisecond, 0
	// began is the first attempt's start, and ended counts its logoffs
	// too: what the proof reports, however often the step was retried.
	began := start
	if d, ok := steps.Done(target.StepDesktopsEnded); ok {
		var n int
		var since string
		if _, err := fmt.Sscanf(d, "%d since %s", &n, &since); err == nil {
			if at, err := time.Parse(time.RFC3339Nano, since); err == nil {
				began, ended = at, n
			}
		}
	}
	for {
		open, err := c.Sessions(ctx, upn)
		if err != nil {
			return desktopRefusal(err)
		}
		if len(open) == 0 {
			took := time.Since(began)
			return steps.Mark(ctx, target.StepDesktops, fmt.Sprintf("%d desktop session(s) logged off, none left after %s", ended, took.Round(time.Millisecond)))
		}
		if time.Since(start) > within {
			return &target.Error{Msg: fmt.Sprintf("%d desktop session(s) of %s still open after %s", len(open), upn, within)}
		}
		for _, s := range open {
			if err := c.LogOff(ctx, s); err != nil {
				return desktopRefusal(err)
			}
			ended++
			if err := steps.Mark(ctx, target.StepDesktopsEnded, fmt.Sprintf("%d since %s", ended, began.UTC().Format(time.RFC3339Nano))); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// WarnDesktops implements activities.Desktops: title and body shown in each
// of the account's open sessions on the customer's host pools.
func (d *Directory) WarnDesktops(ctx context.Context, t store.Target, in target.Input, title, body string) (int, error) {
	acct, err := d.Store.DirectoryAccount(ctx, in.UserID, in.CustomerID)
	if errors.Is(err, store.ErrNotFound) || t.AVDHostPools == "" {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	c, err := d.desktops(t)
	if err != nil {
		return 0, err
	}
	open, err := c.Sessions(ctx, acct.Login)
	if err != nil {
		return 0, desktopRefusal(err)
	}
	for _, s := range open {
		if err := c.Message(ctx, s, title, body); err != nil {
			return 0, desktopRefusal(err)
		}
	}
	return len(open), nil
}

// desktops is the client of the customer's host pools, made once.
func (d *Directory) desktops(t store.Target) (*avd.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := t.TenantID + "/" + t.ClientID + "/" + t.SecretEnv + "/" + t.SecretFile + "/" + t.AVDSubscription + "/" + t.AVDResourceGroup + "/" + t.AVDHostPools
	if c := d.pools[key]; c != nil {
		return c, nil
	}
	read := d.Secret
	if read == nil {
		read = ReadSecret
	}
	c, err := avd.New(avd.Config{ARMURL: d.ARMURL, LoginURL: d.LoginURL, TenantID: t.TenantID, ClientID: t.ClientID,
		Secret: func() (string, error) { return read(t) }, HTTPClient: d.HTTPClient,
		Subscription: t.AVDSubscription, ResourceGroup: t.AVDResourceGroup, HostPools: t.HostPools()})
	if err != nil {
		return nil, target.Permanent(err.Error())
	}
	if d.pools == nil {
		d.pools = map[string]*avd.Client{}
	}
	d.pools[key] = c
	return c, nil
}

// desktopRefusal maps an AVD error as refusal maps Graph's: a 403 is
// permanent and names the role.
func desktopRefusal(err error) error {
	switch {
	case avd.Denied(err):
		return &target.Error{Msg: err.Error(), Permanent: true, Err: err}
	case avd.Retryable(err):
		return &target.Error{Msg: err.Error(), RetryAfter: time.Second, Err: err}
	}
	return err
}

// disable disables the account when no other grant in force needs it.
func (d *Directory) disable(ctx context.Context, c *graph.Client, in target.Input, acct store.DirectoryAccount) error {
	others, err := d.Store.DirectoryGrantsInForce(ctx, in.CustomerID, in.UserID, in.AssignmentID, time.Now())
	if err != nil || others > 0 || !acct.Enabled {
		return err
	}
	// An account the customer deleted has nothing left to disable.
	if err := c.SetEnabled(ctx, acct.ObjectID, false); err != nil && !errors.Is(err, graph.ErrNotFound) {
		return refusal(err)
	}
	acct.Enabled, acct.UpdatedAt = false, time.Now()
	return d.Store.SaveDirectoryAccount(ctx, acct)
}

// Drift implements target.Directory. With AVD host pools, it also logs
// off the desktop sessions of this product's accounts that hold no grant
// in force on any of the customer's sites.
func (d *Directory) Drift(ctx context.Context, t store.Target, customerID string, now time.Time) ([]target.DriftRepair, error) {
	repairs, err := membership.Repair(ctx, d.Store, groups{d.client(t)}, t.TenantID, customerID, now)
	if err != nil || t.AVDHostPools == "" {
		return repairs, err
	}
	ended, err := d.strays(ctx, t, customerID, now)
	return append(repairs, ended...), err
}

// strays logs off the sessions, in the customer's pools, of this product's
// accounts that hold no grant in force and have no assignment in flight
// (an activation or a revocation settles those).
func (d *Directory) strays(ctx context.Context, t store.Target, customerID string, now time.Time) ([]target.DriftRepair, error) {
	accounts, err := d.Store.DirectoryAccounts(ctx, customerID)
	if err != nil || len(accounts) == 0 {
		return nil, err
	}
	c, err := d.desktops(t)
	if err != nil {
		return nil, err
	}
	open, err := c.Sessions(ctx, "")
	if err != nil {
		return nil, desktopRefusal(err)
	}
	byLogin := map[string]store.DirectoryAccount{}
	for _, a := range accounts {
		if a.TenantID == t.TenantID {
			byLogin[strings.ToLower(a.Login)] = a
		}
	}
	sites, err := d.Store.SitesForCustomer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	var repairs []target.DriftRepair
	for _, s := range open {
		a, ours := byLogin[strings.ToLower(s.UPN)]
		if !ours {
			continue // the customer's own user
		}
		if n, err := d.Store.DirectoryGrantsInForce(ctx, customerID, a.UserID, "", now); err != nil || n > 0 {
			if err != nil {
				return repairs, err
			}
			continue
		}
		inFlight := false
		for _, site := range sites {
			if _, err := d.Store.OpenAssignment(ctx, site.ID, a.UserID); err == nil {
				inFlight = true
			} else if !errors.Is(err, store.ErrNotFound) {
				return repairs, err
			}
		}
		if inFlight {
			continue
		}
		if err := c.LogOff(ctx, s); err != nil {
			return repairs, desktopRefusal(err)
		}
		repairs = append(repairs, target.DriftRepair{Kind: target.DriftSessionEnded, UserID: a.UserID, Login: a.Login})
	}
	return repairs, nil
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
	if d.Pace == nil {
		d.Pace = graph.NewPace(graph.DefaultWritesPerSecond)
	}
	c := graph.New(graph.Config{LoginURL: d.LoginURL, GraphURL: d.GraphURL, TenantID: t.TenantID, ClientID: t.ClientID,
		Secret: func() (string, error) { return read(t) }, HTTPClient: d.HTTPClient, Pace: d.Pace})
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
