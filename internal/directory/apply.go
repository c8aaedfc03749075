package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Actor is the audit log's actor of every change directory apply makes.
const Actor = "operator"

// Inviter sends invitations through the service's one invitation path
// (service.Service does).
type Inviter interface {
	// InviteAdministrator adds an invited administrator of a partner or a
	// customer and emails the invitation. When only the email failed it
	// returns the user and the error. link is the invitation's link when
	// the email was kept in the store rather than sent.
	InviteAdministrator(ctx context.Context, kind, orgID, email, name string) (u store.User, link string, err error)
	// ResendInvitationAsOperator emails a new link to a user still invited.
	ResendInvitationAsOperator(ctx context.Context, userID string) (link string, err error)
}

// Reader is what checking a file against the store reads: the
// organizations, sites, administrators, targets and sign-in providers the
// file names, and what holds access in force.
type Reader interface {
	PartnerByID(ctx context.Context, id string) (store.Partner, error)
	CustomerByID(ctx context.Context, id string) (store.Customer, error)
	SiteByID(ctx context.Context, id string) (store.Site, error)
	PartnerPermitted(ctx context.Context, customerID, partnerID string) (bool, error)
	PermissionOf(ctx context.Context, customerID, partnerID string) (store.Permission, error)
	UserByEmail(ctx context.Context, email string) (store.User, error)
	CustomerTarget(ctx context.Context, customerID string) (store.Target, error)
	AccessHolds(ctx context.Context, customerID string) (map[string]store.Holds, error)
	PartnerUsers(ctx context.Context, partnerID string) ([]store.User, error)
	SSODomains(ctx context.Context) ([]store.SSODomain, error)
	SSOProviderOf(ctx context.Context, kind, orgID string) (store.SSOProvider, error)
	SlackWorkspaceOf(ctx context.Context, customerID string) (store.SlackWorkspace, error)
	SlackWorkspaceByTeam(ctx context.Context, teamID string) (store.SlackWorkspace, error)
	ChatWorkspace(ctx context.Context, customerID, channel string) (store.ChatWorkspace, error)
	CustomerOfWorkspace(ctx context.Context, channel, workspaceID string) (store.ChatWorkspace, error)
	Webhooks(ctx context.Context, orgKind, orgID string) ([]store.Webhook, error)
}

// Store is what Apply needs of the store (*store.Store is one): the
// check's reads and the plan's writes.
type Store interface {
	Reader
	CreatePartner(ctx context.Context, p store.Partner) error
	CreateCustomer(ctx context.Context, c store.Customer) error
	CreateSite(ctx context.Context, site store.Site) error
	RenamePartner(ctx context.Context, id, name string) error
	RenameCustomer(ctx context.Context, id, name string) error
	RenameSite(ctx context.Context, id, name string) error
	SetPartnerPermission(ctx context.Context, customerID, partnerID string, granted bool, by string, at time.Time) error
	GrantPermissionUntil(ctx context.Context, customerID, partnerID string, until time.Time, by string, at time.Time) error
	PutReviewSettings(ctx context.Context, rs store.ReviewSettings) error
	SetCustomerTarget(ctx context.Context, customerID string, t *store.Target) error
	SetSiteAccessGroup(ctx context.Context, siteID, group string) error
	SetCustomerPolicy(ctx context.Context, customerID, policy string) error
	SetSitePolicy(ctx context.Context, siteID, policy string) error
	SetSSOProvider(ctx context.Context, kind, orgID string, p *store.SSOProvider) error
	ReleaseSSODomains(ctx context.Context, domains []string) error
	SetSlackWorkspace(ctx context.Context, customerID string, w *store.SlackWorkspace) error
	SetChatWorkspace(ctx context.Context, customerID, channel, workspaceID string) error
	CreateWebhook(ctx context.Context, w store.Webhook) error
	UpdateDirectoryWebhook(ctx context.Context, w store.Webhook) error
	DeleteWebhook(ctx context.Context, id string, at time.Time) (bool, error)
	Audit(ctx context.Context, e store.AuditEntry) error
}

// Options change how a file is applied.
type Options struct {
	// Resend sends a new invitation to the file's administrators who have
	// not registered yet (their earlier link stops working).
	Resend bool
	Now    func() time.Time
	// Discover reads a sign-in provider's discovery document, to check
	// each sso block's issuer before anything is written (nil: not
	// checked).
	Discover func(ctx context.Context, issuer string) error
	// Secret reads a secret that a block names (nil: secret.ReadNamed),
	// to check that the slack blocks' secrets can be read here.
	Secret func(env, file, what string) (string, error)
	// Policy is what the file's policies are checked against (zero:
	// POLICY_MAX_DURATION's and the settings' defaults).
	Policy PolicyLimits
}

