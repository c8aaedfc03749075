package directory

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/emailaddr"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/textcheck"
)

// MaxNameLen is the longest name of a partner, customer, site or person.
const MaxNameLen = 200

// slug is an ID: lowercase letters and digits, single hyphens inside.
var slug = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

const maxIDLen = 63

// checker collects the problems of a file.
type checker struct {
	f        *File
	problems Problems
	seen     map[string]string // "site:contoso-standard" or "email:a@b" -> its first path
}

func (c *checker) bad(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Line: c.f.line(path), Text: fmt.Sprintf(format, args...)})
}

// Check finds what is wrong with the file on its own: IDs, names, emails,
// editions, permissions, and an ID or email given twice.
func (f *File) Check() Problems {
	c := &checker{f: f, seen: map[string]string{}}
	if len(f.Partners) == 0 {
		c.bad("partners", "is required: the file lists at least one partner")
	}
	for i, p := range f.Partners {
		pp := fmt.Sprintf("partners[%d]", i)
		c.id(pp, "partner", p.ID)
		c.name(pp, p.Name)
		c.sso(pp+".sso", p.SSO)
		c.review(pp+".review", p.Review)
		c.webhooks(pp, p.Webhooks)
		c.people(pp, p.Administrators)
		for j, cu := range p.Customers {
			cp := fmt.Sprintf("%s.customers[%d]", pp, j)
			c.id(cp, "customer", cu.ID)
			c.name(cp, cu.Name)
			c.permission(cp, cu.Permission.Value)
			c.permissionUntil(cp+".permission", cu.Permission)
			c.review(cp+".review", cu.Review)
			c.entra(cp+".entra", cu.Entra)
			c.ldap(cp, cu)
			c.sso(cp+".sso", cu.SSO)
			c.slack(cp+".slack", cu.Slack)
			c.teams(cp+".teams", cu)
			c.webhooks(cp, cu.Webhooks)
			c.people(cp, cu.Administrators)
			for k, s := range cu.Sites {
				sp := fmt.Sprintf("%s.sites[%d]", cp, k)
				c.id(sp, "site", s.ID)
				c.name(sp, s.Name)
				c.edition(sp, s.Edition)
				c.accessGroup(sp+".access_group", s.AccessGroup, cu.targetKind())
			}
		}
	}
	return c.problems
}

func (c *checker) id(entry, kind, id string) {
	path := entry + ".id"
	switch {
	case id == "":
		c.bad(path, "is required")
	case len(id) > maxIDLen || !slug.MatchString(id):
		c.bad(path, "%q is not an ID: lowercase letters a-z and digits, with single hyphens inside, at most %d characters (e.g. contoso-standard)", id, maxIDLen)
	default:
		c.once(path, kind+" "+id, fmt.Sprintf("the %s ID %q", kind, id))
	}
}

// once reports a key seen before, naming where.
func (c *checker) once(path, key, what string) {
	if first, ok := c.seen[key]; ok {
		c.bad(path, "%s is already given at %s (line %d); each appears once in the file", what, first, c.f.line(first))
		return
	}
	c.seen[key] = path
}

func (c *checker) name(entry, name string) {
	path := entry + ".name"
	if r, bad := textcheck.First(name); bad {
		c.bad(path, "must be one line of plain text: %s (a control, format or separator character) is not allowed", textcheck.Describe(r))
		return
	}
	name = strings.TrimSpace(name)
	if name == "" {
		c.bad(path, "is required")
	} else if utf8.RuneCountInString(name) > MaxNameLen {
		c.bad(path, "is too long: at most %d characters", MaxNameLen)
	}
}

func (c *checker) people(entry string, people []Person) {
	for i, p := range people {
		pp := fmt.Sprintf("%s.administrators[%d]", entry, i)
		c.name(pp, p.Name)
		path := pp + ".email"
		// The invitation's own check, so that a file passes here only if
		// every write it asks for will pass too.
		addr, err := emailaddr.Check(p.Email)
		switch {
		case strings.TrimSpace(p.Email) == "":
			c.bad(path, "is required")
		case errors.Is(err, emailaddr.ErrNotAnAddress):
			c.bad(path, "%q is not an email address: write it alone, like name@example.com", p.Email)
		case err != nil:
			c.bad(path, "%s", err)
		default:
			c.once(path, "email "+strings.ToLower(addr), addr)
		}
	}
}

