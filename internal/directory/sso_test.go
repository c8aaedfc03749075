package directory_test

import (
	"context"
	"errors"
	"fmt"
	"os"
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

func TestSSOApplyReadsTheDiscoveryDocumentThenSetsChangesAndRemovesTheProvider(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	discover := (&sso.Client{}).Discover
	block := func(issuer, local string) string {
		return fmt.Sprintf("        sso: {issuer: %q, client_id: app-1, client_secret_env: CONTOSO_SSO_SECRET, local_passwords: %s}", issuer, local)
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
		if err != nil || p.Issuer != m.Issuer() || p.ClientID != "app-1" || p.SecretEnv != "CONTOSO_SSO_SECRET" || !p.PasswordsDisabled() {
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
				if !strings.Contains(e.Detail, "$CONTOSO_SSO_SECRET") {
					t.Errorf("audit detail %q does not say where the secret is read", e.Detail)
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
	if f.Partners[0].Customers[0].SSO == nil || f.Partners[0].Customers[0].SSO.Issuer != "http://127.0.0.1:9400/oidc" {
		t.Fatalf("the dev file does not point Litware at the dev provider: %+v", f.Partners[0].Customers[0])
	}
}