// Count is what happened to the entries of one kind.
type Count struct {
	Created, Updated, Unchanged int
}

// Report is what applying a file did.
type Report struct {
	Partners, Customers, Sites Count
	// Administrators: Created counts the invited, Updated the invitations
	// sent again (-resend).
	Administrators Count
	// Permissions: Created counts those granted now.
	Permissions Count
	// EntraTargets, LDAPTargets: the customers' entra and ldap blocks
	// (Created: added, Updated: changed or removed; a removal counts under
	// the kind removed); AccessGroups: the sites' groups.
	EntraTargets, LDAPTargets, AccessGroups Count
	// SSO: the organizations' sign-in providers (Created: added, Updated:
	// changed or removed).
	SSO Count
	// Teams: the customers' teams blocks (Created: added, Updated:
	// changed or removed).
	Teams Count
	// Policies: the customers' and sites' policies (Created: set where
	// none was, Updated: changed or removed).
	Policies Count
	// Slack: the customers' Slack workspaces (Created: added, Updated:
	// changed or removed).
	Slack Count
	// Webhooks: the organizations' webhooks (Created: added, Updated:
	// changed or removed).
	Webhooks    Count
	Invitations []Invitation
}

// Invitation is an invitation email sent (or not: Error says why).
type Invitation struct {
	Email, Name, Kind, OrgID string
	Resent                   bool
	Error                    string
	// Link is the invitation's link when the email was kept in the store's
	// mailbox instead of being sent: the operator hands it over.
	Link string
}

// Failed reports whether an invitation email could not be sent.
func (r Report) Failed() bool {
	for _, inv := range r.Invitations {
		if inv.Error != "" {
			return true
		}
	}
	return false
}

// Apply checks the file against itself and the store and, when nothing is
// wrong, creates what is missing and renames what changed. It returns
// Problems (and writes nothing) when the file is wrong.
func Apply(ctx context.Context, st Store, inv Inviter, f *File, opts Options) (Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	pl, ps, err := f.against(ctx, st, opts.Resend, opts.Policy.limits())
	if err != nil {
		return Report{}, err
	}
	ps = append(f.Check(), ps...)
	if len(ps) == 0 {
		ps = f.slackSecrets(opts.Secret)
	}
	if len(ps) == 0 && opts.Discover != nil {
		ps = f.discover(ctx, opts.Discover)
	}
	if len(ps) > 0 {
		slices.SortStableFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
		return Report{}, ps
	}
	a := applier{st: st, inv: inv, now: opts.Now}
	for _, step := range pl.steps {
		if err := step(ctx, &a); err != nil {
			return a.report, fmt.Errorf("%w (what is done above stays; apply the file again to finish)", err)
		}
	}
	a.report.Partners.Unchanged += pl.unchanged[kindPartner]
	a.report.Customers.Unchanged += pl.unchanged[kindCustomer]
	a.report.Sites.Unchanged += pl.unchanged[kindSite]
	a.report.Administrators.Unchanged += pl.unchanged[kindAdmin]
	a.report.Permissions.Unchanged += pl.unchanged[kindPermission]
	a.report.EntraTargets.Unchanged += pl.unchanged[store.TargetEntra]
	a.report.LDAPTargets.Unchanged += pl.unchanged[store.TargetLDAP]
	a.report.AccessGroups.Unchanged += pl.unchanged[kindAccessGroup]
	a.report.SSO.Unchanged += pl.unchanged[kindSSO]
	a.report.Policies.Unchanged += pl.unchanged[kindPolicy]
	a.report.Slack.Unchanged += pl.unchanged[kindSlack]
	a.report.Webhooks.Unchanged += pl.unchanged[kindWebhook]
	return a.report, nil
}

const (
	kindPartner     = "partner"
	kindCustomer    = "customer"
	kindSite        = "site"
	kindAdmin       = "administrator"
	kindPermission  = "permission"
	kindAccessGroup = "access group"
	kindSSO         = "sso"
	kindPolicy      = "policy"
	kindSlack       = "slack"
)

// plan is the writes a checked file needs, in order: an organization
// before its administrators and sites.
type plan struct {
	steps      []func(context.Context, *applier) error
	unchanged  map[string]int
	customerOf map[string]string // customer -> partner, for the audit log
}

func (pl *plan) add(step func(context.Context, *applier) error) {
	pl.steps = append(pl.steps, step)
}

func (pl *plan) keep(kind string) {
	if pl.unchanged == nil {
		pl.unchanged = map[string]int{}
	}
	pl.unchanged[kind]++
}