func (c *checker) edition(entry, edition string) {
	path := entry + ".edition"
	switch edition {
	case domain.EditionStandard, domain.EditionProfessional:
	case "":
		c.bad(path, "is required: %s or %s", domain.EditionStandard, domain.EditionProfessional)
	default:
		c.bad(path, "%q must be %s or %s", edition, domain.EditionStandard, domain.EditionProfessional)
	}
}

// guid is an Entra object or tenant ID.
var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// envName is an environment variable's name.
var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// dnsName is a domain name of at least two labels (e.g. contoso.onmicrosoft.com).
var dnsName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// secretSource checks where the process (the "worker" or the "server")
// reads a block's client secret: one variable or one absolute file.
func (c *checker) secretSource(path, process, env, file string) {
	c.namedSecret(path, secretNames{what: "client secret", field: "client_secret", process: process, itself: "secret",
		example: "CONTOSO_GRAPH_SECRET"}, env, file)
}

// secretNames are the words of one kind of secret a block names: what it
// is, its fields' stem (field_env, field_file), the process that reads it,
// and a variable's name as an example.
type secretNames struct{ what, field, process, itself, example string }

// namedSecret checks where a process reads a secret: one variable or one
// absolute file, never the secret itself.
func (c *checker) namedSecret(path string, n secretNames, env, file string) {
	switch {
	case env == "" && file == "":
		c.bad(path, "names no %[2]s: give %[3]s_env (a variable on the %[1]s) or %[3]s_file (a file on the %[1]s); the %[4]s itself never goes in this file",
			n.process, n.what, n.field, n.itself)
	case env != "" && file != "":
		c.bad(path+"."+n.field+"_file", "give %[1]s_env or %[1]s_file, not both", n.field)
	case env != "" && !envName.MatchString(env):
		c.bad(path+"."+n.field+"_env", "%q is not an environment variable's name: capital letters, digits and _ (e.g. %s)", env, n.example)
	case file != "" && !filepath.IsAbs(file):
		c.bad(path+"."+n.field+"_file", "%q must be an absolute path on the %s", file, n.process)
	}
}

// entra checks a customer's entra block: the tenant and app registration
// by their IDs, one place to read the secret from, and the accounts' domain.
func (c *checker) entra(path string, e *Entra) {
	if e == nil {
		return
	}
	for _, f := range []struct{ name, value string }{{"tenant_id", e.TenantID}, {"client_id", e.ClientID}} {
		switch {
		case f.value == "":
			c.bad(path+"."+f.name, "is required: the ID (a GUID) from the customer's Entra admin center")
		case !guid.MatchString(f.value):
			c.bad(path+"."+f.name, "%q is not an Entra ID: a GUID like 6f1c0000-0000-0000-0000-000000000001", f.value)
		}
	}
	c.secretSource(path, "worker", e.ClientSecretEnv, e.ClientSecretFile)
	switch d := strings.ToLower(e.UserDomain); {
	case d == "":
		c.bad(path+".user_domain", "is required: the domain of the partner accounts' sign-in names, e.g. contoso.onmicrosoft.com")
	case len(d) > 253 || !dnsName.MatchString(d):
		c.bad(path+".user_domain", "%q is not a domain name like contoso.onmicrosoft.com", e.UserDomain)
	}
	c.avd(path+".avd", e.AVD)
}

// armName is what Azure accepts as a resource group's or host pool's name.
var armName = regexp.MustCompile(`^[A-Za-z0-9_.()-]{1,90}$`)

