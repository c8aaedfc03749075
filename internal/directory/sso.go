package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/sso"
	"github.com/partneraccess/partneraccess/internal/store"
)

// SSO names an organization's own OpenID Connect provider (Entra ID or
// another), where its users sign in. The client secret is never in the
// file: ClientSecretEnv or ClientSecretFile names where the server reads
// it. LocalPasswords is "allowed" (the default) or "disabled". Domains are
// the organization's email domains: every address of them is sent to the
// provider, known here or not, so the login page tells nobody whether an
// account exists; a domain is one organization's.
type SSO struct {
	Issuer           string   `yaml:"issuer"`
	ClientID         string   `yaml:"client_id"`
	ClientSecretEnv  string   `yaml:"client_secret_env"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	LocalPasswords   string   `yaml:"local_passwords"`
	Domains          []string `yaml:"domains"`
}

// domains are the block's domains as the store keeps them.
func (s *SSO) domains() []string {
	ds := make([]string, len(s.Domains))
	for i, d := range s.Domains {
		ds[i] = strings.ToLower(strings.TrimSpace(d))
	}
	return ds
}

// sso checks an organization's sso block on its own.
func (c *checker) sso(path string, s *SSO) {
	if s == nil {
		return
	}
	switch {
	case s.Issuer == "":
		c.bad(path+".issuer", "is required: the provider's issuer URL (for Entra ID, https://login.microsoftonline.com/<tenant-id>/v2.0)")
	default:
		if err := sso.CheckIssuer(s.Issuer, ""); err != nil {
			c.bad(path+".issuer", "%v", err)
		}
	}
	if strings.TrimSpace(s.ClientID) == "" {
		c.bad(path+".client_id", "is required: the client (application) ID of this service's registration at the provider")
	}
	c.secretSource(path, "server", s.ClientSecretEnv, s.ClientSecretFile)
	switch s.LocalPasswords {
	case "", store.LocalPasswordsAllowed, store.LocalPasswordsDisabled:
	default:
		c.bad(path+".local_passwords", "%q must be %s or %s", s.LocalPasswords, store.LocalPasswordsAllowed, store.LocalPasswordsDisabled)
	}
	if len(s.Domains) == 0 {
		c.bad(path+".domains", "is required: the organization's email domains, e.g. [contoso.com]; every address of them signs in through this provider")
	}
	for i, d := range s.domains() {
		dp := fmt.Sprintf("%s.domains[%d]", path, i)
		switch {
		case d == "":
			c.bad(dp, "is empty: give an email domain, e.g. contoso.com")
		case len(d) > 253 || !dnsName.MatchString(d):
			c.bad(dp, "%q is not a domain name: the part of an email address after @, e.g. contoso.com", s.Domains[i])
		case c.seen["sso domain "+d] != "":
			first := c.seen["sso domain "+d]
			c.bad(dp, "%q is already given at %s (line %d): a domain's addresses sign in through one organization's provider, so it is listed once", d, first, c.f.line(first))
		default:
			c.seen["sso domain "+d] = dp
		}
	}
}

// ssoOwners checks the file's sign-in domains against those the store
// gives to organizations: a domain may move from an organization only if
// the file lists that organization too (and so gives the domain up). It
// returns the domains that move, by the organization ("partner:id") that
// takes them.
func (f *File) ssoOwners(ctx context.Context, st Reader, c *checker) (map[string][]string, error) {
	owned, err := st.SSODomains(ctx)
	if err != nil {
		return nil, err
	}
	inFile := map[string]bool{}
	type block struct {
		path, org string
		sso       *SSO
	}
	var blocks []block
	for i, p := range f.Partners {
		pp := fmt.Sprintf("partners[%d]", i)
		inFile[store.KindPartner+":"+p.ID] = true
		blocks = append(blocks, block{pp + ".sso", store.KindPartner + ":" + p.ID, p.SSO})
		for j, cu := range p.Customers {
			inFile[store.KindCustomer+":"+cu.ID] = true
			blocks = append(blocks, block{fmt.Sprintf("%s.customers[%d].sso", pp, j), store.KindCustomer + ":" + cu.ID, cu.SSO})
		}
	}
	owner := map[string]string{}
	for _, d := range owned {
		owner[d.Domain] = d.OrgKind + ":" + d.OrgID
	}
	moves := map[string][]string{}
	for _, b := range blocks {
		if b.sso == nil {
			continue
		}
		for i, d := range b.sso.domains() {
			o, ok := owner[d]
			switch {
			case !ok || o == b.org:
			case !inFile[o]:
				kind, id, _ := strings.Cut(o, ":")
				c.bad(fmt.Sprintf("%s.domains[%d]", b.path, i), "%q is the sign-in domain of %s %q, which this file does not list: a domain's addresses sign in through one organization's provider; take it out of that organization's sso.domains first", d, kind, id)
			default:
				moves[b.org] = append(moves[b.org], d)
			}
		}
	}
	return moves, nil
}

// discover reads the discovery document of every sso block's issuer:
// a provider that cannot be reached, or that names another issuer, is a
// problem before anything is written.
func (f *File) discover(ctx context.Context, discover func(context.Context, string) error) Problems {
	c := &checker{f: f}
	done := map[string]error{}
	check := func(path string, s *SSO) {
		if s == nil {
			return
		}
		err, ok := done[s.Issuer]
		if !ok {
			err = discover(ctx, s.Issuer)
			done[s.Issuer] = err
		}
		if err != nil {
			c.bad(path+".issuer", "%v", err)
		}
	}
	for i, p := range f.Partners {
		pp := fmt.Sprintf("partners[%d]", i)
		check(pp+".sso", p.SSO)
		for j, cu := range p.Customers {
			check(fmt.Sprintf("%s.customers[%d].sso", pp, j), cu.SSO)
		}
	}
	return c.problems
}

// sso plans an organization's sign-in provider: set, changed or removed.
// take are the domains it takes from other organizations of the file,
// released first so that the order of the file does not matter.
func (pl *plan) sso(ctx context.Context, st Reader, kind, orgID string, s *SSO, take []string, partnerID, customerID string) error {
	old, err := st.SSOProviderOf(ctx, kind, orgID)
	had := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var want *store.SSOProvider
	if s != nil {
		local := s.LocalPasswords
		if local == "" {
			local = store.LocalPasswordsAllowed
		}
		want = &store.SSOProvider{OrgKind: kind, OrgID: orgID, Issuer: strings.TrimSpace(s.Issuer), ClientID: strings.TrimSpace(s.ClientID),
			SecretEnv: s.ClientSecretEnv, SecretFile: s.ClientSecretFile, LocalPasswords: local, Domains: s.domains()}
	}
	switch {
	case want == nil && !had:
		return nil
	case want != nil && had && sameProvider(*want, old):
		pl.keep(kindSSO)
		return nil
	}
	pl.add(func(ctx context.Context, a *applier) error {
		action, detail := domain.ActionOrgSSORemoved, "users sign in with passwords held here"
		if want != nil {
			action, detail = domain.ActionOrgSSOSet, fmt.Sprintf("issuer %s, client %s, secret from %s, local passwords %s, domains %s",
				want.Issuer, want.ClientID, secretSource(store.Target{SecretEnv: want.SecretEnv, SecretFile: want.SecretFile}), want.LocalPasswords,
				strings.Join(want.Domains, ", "))
		}
		if err := a.st.ReleaseSSODomains(ctx, take); err != nil {
			return err
		}
		if err := a.st.SetSSOProvider(ctx, kind, orgID, want); err != nil {
			return err
		}
		if had {
			a.report.SSO.Updated++
		} else {
			a.report.SSO.Created++
		}
		return a.audit(ctx, action, partnerID, customerID, "", kind+" "+orgID+": "+detail)
	})
	return nil
}

// sameProvider: a and b differ in nothing the file sets.
func sameProvider(a, b store.SSOProvider) bool {
	return a.Issuer == b.Issuer && a.ClientID == b.ClientID && a.SecretEnv == b.SecretEnv && a.SecretFile == b.SecretFile &&
		a.LocalPasswords == b.LocalPasswords && slices.Equal(slices.Sorted(slices.Values(a.Domains)), slices.Sorted(slices.Values(b.Domains)))
}
