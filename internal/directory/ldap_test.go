package directory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/store"
)

func ldapFile(block, group string) string {
	return `partners:
  - id: northwind
    name: Northwind Partners
    customers:
      - id: litware
        name: Litware
` + block + `
        sites:
          - {id: litware-standard, name: Litware Sage 200 Standard, edition: standard, access_group: "` + group + `"}
`
}

func TestLDAPBlocksAreCheckedAndEveryProblemIsListed(t *testing.T) {
	for _, tc := range []struct {
		block, group string
		want         []string
	}{
		{`        ldap: {url: "ldap://dc1.litware.test:389", bind_dn: "not a dn", users_dn: "", bind_password_env: lower}`, "cn=sage200",
			[]string{"ldap.url (line 7): \"ldap://dc1.litware.test:389\" sends the bind password in the clear",
				"ldap.bind_dn (line 7): \"not a dn\" is not a DN", "ldap.users_dn (line 7): is required",
				"ldap.bind_password_env (line 7): \"lower\" is not an environment variable's name"}},
		{`        ldap: {url: "ldap://dc1.litware.test:389", insecure: true, bind_dn: "cn=a,dc=b", users_dn: "ou=p,dc=b", bind_password_file: /p}`, "3b7f",
			[]string{"ldap.insecure (line 7): plain ldap:// without TLS is allowed only to a loopback address",
				`access_group (line 9): "3b7f" is not a group's DN`}},
		{`        ldap: {url: "ldaps://dc1:636", start_tls: true, bind_dn: "cn=a,dc=b", users_dn: "ou=p,dc=b", ca_file: rel.pem}
        entra: {tenant_id: 6f1c0000-0000-0000-0000-000000000001, client_id: 0a7e0000-0000-0000-0000-000000000002, client_secret_env: X, user_domain: a.onmicrosoft.com}`, "cn=g,dc=b",
			[]string{"ldap.start_tls (line 7): is for ldap:// URLs", "ldap.ca_file (line 7): \"rel.pem\" must be an absolute path",
				"ldap (line 7): a customer enforces access in one directory", "ldap (line 7): names no bind password"}},
	} {
		f, err := directory.Parse([]byte(ldapFile(tc.block, tc.group)))
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(f.Check())
		for _, want := range tc.want {
			if !strings.Contains(got, want) {
				t.Errorf("missing %q in\n%s", want, got)
			}
		}
	}
}

func TestLDAPBlockAppliesAsTheCustomersTarget(t *testing.T) {
	block := `        ldap: {url: "ldap://127.0.0.1:3389", start_tls: true, ca_file: /etc/ca.pem, bind_dn: "CN=Partner-Access,OU=Service,DC=Litware,DC=Test",
               users_dn: "ou=partners,dc=litware,dc=test", bind_password_env: LITWARE_LDAP_PASSWORD}`
	eachStore(t, func(t *testing.T, st *store.Store) {
		r, err := apply(t, st, ldapFile(block, "cn=sage200,ou=groups,dc=litware,dc=test"), directory.Options{})
		if err != nil || r.LDAPTargets.Created != 1 || r.EntraTargets != (directory.Count{}) || r.AccessGroups.Created != 1 {
			t.Fatalf("apply: %+v %v", r, err)
		}
		// The summary names the kind of target it added.
		var out strings.Builder
		r.Write(&out)
		for _, want := range []string{"  entra targets   0 added, 0 changed, 0 unchanged\n", "  ldap targets    1 added, 0 changed, 0 unchanged\n"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("summary without %q:\n%s", want, out.String())
			}
		}
		got, err := st.CustomerTarget(context.Background(), "litware")
		want := store.Target{Kind: store.TargetLDAP, TenantID: "ldap://127.0.0.1:3389", ClientID: "cn=partner-access,ou=service,dc=litware,dc=test",
			SecretEnv: "LITWARE_LDAP_PASSWORD", UserDomain: "ou=partners,dc=litware,dc=test", CAFile: "/etc/ca.pem", StartTLS: true}
		if err != nil || got != want {
			t.Fatalf("target %+v %v, want %+v", got, err, want)
		}
		if r, err := apply(t, st, ldapFile(block, "cn=sage200,ou=groups,dc=litware,dc=test"), directory.Options{}); err != nil || r.LDAPTargets.Unchanged != 1 {
			t.Fatalf("again: %+v %v", r.LDAPTargets, err)
		}
	})
}