// org plans a partner or customer: created when lookupErr is ErrNotFound,
// renamed when oldName differs.
func (pl *plan) org(kind, id, name, oldName string, lookupErr error) error {
	if pl.customerOf == nil {
		pl.customerOf = map[string]string{}
	}
	switch {
	case errors.Is(lookupErr, store.ErrNotFound):
		pl.add(func(ctx context.Context, a *applier) error {
			return a.createOrg(ctx, kind, id, name, pl.customerOf[id])
		})
	case lookupErr != nil:
		return lookupErr
	case oldName != name:
		pl.add(func(ctx context.Context, a *applier) error {
			return a.renameOrg(ctx, kind, id, name, oldName, pl.customerOf[id])
		})
	default:
		pl.keep(kind)
	}
	return nil
}

func (pl *plan) site(s Site, customerID, partnerID, oldName string, lookupErr error) error {
	name := trim(s.Name)
	switch {
	case errors.Is(lookupErr, store.ErrNotFound):
		pl.add(func(ctx context.Context, a *applier) error {
			if err := a.st.CreateSite(ctx, store.Site{ID: s.ID, Name: name, CustomerID: customerID, Edition: s.Edition}); err != nil {
				return err
			}
			a.report.Sites.Created++
			return a.audit(ctx, domain.ActionSiteCreated, partnerID, customerID, s.ID, fmt.Sprintf("%s %q (%s)", s.ID, name, s.Edition))
		})
	case lookupErr != nil:
		return lookupErr
	case oldName != name:
		pl.add(func(ctx context.Context, a *applier) error {
			if err := a.st.RenameSite(ctx, s.ID, name); err != nil {
				return err
			}
			a.report.Sites.Updated++
			return a.audit(ctx, domain.ActionSiteRenamed, partnerID, customerID, s.ID, fmt.Sprintf("%s: %q, was %q", s.ID, name, oldName))
		})
	default:
		pl.keep(kindSite)
	}
	return nil
}

func (pl *plan) permission(customerID, partnerID string, granted bool) {
	if granted {
		pl.keep(kindPermission)
		return
	}
	pl.add(func(ctx context.Context, a *applier) error {
		if err := a.st.SetPartnerPermission(ctx, customerID, partnerID, true, Actor, a.now()); err != nil {
			return err
		}
		a.report.Permissions.Created++
		return a.audit(ctx, domain.ActionPermissionGranted, partnerID, customerID, "", "by the operator's directory file")
	})
}

// target plans a customer's access target: set, changed or removed.
func (pl *plan) target(customerID, partnerID string, want, old store.Target) {
	pl.add(func(ctx context.Context, a *applier) error {
		var t *store.Target
		action, detail := domain.ActionCustomerTargetRemoved, "access is the gateway's rows alone"
		if want.Kind != store.TargetGateway {
			t = &want
			action, detail = domain.ActionCustomerTargetSet, fmt.Sprintf("%s tenant %s, app %s, accounts @%s, secret from %s",
				want.Kind, want.TenantID, want.ClientID, want.UserDomain, secretSource(want))
		}
		if err := a.st.SetCustomerTarget(ctx, customerID, t); err != nil {
			return err
		}
		n := a.report.targets(want.Kind)
		if want.Kind == store.TargetGateway {
			n = a.report.targets(old.Kind)
		}
		if old.Kind == store.TargetGateway {
			n.Created++
		} else {
			n.Updated++
		}
		return a.audit(ctx, action, partnerID, customerID, "", detail)
	})
}

func secretSource(t store.Target) string {
	if t.SecretEnv != "" {
		return "$" + t.SecretEnv
	}
	return t.SecretFile
}

// accessGroup plans a site's group in its customer's directory.
func (pl *plan) accessGroup(siteID, group, old, customerID, partnerID string) {
	pl.add(func(ctx context.Context, a *applier) error {
		if err := a.st.SetSiteAccessGroup(ctx, siteID, group); err != nil {
			return err
		}
		if old == "" {
			a.report.AccessGroups.Created++
		} else {
			a.report.AccessGroups.Updated++
		}
		return a.audit(ctx, domain.ActionSiteAccessGroupSet, partnerID, customerID, siteID, fmt.Sprintf("%s: group %s, was %q", siteID, group, old))
	})
}

func (pl *plan) invite(kind, orgID, email, name string) {
	pl.add(func(ctx context.Context, a *applier) error {
		u, link, err := a.inv.InviteAdministrator(ctx, kind, orgID, email, name)
		if u.ID == "" && err != nil {
			return fmt.Errorf("invite %s: %w", email, err)
		}
		a.report.Administrators.Created++
		a.report.Invitations = append(a.report.Invitations, Invitation{Email: u.Email, Name: u.Name, Kind: kind, OrgID: orgID, Error: errText(err), Link: link})
		return nil
	})
}

