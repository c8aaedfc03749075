package directory_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/sso"
	"github.com/partneraccess/partneraccess/internal/store"
)

func ssoFile(partnerSSO, customerSSO string) string {
	return `partners:
  - id: northwind
    name: Northwind Partners
` + partnerSSO + `
    customers:
      - id: contoso
        name: Contoso
` + customerSSO + `
        sites:
          - {id: contoso-standard, name: Contoso Sage 200 Standard, edition: standard}
`
}

func TestSSOBlocksAreCheckedAndEveryProblemIsListed(t *testing.T) {
	bad := ssoFile(`    sso:
      issuer: https://login.microsoftonline.com/common/v2.0
      client_secret_env: lower-case
      local_passwords: sometimes`, `        sso:
          issuer: http://idp.example.com
          client_id: app
          client_secret_file: relative/path
          client_secret_env: BOTH`)
	f, err := directory.Parse([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(f.Check())
	for _, want := range []string{
		"partners[0].sso.issuer (line 5): issuer \"https://login.microsoftonline.com/common/v2.0\" is not tenant-specific",
		"partners[0].sso.client_id (line 4): is required",
		"partners[0].sso.client_secret_env (line 6): \"lower-case\" is not an environment variable's name",
		"partners[0].sso.local_passwords (line 7): \"sometimes\" must be allowed or disabled",
		"partners[0].customers[0].sso.issuer (line 12): issuer \"http://idp.example.com\" must use https",
		"partners[0].customers[0].sso.client_secret_file (line 14): give client_secret_env or client_secret_file, not both",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

// Every address of an sso block's domains signs in through its provider:
// the domains are required, are domain names, and each is one
// organization's; every problem is listed at once.
func TestSSODomainsAreCheckedAndEveryProblemIsListed(t *testing.T) {
	const block = "sso: {issuer: https://idp.example.com, client_id: app, client_secret_env: S"
	for _, tc := range []struct {
		name, partnerSSO, customerSSO string
		want                          []string
	}{
		{"without domains", "    " + block + "}", "        " + block + ", domains: []}", []string{
			"partners[0].sso.domains (line 4): is required: the organization's email domains, e.g. [contoso.com]",
			"partners[0].customers[0].sso.domains (line 8): is required",
		}},
		{"malformed", "    " + block + `, domains: ["partner.example", "not a domain", "@contoso.example", "", "localhost"]}`, "", []string{
			`partners[0].sso.domains[1] (line 4): "not a domain" is not a domain name: the part of an email address after @, e.g. contoso.com`,
			`partners[0].sso.domains[2] (line 4): "@contoso.example" is not a domain name`,
			"partners[0].sso.domains[3] (line 4): is empty",
			`partners[0].sso.domains[4] (line 4): "localhost" is not a domain name`,
		}},
		{"claimed by two organizations", "    " + block + ", domains: [partner.example, contoso.example]}", "        " + block + ", domains: [Contoso.Example]}", []string{
			`partners[0].customers[0].sso.domains[0] (line 8): "contoso.example" is already given at partners[0].sso.domains[1] (line 4): a domain's addresses sign in through one organization's provider, so it is listed once`,
		}},
		{"twice in one organization", "    " + block + ", domains: [partner.example, partner.example]}", "", []string{
			`partners[0].sso.domains[1] (line 4): "partner.example" is already given at partners[0].sso.domains[0] (line 4)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := directory.Parse([]byte(ssoFile(tc.partnerSSO, tc.customerSSO)))
			if err != nil {
				t.Fatal(err)
			}
			ps := f.Check()
			got := fmt.Sprint(ps)
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("missing %q in\n%s", want, got)
				}
			}
			if len(ps) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%s", len(ps), len(tc.want), got)
			}
		})
	}
	if _, err := directory.Parse([]byte(ssoFile("    "+block+", domains: partner.example}", ""))); err == nil ||
		!strings.Contains(err.Error(), "partners[0].sso.domains (line 4): must be a list of single values") {
		t.Fatalf("domains not a list: %v", err)
	}
}

// A domain of an organization the file does not list stays that
// organization's; between two organizations of the file it may move.
func TestSSODomainsAreCheckedAgainstTheStore(t *testing.T) {
	const tailspin = `  - id: tailspin
    name: Tailspin Partners
    sso: {issuer: https://idp.tailspin.example, client_id: app, client_secret_env: S, domains: [%s]}
`
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		contoso := func(domains string) string {
			return "        sso: {issuer: https://idp.contoso.example, client_id: app, client_secret_env: S, domains: [" + domains + "]}"
		}
		if _, err := apply(t, st, ssoFile("", contoso("contoso.example, contoso.test"))+fmt.Sprintf(tailspin, "tailspin.example"), directory.Options{}); err != nil {
			t.Fatal(err)
		}
		// A file without Contoso cannot give its domain to Tailspin.
		_, err := apply(t, st, "partners:\n"+fmt.Sprintf(tailspin, "tailspin.example, contoso.test"), directory.Options{})
		if err == nil || !strings.Contains(err.Error(), `partners[0].sso.domains[1] (line 4): "contoso.test" is the sign-in domain of customer "contoso", which this file does not list`) {
			t.Fatalf("a domain taken from an organization not in the file: %v", err)
		}
		// With Contoso giving it up in the same file, it moves, whatever the order.
		r, err := apply(t, st, ssoFile("", contoso("contoso.example"))+fmt.Sprintf(tailspin, "tailspin.example, contoso.test"), directory.Options{})
		if err != nil || r.SSO != (directory.Count{Updated: 2}) {
			t.Fatalf("moved: %+v %v", r.SSO, err)
		}
		r, err = apply(t, st, ssoFile("", contoso("contoso.example, contoso.test"))+fmt.Sprintf(tailspin, "tailspin.example"), directory.Options{})
		if err != nil || r.SSO != (directory.Count{Updated: 2}) {
			t.Fatalf("moved back, to an organization earlier in the file: %+v %v", r.SSO, err)
		}
		if p, err := st.SSOProviderByDomain(ctx, "contoso.test"); err != nil || p.OrgID != "contoso" {
			t.Fatalf("contoso.test is %+v %v, want Contoso's", p, err)
		}
	})
}

func TestSSOApplyReadsTheDiscoveryDocumentThenSetsChangesAndRemovesTheProvider(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	discover := (&sso.Client{}).Discover
	block := func(issuer, local string) string {
		return fmt.Sprintf("        sso: {issuer: %q, client_id: app-1, client_secret_env: CONTOSO_SSO_SECRET, local_passwords: %s, domains: [Contoso.example]}", issuer, local)
	}
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		// An issuer whose discovery document cannot be read: nothing written.
		_, err := apply(t, st, ssoFile("", block("http://127.0.0.1:9/nothing-here", "disabled")), directory.Options{Discover: discover})
		var ps directory.Problems
		if !errors.As(err, &ps) || !strings.Contains(err.Error(), "partners[0].customers[0].sso.issuer") || !strings.Contains(err.Error(), "cannot be reached") {
			t.Fatalf("unreachable issuer: %v", err)
		}
		if _, err := st.CustomerByID(ctx, "contoso"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a refused file wrote the customer: %v", err)
		}

		r, err := apply(t, st, ssoFile("", block(m.Issuer(), "disabled")), directory.Options{Discover: discover})
		if err != nil || r.SSO.Created != 1 {
			t.Fatalf("apply: %+v %v", r.SSO, err)
		}
		p, err := st.SSOProviderOf(ctx, store.KindCustomer, "contoso")
		if err != nil || p.Issuer != m.Issuer() || p.ClientID != "app-1" || p.SecretEnv != "CONTOSO_SSO_SECRET" || !p.PasswordsDisabled() ||
			!slices.Equal(p.Domains, []string{"contoso.example"}) {
			t.Fatalf("provider %+v %v", p, err)
		}
		if r, err = apply(t, st, ssoFile("", block(m.Issuer(), "disabled")), directory.Options{Discover: discover}); err != nil || r.SSO != (directory.Count{Unchanged: 1}) {
			t.Fatalf("again: %+v %v", r.SSO, err)
		}
		if r, err = apply(t, st, ssoFile("", block(m.Issuer(), "allowed")), directory.Options{}); err != nil || r.SSO != (directory.Count{Updated: 1}) {
			t.Fatalf("changed: %+v %v", r.SSO, err)
		}
		if r, err = apply(t, st, ssoFile("", ""), directory.Options{}); err != nil || r.SSO != (directory.Count{Updated: 1}) {
			t.Fatalf("removed: %+v %v", r.SSO, err)
		}
		if _, err := st.SSOProviderOf(ctx, store.KindCustomer, "contoso"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the removed provider is still there: %v", err)
		}
		audit, _ := st.AuditLog(ctx, store.AuditFilter{Limit: 100})
		var set, removed int
		for _, e := range audit {
			switch e.Action {
			case "org.sso_set":
				set++
				if !strings.Contains(e.Detail, "$CONTOSO_SSO_SECRET") || !strings.Contains(e.Detail, "domains contoso.example") {
					t.Errorf("audit detail %q does not say where the secret is read and which domains sign in", e.Detail)
				}
			case "org.sso_removed":
				removed++
			}
		}
		if set != 2 || removed != 1 {
			t.Fatalf("audited %d sets, %d removals", set, removed)
		}
	})
}

// The dev recipe's file is clean and points Litware at the dev provider.
func TestDevSSOFileIsClean(t *testing.T) {
	data, err := os.ReadFile("../../deploy/dev-sso.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := directory.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if ps := f.Check(); len(ps) > 0 {
		t.Fatal(ps)
	}
	if s := f.Partners[0].Customers[0].SSO; s == nil || s.Issuer != "http://127.0.0.1:9400/oidc" || !slices.Equal(s.Domains, []string{"litware.example"}) {
		t.Fatalf("the dev file does not point Litware at the dev provider: %+v", f.Partners[0].Customers[0])
	}
}