// avd checks an entra block's avd block: the subscription by its ID, the
// resource group and at least one host pool by their names, each once.
func (c *checker) avd(path string, a *AVD) {
	if a == nil {
		return
	}
	switch {
	case a.SubscriptionID == "":
		c.bad(path+".subscription_id", "is required: the ID (a GUID) of the subscription that holds the host pools")
	case !guid.MatchString(a.SubscriptionID):
		c.bad(path+".subscription_id", "%q is not a subscription ID: a GUID like 9a1c0000-0000-0000-0000-000000000001", a.SubscriptionID)
	}
	switch {
	case a.ResourceGroup == "":
		c.bad(path+".resource_group", "is required: the resource group of the host pools")
	case !armName.MatchString(a.ResourceGroup) || strings.HasSuffix(a.ResourceGroup, "."):
		c.bad(path+".resource_group", "%q is not a resource group's name (letters, digits, _ . ( ) -, at most 90)", a.ResourceGroup)
	}
	if len(a.HostPools) == 0 {
		c.bad(path+".host_pools", "is required: the names of the host pools whose sessions are logged off when access ends")
	}
	seen := map[string]bool{}
	for i, p := range a.HostPools {
		at := fmt.Sprintf("%s.host_pools[%d]", path, i)
		switch {
		case !armName.MatchString(p) || strings.ContainsAny(p, "()") || strings.HasSuffix(p, "."):
			c.bad(at, "%q is not a host pool's name (letters, digits, _ . -, at most 90)", p)
		case seen[strings.ToLower(p)]:
			c.bad(at, "%q is named twice", p)
		}
		seen[strings.ToLower(p)] = true
	}
}

// accessGroup checks a site's group: required, a GUID, with an entra
// block on its customer; refused without one.
func (c *checker) accessGroup(path, group, kind string) {
	switch {
	case kind == store.TargetGateway && group != "":
		c.bad(path, "needs an entra: or ldap: block on its customer: without one, access is the gateway's rows alone")
	case kind == store.TargetEntra && group == "":
		c.bad(path, "is required when the customer has an entra: block: the object ID of the security group assigned to the site's Azure Virtual Desktop application group")
	case kind == store.TargetEntra && !guid.MatchString(group):
		c.bad(path, "%q is not a group's object ID: a GUID like 3b7f0000-0000-0000-0000-000000000003", group)
	case kind == store.TargetLDAP && group == "":
		c.bad(path, "is required when the customer has an ldap: block: the DN of the site's group, e.g. cn=sage200,ou=groups,dc=litware,dc=test")
	case kind == store.TargetLDAP && !isDN(group):
		c.bad(path, "%q is not a group's DN, e.g. cn=sage200,ou=groups,dc=litware,dc=test", group)
	}
}

// PermissionGranted is the one value of a customer's permission here.
const PermissionGranted = "granted"

func (c *checker) permission(entry, permission string) {
	path := entry + ".permission"
	switch permission {
	case "", PermissionGranted:
	case "withdrawn":
		c.bad(path, "cannot be withdrawn here: withdrawing ends the partner's open assignments, and the customer does it "+
			"(an administrator of the customer, from its site's page or with DELETE /api/v1/customers/{customer}/partner-permission); "+
			"leave permission out to keep it as it is")
	default:
		c.bad(path, "%q must be %s, or left out to keep the permission as it is", permission, PermissionGranted)
	}
}

