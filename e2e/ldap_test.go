package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/slapdtest"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// Access in a customer's own LDAP directory, through the real handler, a
// real Temporal server and a real slapd; ldapsearch cross-checks it.

const soloLDAP = "uid=northwind-solo.northwind," + slapdtest.UsersDN

// ldapEnv runs the service with Contoso enforcing access in a real slapd;
// password is the bind password the worker reads from its file.
func ldapEnv(t *testing.T, o testenv.Options, password string) (*testenv.Env, *slapdtest.Server) {
	t.Helper()
	s := slapdtest.Start(t)
	e := testenv.New(t, o)
	if password == "" {
		password = s.Password
	}
	file := filepath.Join(t.TempDir(), "bind.secret")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Store.SetCustomerTarget(ctx, demo.Contoso, &store.Target{Kind: store.TargetLDAP, TenantID: s.URL,
		ClientID: slapdtest.ServiceDN, SecretFile: file, UserDomain: slapdtest.UsersDN, CAFile: s.CAFile}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.SetSiteAccessGroup(ctx, demo.ContosoSite, slapdtest.GroupDN); err != nil {
		t.Fatal(err)
	}
	return e, s
}

func approvedOnContoso(t *testing.T, e *testenv.Env) store.Assignment {
	t.Helper()
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 4711: deploy update")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	return a
}

func TestLDAPStandardApprovedIsAMembershipThenExpiresProven(t *testing.T) {
	e, s := ldapEnv(t, testenv.Options{}, "")
	a := approvedOnContoso(t, e)
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	if got := s.Members(slapdtest.GroupDN); !slices.Contains(got, soloLDAP) || len(got) != 3 {
		t.Fatalf("while active, the group (ldapsearch): %v", got)
	}
	login, password := viewCredential(t, e, a.ID)
	if login != "northwind-solo.northwind" || len(password) < 12 {
		t.Fatalf("credential %q %q", login, password)
	}
	if err := s.Bind(soloLDAP, password); err != nil {
		t.Fatalf("the password shown does not bind in the directory: %v", err)
	}
	e.WaitState(a.ID, domain.StateExpired, 20*time.Second)
	removed(t, e, s, a)
	if err := s.Bind(soloLDAP, password); s.PPolicy && !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("after expiry the account still binds: %v", err)
	}
	audit, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: a.ID})
	var proven bool
	for _, r := range audit {
		proven = proven || r.Action == "revocation.proven"
	}
	if !proven {
		t.Fatalf("no revocation.proven in %+v", audit)
	}
}

func TestLDAPProfessionalReissuedThenUnassigned(t *testing.T) {
	e, s := ldapEnv(t, testenv.Options{}, "")
	ctx := context.Background()
	contoso, _ := e.Store.CustomerTarget(ctx, demo.Contoso)
	if err := e.Store.SetCustomerTarget(ctx, demo.Fabrikam, &contoso); err != nil { // Fabrikam's directory is the same slapd
		t.Fatal(err)
	}
	if err := e.Store.SetSiteAccessGroup(ctx, demo.FabrikamSite, slapdtest.GroupDN); err != nil {
		t.Fatal(err)
	}
	solo := e.Login("solo@partner.example")
	code, a, body := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 99: support")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	if !slices.Contains(s.Members(slapdtest.GroupDN), soloLDAP) {
		t.Fatal("no membership while active")
	}
	_, password := viewCredential(t, e, a.ID)
	if code, body := solo.Do("POST", "/api/v1/assignments/"+a.ID+"/credential", nil); code != http.StatusCreated {
		t.Fatalf("reissue: %d %s", code, body)
	}
	_, again := viewCredential(t, e, a.ID)
	if again == password || len(again) < 12 {
		t.Fatal("the reissued password is not a new one")
	}
	if s.Bind(soloLDAP, again) != nil || s.Bind(soloLDAP, password) == nil {
		t.Fatal("the directory does not hold the reissued password, or still takes the first one")
	}
	if code, body := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateRevoked, 15*time.Second)
	removed(t, e, s, a)
}

