package ldapdir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/ldapdir"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/slapdtest"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// env is a store with the demo data whose Contoso enforces access in a real
// slapd, and the directory that does it.
type env struct {
	s    *slapdtest.Server
	st   *store.Store
	keys *secret.Keys
	d    *ldapdir.Directory
	t    store.Target
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, slapdtest.Options{})
}

func newEnvWith(t *testing.T, o slapdtest.Options) *env {
	t.Helper()
	s := slapdtest.StartWith(t, o)
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := demo.Load(ctx, st, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	pw := filepath.Join(t.TempDir(), "bind.secret")
	os.WriteFile(pw, []byte(s.Password+"\n"), 0o600)
	tg := store.Target{Kind: store.TargetLDAP, TenantID: s.URL, ClientID: slapdtest.ServiceDN, SecretFile: pw,
		UserDomain: slapdtest.UsersDN, CAFile: s.CAFile}
	if err := st.SetCustomerTarget(ctx, demo.Contoso, &tg); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSiteAccessGroup(ctx, demo.ContosoSite, slapdtest.GroupDN); err != nil {
		t.Fatal(err)
	}
	// The assignments the credentials belong to, one after the other (R8).
	for _, edition := range []string{"professional", "standard"} {
		if err := st.CreateAssignment(ctx, store.Assignment{ID: "a-" + edition, WorkflowID: "w-" + edition, SiteID: demo.ContosoSite,
			PartnerUserID: demo.Solo, Role: store.RolePartnerSupportAgent, Reason: "Case 1", Edition: edition,
			RequestedBy: demo.Agent, RequestedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if edition == "professional" {
			if err := st.ApplyTransition(ctx, store.Transition{AssignmentID: "a-" + edition, Seq: 1, State: "revoked", At: time.Now(),
				Actor: "system", Action: "access.revoked"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &env{s: s, st: st, keys: keys, d: &ldapdir.Directory{Base: target.Base{Store: st, Keys: keys}, Timeout: 3 * time.Second}, t: tg}
}

func input(edition string) target.Input {
	return target.Input{AssignmentID: "a-" + edition, CustomerID: demo.Contoso, SiteID: demo.ContosoSite,
		PartnerID: demo.Northwind, UserID: demo.Solo, DisplayName: "Sam Solo", Edition: edition, At: time.Now()}
}

const soloDN = "uid=northwind-solo.northwind," + slapdtest.UsersDN

// bind tries the account's password on the server.
func (e *env) bind(t *testing.T, dn, password string) error {
	t.Helper()
	return e.s.Bind(dn, password)
}

func (e *env) password(t *testing.T, assignmentID string) string {
	t.Helper()
	cr, err := e.st.CredentialByAssignment(context.Background(), assignmentID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.keys.Open(cr.Ciphertext, assignmentID)
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

func TestAccountAndMembershipAreMadeRemovedProvenAndMadeAgain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.d.Provision(ctx, e.t, input("standard"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.Credential || res.Login != "northwind-solo.northwind" {
		t.Fatalf("provision: %+v", res)
	}
	members := e.s.Members(slapdtest.GroupDN)
	if !has(members, soloDN) || !has(members, strings.ToLower(slapdtest.OwnMember)) || len(members) != 3 {
		t.Fatalf("group members after activation (ldapsearch): %v", members)
	}
	first := e.password(t, "a-standard")
	if err := e.bind(t, soloDN, first); err != nil {
		t.Fatalf("the temporary password does not bind: %v", err)
	}
	if entry := e.s.Search(soloDN, "(objectClass=*)", "userPassword"); !strings.Contains(entry, "userPassword:: ") || strings.Contains(entry, first) {
		t.Fatalf("the password is not hashed by the server:\n%s", entry)
	}
	// Again: the same account, the same membership, nothing new.
	if res, err := e.d.Provision(ctx, e.t, input("standard")); err != nil || res.Created || res.Credential {
		t.Fatalf("provision again: %+v %v", res, err)
	}

	took, err := e.d.Deprovision(ctx, e.t, input("standard"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("revocation proven in %s", took)
	members = e.s.Members(slapdtest.GroupDN)
	if has(members, soloDN) || !has(members, strings.ToLower(slapdtest.OwnMember)) || len(members) != 2 {
		t.Fatalf("group members after revocation: %v", members)
	}
	if entry := e.s.Search(soloDN, "(objectClass=*)", "pwdAccountLockedTime"); !strings.Contains(entry, "pwdAccountLockedTime: 000001010000Z") {
		t.Fatalf("the account is not locked:\n%s", entry)
	}
	if err := e.bind(t, soloDN, first); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("a locked account still binds: %v", err)
	}
	// Revoking again finds it done.
	if _, err := e.d.Deprovision(ctx, e.t, input("standard")); err != nil {
		t.Fatal(err)
	}

	// Professional: the account is enabled again with a fresh password.
	res, err = e.d.Provision(ctx, e.t, input("professional"))
	if err != nil || res.Created || !res.Credential {
		t.Fatalf("professional: %+v %v", res, err)
	}
	fresh := e.password(t, "a-professional")
	if fresh == first || e.bind(t, soloDN, fresh) != nil {
		t.Fatal("the Professional activation's password does not bind, or is the old one")
	}
	// A reissue resets it in the directory.
	if err := e.d.Reissue(ctx, e.t, input("professional")); err != nil {
		t.Fatal(err)
	}
	if again := e.password(t, "a-professional"); again == fresh || e.bind(t, soloDN, again) != nil || e.bind(t, soloDN, fresh) == nil {
		t.Fatal("the reissued password is not the one the directory holds")
	}
}

func TestRefusalsArePermanentAndNamed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(t *store.Target, e *env)
		says   string
	}{
		{"wrong password", func(tg *store.Target, e *env) {
			e.d.Password = func(store.Target) (string, error) { return "not-the-password", nil }
		}, "LDAP 49"},
		{"no write access", func(tg *store.Target, e *env) { tg.ClientID = slapdtest.ReaderDN }, "LDAP 50"},
		{"untrusted certificate", func(tg *store.Target, e *env) { tg.CAFile = "" }, "not signed by a trusted CA"},
		{"untrusted certificate after StartTLS", func(tg *store.Target, e *env) {
			tg.TenantID, tg.StartTLS, tg.CAFile = e.s.StartTLSURL, true, ""
		}, "not signed by a trusted CA"},
		{"ldap:// without StartTLS", func(tg *store.Target, e *env) { tg.TenantID = e.s.StartTLSURL }, "in the clear"},
		{"ldap:// insecure, to a server that wants TLS", func(tg *store.Target, e *env) {
			tg.TenantID, tg.Insecure = e.s.StartTLSURL, true
		}, "LDAP 13"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := e.t
			e.d.Password = nil
			tc.change(&tg, e)
			_, err := e.d.Provision(ctx, tg, input("standard"))
			var de *target.Error
			if !errors.As(err, &de) || !de.Permanent || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want a permanent refusal saying %q", err, tc.says)
			}
			if strings.Contains(err.Error(), e.s.Password) {
				t.Fatal("the error holds the bind password")
			}
		})
	}
	if got := e.s.Members(slapdtest.GroupDN); len(got) != 2 {
		t.Fatalf("a refused activation changed the group: %v", got)
	}
}

func TestServerDownIsRetriedAndEndsWithOneAccountAndOneMembership(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.s.Stop()
	_, err := e.d.Provision(ctx, e.t, input("standard"))
	var de *target.Error
	if !errors.As(err, &de) || de.Permanent || !strings.Contains(err.Error(), "cannot be reached") {
		t.Fatalf("server down: %v, want an error retried", err)
	}
	e.s.Restart()
	for range 2 { // the retry, and one more as a lost answer would make
		if _, err := e.d.Provision(ctx, e.t, input("standard")); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(e.s.Search(slapdtest.UsersDN, "(uid=northwind-solo.northwind)", "dn"), "dn: "); n != 1 {
		t.Fatalf("%d accounts", n)
	}
	members := e.s.Members(slapdtest.GroupDN)
	if n := strings.Count(strings.Join(members, "\n"), soloDN); n != 1 {
		t.Fatalf("%d memberships: %v", n, members)
	}
}

func has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// ldap:// with StartTLS: the same account and membership as over LDAPS.
func TestStartTLS(t *testing.T) {
	e := newEnv(t)
	e.t.TenantID, e.t.StartTLS = e.s.StartTLSURL, true
	if _, err := e.d.Provision(context.Background(), e.t, input("standard")); err != nil {
		t.Fatal(err)
	}
	if got := e.s.Members(slapdtest.GroupDN); !has(got, soloDN) {
		t.Fatalf("the group after activation over StartTLS: %v", got)
	}
	if err := e.bind(t, soloDN, e.password(t, "a-standard")); err != nil {
		t.Fatalf("the temporary password does not bind: %v", err)
	}
}

// An OpenLDAP without ppolicy cannot lock an account: activation and
// revocation go on without it, and the group alone says who has access.
func TestWithoutPPolicyTheMembershipAloneIsTheAccess(t *testing.T) {
	e := newEnvWith(t, slapdtest.Options{NoPPolicy: true})
	if e.s.PPolicy {
		t.Fatal("the directory has ppolicy")
	}
	ctx := context.Background()
	if _, err := e.d.Provision(ctx, e.t, input("standard")); err != nil {
		t.Fatalf("activation without ppolicy: %v", err)
	}
	if !has(e.s.Members(slapdtest.GroupDN), soloDN) {
		t.Fatal("no membership")
	}
	if _, err := e.d.Deprovision(ctx, e.t, input("standard")); err != nil {
		t.Fatalf("revocation without ppolicy: %v", err)
	}
	if got := e.s.Members(slapdtest.GroupDN); has(got, soloDN) || len(got) != 2 {
		t.Fatalf("the group after revocation: %v", got)
	}
	if _, err := e.d.Provision(ctx, e.t, input("professional")); err != nil {
		t.Fatalf("a second activation without ppolicy: %v", err)
	}
}

// A users_dn written with spaces and capitals: the account is found in the
// group as the server writes it, so drift sees nothing to repair and the
// proof reads the real member.
func TestUsersDNAsWrittenByHand(t *testing.T) {
	e := newEnv(t)
	e.t.UserDomain = "OU=Partners, DC=litware, DC=test"
	ctx := context.Background()
	if _, err := e.d.Provision(ctx, e.t, input("standard")); err != nil {
		t.Fatal(err)
	}
	if !has(e.s.Members(slapdtest.GroupDN), soloDN) {
		t.Fatal("no membership")
	}
	until := time.Now().Add(time.Hour)
	if err := e.st.PutGrant(ctx, store.Grant{AssignmentID: "a-standard", SiteID: demo.ContosoSite, UserID: demo.Solo,
		GrantedAt: time.Now(), ExpiresAt: &until}); err != nil {
		t.Fatal(err)
	}
	if repairs, err := e.d.Drift(ctx, e.t, demo.Contoso, time.Now()); err != nil || len(repairs) != 0 {
		t.Fatalf("drift with the membership in place: %+v %v", repairs, err)
	}
}

// groupOfNames must keep a member: when the customer took its placeholder
// away, revocation says so and waits (retried), then completes once the
// placeholder is back.
func TestTheLastMemberIsNamedNotForced(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.d.Provision(ctx, e.t, input("standard")); err != nil {
		t.Fatal(err)
	}
	e.s.SetMember(slapdtest.GroupDN, slapdtest.Placeholder, false)
	e.s.SetMember(slapdtest.GroupDN, slapdtest.OwnMember, false)
	_, err := e.d.Deprovision(ctx, e.t, input("standard"))
	var de *target.Error
	if !errors.As(err, &de) || de.Permanent || !strings.Contains(err.Error(), "LDAP 65") || !strings.Contains(err.Error(), "placeholder") {
		t.Fatalf("got %v, want a retried error naming the placeholder", err)
	}
	if got := e.s.Members(slapdtest.GroupDN); len(got) != 1 || got[0] != soloDN {
		t.Fatalf("the group: %v", got)
	}
	e.s.SetMember(slapdtest.GroupDN, slapdtest.Placeholder, true)
	if _, err := e.d.Deprovision(ctx, e.t, input("standard")); err != nil {
		t.Fatal(err)
	}
	if got := e.s.Members(slapdtest.GroupDN); len(got) != 1 || got[0] != strings.ToLower(slapdtest.Placeholder) {
		t.Fatalf("the group after revocation: %v", got)
	}
}

// An attempt cut off between adding the entry and setting its password
// leaves an entry without one: the next attempt gives it its first
// password, shown to the partner user, even on Standard.
func TestAnEntryLeftWithoutItsPasswordGetsOne(t *testing.T) {
	e := newEnv(t)
	add := ldap.NewAddRequest(soloDN, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"northwind-solo.northwind"})
	add.Attribute("cn", []string{"Sam Solo (partner)"})
	add.Attribute("sn", []string{"northwind"})
	if err := e.s.AsAdmin(func(c *ldap.Conn) error { return c.Add(add) }); err != nil {
		t.Fatal(err)
	}
	res, err := e.d.Provision(context.Background(), e.t, input("standard"))
	if err != nil || !res.Created || !res.Credential {
		t.Fatalf("provision: %+v %v, want the account's first password", res, err)
	}
	if err := e.bind(t, soloDN, e.password(t, "a-standard")); err != nil {
		t.Fatalf("the first password does not bind: %v", err)
	}
	if n := strings.Count(e.s.Search(slapdtest.UsersDN, "(uid=northwind-solo.northwind)", "dn"), "dn: "); n != 1 {
		t.Fatalf("%d accounts", n)
	}
}