// against checks the file against the store: a customer stays under its
// partner, a site under its customer and with its edition, and an email
// belongs to one organization. It returns the plan of what to write.
func (f *File) against(ctx context.Context, st Reader, resend bool, limits policy.Limits) (*plan, Problems, error) {
	c := &checker{f: f}
	pl := &plan{}
	moves, err := f.ssoOwners(ctx, st, c)
	if err != nil {
		return nil, nil, err
	}
	for i, p := range f.Partners {
		pp := fmt.Sprintf("partners[%d]", i)
		old, err := st.PartnerByID(ctx, p.ID)
		if err := pl.org(kindPartner, p.ID, strings.TrimSpace(p.Name), old.Name, err); err != nil {
			return nil, nil, err
		}
		if err := c.admins(ctx, st, pl, pp, store.KindPartner, p.ID, p.Administrators, resend); err != nil {
			return nil, nil, err
		}
		if err := pl.sso(ctx, st, store.KindPartner, p.ID, p.SSO, moves[store.KindPartner+":"+p.ID], p.ID, ""); err != nil {
			return nil, nil, err
		}
		pl.reviewSettings(p.ID, p.Review)
		if err := pl.webhooks(ctx, st, store.KindPartner, p.ID, p.Webhooks, p.ID, ""); err != nil {
			return nil, nil, err
		}
		if limits.PartnerUsers, err = partnerUserIDs(ctx, st, p.ID); err != nil {
			return nil, nil, err
		}
		for j, cu := range p.Customers {
			cp := fmt.Sprintf("%s.customers[%d]", pp, j)
			old, err := st.CustomerByID(ctx, cu.ID)
			if err == nil && old.PartnerID != p.ID {
				c.bad(cp+".id", "customer %q is already under partner %q; a customer stays under its partner: list it there", cu.ID, old.PartnerID)
				continue
			}
			if err := pl.org(kindCustomer, cu.ID, strings.TrimSpace(cu.Name), old.Name, err); err != nil {
				return nil, nil, err
			}
			exists := err == nil
			pl.customerOf[cu.ID] = p.ID
			pl.reviewSettings(cu.ID, cu.Review)
			if cu.Permission.GrantedUntil != "" {
				if err := c.permissionUntilPlan(ctx, st, pl, cp+".permission", cu.ID, p.ID, cu.Permission, exists); err != nil {
					return nil, nil, err
				}
			} else if cu.Permission.Value == PermissionGranted {
				granted := false
				if exists {
					if granted, err = st.PartnerPermitted(ctx, cu.ID, p.ID); err != nil {
						return nil, nil, err
					}
				}
				pl.permission(cu.ID, p.ID, granted)
			}
			if err := c.admins(ctx, st, pl, cp, store.KindCustomer, cu.ID, cu.Administrators, resend); err != nil {
				return nil, nil, err
			}
			if err := pl.sso(ctx, st, store.KindCustomer, cu.ID, cu.SSO, moves[store.KindCustomer+":"+cu.ID], p.ID, cu.ID); err != nil {
				return nil, nil, err
			}
			if err := c.slackAgainst(ctx, st, pl, cp+".slack", cu.Slack, cu.ID, p.ID); err != nil {
				return nil, nil, err
			}
			if err := pl.webhooks(ctx, st, store.KindCustomer, cu.ID, cu.Webhooks, "", cu.ID); err != nil {
				return nil, nil, err
			}
			var holds map[string]store.Holds // what holds access in force, per site
			if exists {
				if holds, err = st.AccessHolds(ctx, cu.ID); err != nil {
					return nil, nil, err
				}
			}
			if err := c.target(ctx, st, pl, cp, cu, p.ID, exists, holds); err != nil {
				return nil, nil, err
			}
			if err := c.teamsTenant(ctx, st, pl, cp+".teams", cu, p.ID, exists); err != nil {
				return nil, nil, err
			}
			inForce, err := c.policy(pl, cp, cu.Policy, old.Policy, limits, store.KindCustomer, cu.ID, cu.ID, p.ID)
			if err != nil {
				return nil, nil, err
			}
			siteLimits := limits
			siteLimits.Inherited = inForce
			for k, s := range cu.Sites {
				sp := fmt.Sprintf("%s.sites[%d]", cp, k)
				old, err := st.SiteByID(ctx, s.ID)
				switch {
				case err == nil && old.CustomerID != cu.ID:
					c.bad(sp+".id", "site %q already belongs to customer %q; a site stays with its customer: give this one a new id", s.ID, old.CustomerID)
				case err == nil && old.Edition != s.Edition:
					c.bad(sp+".edition", "site %q is %s; an edition does not change: add a new site with a new id for %s", s.ID, old.Edition, s.Edition)
				default:
					if err := pl.site(s, cu.ID, p.ID, old.Name, err); err != nil {
						return nil, nil, err
					}
					c.siteGroup(pl, sp, s, old, err == nil, holds[s.ID], cu.ID, p.ID)
					if _, err := c.policy(pl, sp, s.Policy, old.Policy, siteLimits, kindSite, s.ID, cu.ID, p.ID); err != nil {
						return nil, nil, err
					}
				}
			}
		}
	}
	return pl, c.problems, nil
}

// admins checks the administrators of one organization against the store.
func (c *checker) admins(ctx context.Context, st Reader, pl *plan, entry, kind, orgID string, people []Person, resend bool) error {
	for i, p := range people {
		path := fmt.Sprintf("%s.administrators[%d].email", entry, i)
		u, err := st.UserByEmail(ctx, p.Email)
		switch {
		case errors.Is(err, store.ErrNotFound):
			pl.invite(kind, orgID, strings.TrimSpace(p.Email), strings.TrimSpace(p.Name))
		case err != nil:
			return err
		case u.Kind != kind || (kind == store.KindPartner && u.PartnerID != orgID) || (kind == store.KindCustomer && u.CustomerID != orgID):
			c.bad(path, "%s is already a user of %s; an email is one person in one organization", p.Email, orgName(u))
		default:
			pl.existing(u, resend)
		}
	}
	return nil
}

