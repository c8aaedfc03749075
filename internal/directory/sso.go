package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partneraccess/partneraccess/internal/sso"
	"github.com/partneraccess/partneraccess/internal/store"
)

// SSO names an organization's own OpenID Connect provider (Entra ID or
// another), where its users sign in. The client secret is never in the
// file: ClientSecretEnv or ClientSecretFile names where the server reads
// it. LocalPasswords is "allowed" (the default) or "disabled".
type SSO struct {
	Issuer           string `yaml:"issuer"`
	ClientID         string `yaml:"client_id"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	LocalPasswords   string `yaml:"local_passwords"`
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
func (pl *plan) sso(ctx context.Context, st *store.Store, kind, orgID string, s *SSO, partnerID, customerID string) error {
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
			SecretEnv: s.ClientSecretEnv, SecretFile: s.ClientSecretFile, LocalPasswords: local}
	}
	switch {
	case want == nil && !had:
		return nil
	case want != nil && had && *want == old:
		pl.keep(kindSSO)
		return nil
	}
	pl.add(func(ctx context.Context, a *applier) error {
		action, detail := "org.sso_removed", "users sign in with passwords held here"
		if want != nil {
			action, detail = "org.sso_set", fmt.Sprintf("issuer %s, client %s, secret from %s, local passwords %s",
				want.Issuer, want.ClientID, secretSource(store.Target{SecretEnv: want.SecretEnv, SecretFile: want.SecretFile}), want.LocalPasswords)
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