// existing plans an administrator already in its organization: left
// alone, or invited again when resend asks and it has not registered.
func (pl *plan) existing(u store.User, resend bool) {
	if !resend || u.Status != store.StatusInvited {
		pl.keep(kindAdmin)
		return
	}
	orgID := u.PartnerID + u.CustomerID
	pl.add(func(ctx context.Context, a *applier) error {
		link, err := a.inv.ResendInvitationAsOperator(ctx, u.ID)
		a.report.Administrators.Updated++
		a.report.Invitations = append(a.report.Invitations, Invitation{Email: u.Email, Name: u.Name, Kind: u.Kind, OrgID: orgID, Resent: true,
			Error: errText(err), Link: link})
		return nil
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// applier writes a plan and counts what it did.
type applier struct {
	st     Store
	inv    Inviter
	now    func() time.Time
	report Report
}

// targets is the count of the access targets of a kind.
func (r *Report) targets(kind string) *Count {
	if kind == store.TargetLDAP {
		return &r.LDAPTargets
	}
	return &r.EntraTargets
}

func (a *applier) count(kind string) *Count {
	if kind == kindPartner {
		return &a.report.Partners
	}
	return &a.report.Customers
}

func (a *applier) createOrg(ctx context.Context, kind, id, name, partnerID string) error {
	var err error
	if kind == kindPartner {
		partnerID = id
		err = a.st.CreatePartner(ctx, store.Partner{ID: id, Name: name})
	} else {
		err = a.st.CreateCustomer(ctx, store.Customer{ID: id, Name: name, PartnerID: partnerID})
	}
	if err != nil {
		return err
	}
	a.count(kind).Created++
	action := domain.ActionCustomerCreated
	if kind == kindPartner {
		action = domain.ActionPartnerCreated
	}
	return a.audit(ctx, action, partnerID, customerID(kind, id), "", fmt.Sprintf("%s %q", id, name))
}

func (a *applier) renameOrg(ctx context.Context, kind, id, name, oldName, partnerID string) error {
	var err error
	if kind == kindPartner {
		partnerID = id
		err = a.st.RenamePartner(ctx, id, name)
	} else {
		err = a.st.RenameCustomer(ctx, id, name)
	}
	if err != nil {
		return err
	}
	a.count(kind).Updated++
	action := domain.ActionCustomerRenamed
	if kind == kindPartner {
		action = domain.ActionPartnerRenamed
	}
	return a.audit(ctx, action, partnerID, customerID(kind, id), "", fmt.Sprintf("%s: %q, was %q", id, name, oldName))
}

func customerID(kind, id string) string {
	if kind == kindCustomer {
		return id
	}
	return ""
}

func (a *applier) audit(ctx context.Context, action domain.Action, partnerID, customerID, siteID, detail string) error {
	return a.st.Audit(ctx, store.AuditEntry{At: a.now(), ActorID: Actor, Action: action, Outcome: store.OutcomeOK,
		PartnerID: partnerID, CustomerID: customerID, SiteID: siteID, Detail: detail})
}

// Write prints the report: counts per kind, then the invitations (never a
// link: the token is only in the email).
func (r Report) Write(w io.Writer) {
	row := func(what string, c Count, created, updated string) {
		fmt.Fprintf(w, "  %-15s %d %s, %d %s, %d unchanged\n", what, c.Created, created, c.Updated, updated, c.Unchanged)
	}
	row("partners", r.Partners, "created", "renamed")
	row("customers", r.Customers, "created", "renamed")
	row("sites", r.Sites, "created", "renamed")
	row("administrators", r.Administrators, "invited", "invited again")
	fmt.Fprintf(w, "  %-15s %d granted, %d already granted\n", "permissions", r.Permissions.Created, r.Permissions.Unchanged)
	row("entra targets", r.EntraTargets, "added", "changed")
	row("ldap targets", r.LDAPTargets, "added", "changed")
	row("access groups", r.AccessGroups, "added", "changed")
	row("sign-in (sso)", r.SSO, "added", "changed")
	row("policies", r.Policies, "set", "changed")
	row("slack", r.Slack, "added", "changed")
	row("webhooks", r.Webhooks, "added", "changed")
	if len(r.Invitations) == 0 {
		fmt.Fprintln(w, "No invitation sent.")
		return
	}
	fmt.Fprintln(w, "Invitations:")
	for _, inv := range r.Invitations {
		what := "sent"
		if inv.Resent {
			what = "sent again"
		}
		if inv.Link != "" { // kept in the store: the operator hands the link over
			what = "kept in the store's mailbox, not sent; give them this link: " + inv.Link
		}
		if inv.Error != "" {
			what = "NOT SENT: " + inv.Error + "; apply again with -resend to send it"
		}
		fmt.Fprintf(w, "  %s (%s), administrator of %s %s: %s\n", inv.Email, inv.Name, inv.Kind, inv.OrgID, what)
	}
}

func trim(s string) string { return strings.TrimSpace(s) }