func orgName(u store.User) string {
	if u.Kind == store.KindPartner {
		return fmt.Sprintf("partner %q", u.PartnerID)
	}
	return fmt.Sprintf("customer %q", u.CustomerID)
}

// target checks a customer's entra block against the store and plans it.
// While an assignment of the customer holds access in its directory (open,
// or ended with the revocation still pending there), its target may not be
// removed nor moved to another tenant: the removal of that access reads the
// target when it runs, and would leave the access where it is. Adding a
// target is safe: a run that started on the gateway stays there.
func (c *checker) target(ctx context.Context, st Reader, pl *plan, entry string, cu Customer, partnerID string, exists bool, holds map[string]store.Holds) error {
	old := store.Target{Kind: store.TargetGateway}
	if exists {
		var err error
		if old, err = st.CustomerTarget(ctx, cu.ID); err != nil {
			return err
		}
	}
	var held store.Holds
	for _, h := range holds {
		held.Open += h.Open
		held.Pending += h.Pending
	}
	want := store.Target{Kind: store.TargetGateway}
	if e := cu.Entra; e != nil {
		want = store.Target{Kind: store.TargetEntra, TenantID: strings.ToLower(e.TenantID), ClientID: strings.ToLower(e.ClientID),
			SecretEnv: e.ClientSecretEnv, SecretFile: e.ClientSecretFile, UserDomain: strings.ToLower(e.UserDomain)}
		if a := e.AVD; a != nil {
			want.AVDSubscription, want.AVDResourceGroup = strings.ToLower(a.SubscriptionID), a.ResourceGroup
			want.AVDHostPools = strings.Join(a.HostPools, ",")
		}
	} else if l := cu.LDAP; l != nil {
		want = l.target()
	}
	switch {
	case want == old:
		if want.Kind != store.TargetGateway {
			pl.keep(want.Kind)
		}
		return nil
	case !held.Any() || old.Kind == store.TargetGateway:
	case want.Kind == store.TargetGateway:
		where := "its Entra tenant"
		if old.Kind == store.TargetLDAP {
			where = "its LDAP directory"
		}
		c.bad(entry+".id", "customer %q still has access in %s (%s): its %s: block stays until that access is removed", cu.ID, where, holdsText(held), old.Kind)
		return nil
	case want.Kind != old.Kind || want.TenantID != old.TenantID:
		if old.Kind == store.TargetLDAP {
			c.bad(entry+".ldap.url", "customer %q still has access in the directory at %s (%s): the directory changes once that access is removed", cu.ID, old.TenantID, holdsText(held))
		} else {
			c.bad(entry+".entra.tenant_id", "customer %q still has access in tenant %s (%s): the tenant changes once that access is removed", cu.ID, old.TenantID, holdsText(held))
		}
		return nil
	}
	pl.target(cu.ID, partnerID, want, old)
	return nil
}

// siteGroup plans a site's access group. A group does not change while an
// assignment of the site holds access in it; a site without a group may
// get one at any time.
func (c *checker) siteGroup(pl *plan, path string, s Site, old store.Site, exists bool, held store.Holds, customerID, partnerID string) {
	group := strings.ToLower(s.AccessGroup)
	switch {
	case exists && group == old.AccessGroup:
		if group != "" {
			pl.keep(kindAccessGroup)
		}
	case exists && old.AccessGroup != "" && held.Any():
		c.bad(path+".access_group", "site %q still has access in group %s (%s): the group changes once that access is removed", s.ID, old.AccessGroup, holdsText(held))
	case !exists && group == "":
	default:
		pl.accessGroup(s.ID, group, old.AccessGroup, customerID, partnerID)
	}
}

// holdsText says what holds access, e.g. "2 open assignments, 1
// revocation the directory has not let happen yet".
func holdsText(h store.Holds) string {
	var parts []string
	if h.Open > 0 {
		parts = append(parts, plural(h.Open, "open assignment", "open assignments"))
	}
	if h.Pending > 0 {
		parts = append(parts, plural(h.Pending, "revocation the directory has not let happen yet", "revocations the directory has not let happen yet"))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