// removed checks, once the run closed, that Solo's membership left the
// group (the customer's own members stay) and the account is locked (where
// the directory has ppolicy).
func removed(t *testing.T, e *testenv.Env, s *slapdtest.Server, a store.Assignment) {
	t.Helper()
	e.WaitClosed(a)
	if got := s.Members(slapdtest.GroupDN); slices.Contains(got, soloLDAP) || len(got) != 2 {
		t.Fatalf("after access ended, the group: %v", got)
	}
	if entry := s.Search(soloLDAP, "(objectClass=*)", "pwdAccountLockedTime"); s.PPolicy && !strings.Contains(entry, "pwdAccountLockedTime: 000001010000Z") {
		t.Fatalf("the account is not locked after access ended:\n%s", entry)
	}
}

func TestLDAPDriftIsRepairedBothWays(t *testing.T) {
	tm := testenv.FastTiming
	tm.AccessDuration = time.Hour
	e, s := ldapEnv(t, testenv.Options{Timing: tm}, "")
	a := approvedOnContoso(t, e)
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	ctx := context.Background()

	s.SetMember(slapdtest.GroupDN, soloLDAP, false) // someone takes Solo out by hand
	res, err := e.Acts.Reconcile(ctx)
	if err != nil || res.DriftRestored != 1 || res.DriftRemoved != 0 || len(res.DriftFailed) != 0 {
		t.Fatalf("reconcile: %+v %v", res, err)
	}
	if !slices.Contains(s.Members(slapdtest.GroupDN), soloLDAP) {
		t.Fatal("the membership was not restored")
	}

	if code, body := e.Login("agent@partner.example").Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateRevoked, 15*time.Second)
	e.WaitClosed(a)
	s.SetMember(slapdtest.GroupDN, soloLDAP, true) // and puts Solo back by hand
	res, err = e.Acts.Reconcile(ctx)
	if err != nil || res.DriftRemoved != 1 || res.DriftRestored != 0 {
		t.Fatalf("reconcile: %+v %v", res, err)
	}
	got := s.Members(slapdtest.GroupDN)
	if slices.Contains(got, soloLDAP) || !slices.Contains(got, strings.ToLower(slapdtest.OwnMember)) || len(got) != 2 {
		t.Fatalf("after the second repair: %v", got)
	}
}

func TestLDAPRefusedBindEndsFailedNamingTheCause(t *testing.T) {
	e, s := ldapEnv(t, testenv.Options{}, "not-the-bind-password")
	a := approvedOnContoso(t, e)
	got := e.WaitState(a.ID, domain.StateFailed, 20*time.Second)
	if !strings.Contains(got.Failure, "LDAP 49") || strings.Contains(got.Failure, "not-the-bind-password") {
		t.Fatalf("failure %q: want the refused bind named, never the password", got.Failure)
	}
	if members := s.Members(slapdtest.GroupDN); len(members) != 2 {
		t.Fatalf("a refused activation changed the group: %v", members)
	}
	e.Eventually(10*time.Second, "the partner user told why", func() bool {
		mails := e.Mail(a.ID, domain.EmailAccessFailed, "solo@partner.example")
		return len(mails) == 1 && strings.Contains(mails[0].Text, "LDAP 49")
	})
}

func TestLDAPServerStoppedDuringActivationEndsWithOneAccountAndOneMembership(t *testing.T) {
	e, s := ldapEnv(t, testenv.Options{}, "")
	s.Stop()
	a := approvedOnContoso(t, e)
	ctx := context.Background()
	e.Eventually(20*time.Second, "activation retried against the stopped directory", func() bool {
		d, err := e.Client.DescribeWorkflowExecution(ctx, a.WorkflowID, "")
		if err != nil {
			return false
		}
		for _, p := range d.PendingActivities {
			if p.GetActivityType().GetName() == "ProvisionAccess" && p.GetAttempt() >= 2 {
				return true
			}
		}
		return false
	})
	if got, _ := e.Store.AssignmentByID(ctx, a.ID); got.State == domain.StateActive || got.State == domain.StateFailed {
		t.Fatalf("with the directory down the assignment is %s", got.State)
	}
	s.Restart()
	e.WaitState(a.ID, domain.StateActive, 30*time.Second)
	if n := strings.Count(s.Search(slapdtest.UsersDN, "(uid=northwind-solo.northwind)", "dn"), "dn: "); n != 1 {
		t.Fatalf("%d accounts", n)
	}
	if n := strings.Count(strings.Join(s.Members(slapdtest.GroupDN), "\n"), soloLDAP); n != 1 {
		t.Fatalf("%d memberships", n)
	}
}
