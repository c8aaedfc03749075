package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/avd"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/devarm"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

func connect(e *entraEnv, pool, host, upn string) string {
	return e.ARM.Connect(testenv.AVDSubscription, testenv.AVDResourceGroup, pool, host, upn)
}

// proof is the detail of the assignment's revocation.proven.
func proof(t *testing.T, e *entraEnv, id string) string {
	t.Helper()
	log, err := e.Store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range log {
		if en.Action == domain.ActionRevocationProven {
			return en.Detail
		}
	}
	t.Fatal("no revocation.proven")
	return ""
}

// The expiry of a Standard assignment whose partner user has two desktops
// open, in two pools: both logged off and counted in the proof, no
// membership, the account disabled; another user's session is left alone.
func TestAVDExpiryLogsOffEveryOpenSession(t *testing.T) {
	e := newEntraEnv(t, testenv.Options{AVD: true})
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 10: deploy")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	connect(e, testenv.AVDPoolA, "sh-1", soloContosoUPN)
	connect(e, testenv.AVDPoolB, "sh-7", soloContosoUPN)
	connect(e, testenv.AVDPoolA, "sh-1", "alice@contoso.onmicrosoft.com")
	e.WaitState(a.ID, domain.StateExpired, 20*time.Second)
	e.WaitClosed(a)
	if left := e.ARM.Sessions(soloContosoUPN); len(left) != 0 {
		t.Fatalf("sessions left after expiry: %+v", left)
	}
	if n := len(e.ARM.Sessions("alice@contoso.onmicrosoft.com")); n != 1 {
		t.Fatalf("the customer's own user has %d sessions, want hers kept", n)
	}
	u, _ := e.account(contosoTenant, soloContosoUPN)
	if u.Enabled || slices.Contains(e.members(contosoTenant), soloContosoUPN) {
		t.Fatalf("after expiry: %+v, members %v", u, e.members(contosoTenant))
	}
	if d := proof(t, e, a.ID); !strings.Contains(d, "2 desktop session(s) logged off, none left") {
		t.Fatalf("revocation.proven says %q, want both sessions counted", d)
	}
	for _, r := range e.ARM.Requests() {
		if r.Method == http.MethodDelete && r.Status != http.StatusOK {
			t.Fatalf("a logoff answered %d", r.Status)
		}
	}
}

// An unassigned Professional access whose user reconnects at once: the
// sessions are read back until none is left. Throttling (429) is waited
// out on the way.
func TestAVDUnassignReadsBackUntilNoSessionIsLeft(t *testing.T) {
	e := newEntraEnv(t, testenv.Options{AVD: true})
	solo := e.Login("solo@partner.example")
	_, a, _ := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 11: support")
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	connect(e, testenv.AVDPoolA, "sh-2", soloFabrikamUPN)
	e.ARM.Reappear(soloFabrikamUPN, 2) // two reconnections
	e.ARM.FailNext(1, http.StatusTooManyRequests)
	if code, body := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitClosed(a)
	if left := e.ARM.Sessions(soloFabrikamUPN); len(left) != 0 {
		t.Fatalf("sessions left: %+v", left)
	}
	if d := proof(t, e, a.ID); !strings.Contains(d, "3 desktop session(s) logged off") {
		t.Fatalf("revocation.proven says %q, want the session and its two reconnections", d)
	}
	throttled := slices.ContainsFunc(e.ARM.Requests(), func(r devarm.Request) bool { return r.Status == http.StatusTooManyRequests })
	if !throttled {
		t.Fatal("no 429 was answered: the test proves nothing about throttling")
	}
}

// A pool that refuses (the role missing) keeps the revocation pending,
// with the role named in the API and on the page; once the role is given,
// the session ends and the revocation is proven.
func TestAVDRefusalNamesTheRoleAndKeepsTheRevocationPending(t *testing.T) {
	e := newEntraEnv(t, testenv.Options{AVD: true})
	solo := e.Login("solo@partner.example")
	_, a, _ := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 12: support")
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	connect(e, testenv.AVDPoolB, "sh-3", soloFabrikamUPN)
	e.ARM.Deny(true)
	before := len(e.graph.Requests())
	if code, body := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	admin := e.Login("admin@fabrikam.example")
	var detail struct {
		RevocationPending *struct {
			LastError string `json:"last_error"`
		} `json:"revocation_pending"`
	}
	e.Eventually(20*time.Second, "the refusal shown by the API", func() bool {
		_, body := admin.Do("GET", "/api/v1/assignments/"+a.ID, nil)
		return json.Unmarshal(body, &detail) == nil && detail.RevocationPending != nil
	})
	if !strings.Contains(detail.RevocationPending.LastError, avd.Role) {
		t.Fatalf("pending because %q, want the role %s named", detail.RevocationPending.LastError, avd.Role)
	}
	if code, page := admin.Do("GET", "/assignments/"+a.ID, nil); code != http.StatusOK || !strings.Contains(string(page), avd.Role) {
		t.Fatalf("the page does not name the role: %d", code)
	}
	if n, _ := e.Store.RevocationsPending(context.Background()); n != 1 {
		t.Fatalf("%d revocations pending, want 1", n)
	}
	if slices.Contains(e.members(fabrikamTenant), soloFabrikamUPN) {
		t.Fatal("the membership should be gone already: the desktops come after it")
	}
	e.ARM.Deny(false)
	e.WaitClosed(a)
	if left := e.ARM.Sessions(soloFabrikamUPN); len(left) != 0 {
		t.Fatalf("sessions left: %+v", left)
	}
	if n, _ := e.Store.RevocationsPending(context.Background()); n != 0 {
		t.Fatalf("%d revocations pending once done", n)
	}
	// The retries while the pool refused repeated none of Graph's writes.
	revocationWrites(t, e.graph.Requests()[before:], e.objectID(t, fabrikamTenant, soloFabrikamUPN), testenv.FabrikamGroup)
}

// Before Standard access ends, each open desktop session of the partner
// user is told when, naming the site; the customer's own users' are not.
func TestAVDWarningNamesTheSiteAndTheTime(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration, timing.ExpiryWarning = 5*time.Second, 3*time.Second
	e := newEntraEnv(t, testenv.Options{AVD: true, Timing: timing})
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 13: deploy")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	active := e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	connect(e, testenv.AVDPoolA, "sh-1", soloContosoUPN)
	connect(e, testenv.AVDPoolB, "sh-4", soloContosoUPN)
	connect(e, testenv.AVDPoolA, "sh-1", "alice@contoso.onmicrosoft.com")
	e.Eventually(10*time.Second, "both desktops warned", func() bool { return len(e.ARM.Messages()) == 2 })
	ends := active.AccessEndsAt.UTC().Format("15:04 MST")
	for _, m := range e.ARM.Messages() {
		if m.UPN != soloContosoUPN || !strings.Contains(m.Body, "Contoso Sage 200") || !strings.Contains(m.Body, "ends at "+ends) {
			t.Fatalf("message %+v, want the partner user's, naming the site and %s", m, ends)
		}
	}
	e.WaitClosed(a)
	if left := e.ARM.Sessions(soloContosoUPN); len(left) != 0 {
		t.Fatalf("sessions left: %+v", left)
	}
}

// The reconciler logs off a desktop session of this product's account
// whose access ended (opened after its revocation, e.g. on a host the
// membership's removal had not reached), leaves those of accounts with a
// grant in force and the customer's own, and audits drift.session_ended.
func TestAVDReconcilerEndsAStraySession(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration = time.Hour
	e := newEntraEnv(t, testenv.Options{AVD: true, Timing: timing})
	ctx := context.Background()
	agent := e.Login("agent@partner.example")
	_, ended, _ := agent.Assign(demo.ContosoSite, demo.Agent, store.RolePartnerSupportAgent, "Case 14: done soon")
	e.Anonymous().Form(e.ApprovalPath(ended.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	e.WaitState(ended.ID, domain.StateActive, 15*time.Second)
	if code, body := agent.Do("DELETE", "/api/v1/assignments/"+ended.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitClosed(ended)
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 15: deploy")
	e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)

	agentUPN := demo.Agent + "." + demo.Northwind + "@contoso.onmicrosoft.com"
	connect(e, testenv.AVDPoolB, "sh-5", agentUPN) // the stray
	connect(e, testenv.AVDPoolA, "sh-1", soloContosoUPN)
	connect(e, testenv.AVDPoolA, "sh-1", "alice@contoso.onmicrosoft.com")
	res, err := e.Acts.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.DriftSessionsEnded != 1 || len(e.ARM.Sessions(agentUPN)) != 0 {
		t.Fatalf("reconciled %+v, %d sessions of the agent left; want its one session ended", res, len(e.ARM.Sessions(agentUPN)))
	}
	if len(e.ARM.Sessions(soloContosoUPN)) != 1 || len(e.ARM.Sessions("alice@contoso.onmicrosoft.com")) != 1 {
		t.Fatal("a session with a grant in force, or the customer's own, was ended")
	}
	log, err := e.Store.AuditLog(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(log, func(en store.AuditEntry) bool {
		return en.Action == domain.ActionDriftSessionEnded && strings.Contains(en.Detail, agentUPN)
	}) {
		t.Fatal("no drift.session_ended naming the agent's account")
	}
}

// The dev directory's "connect" opens a desktop session for a partner
// account while it is a member of a site's group, and the session ends
// when the access does; an account without access cannot connect.
func TestAVDDevDirectoryConnectThenAccessEnds(t *testing.T) {
	e := newEntraEnv(t, testenv.Options{AVD: true})
	solo := e.Login("solo@partner.example")
	_, a, _ := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 16: support")
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	admin := e.Login("admin@partner.example")
	code, page := admin.Do("GET", "/dev/directory", nil)
	if code != http.StatusOK || !strings.Contains(string(page), "Connect as "+soloFabrikamUPN) {
		t.Fatalf("dev directory: %d, no connect button for %s", code, soloFabrikamUPN)
	}
	if code, body, _ := admin.Form("/dev/directory/connect", map[string]string{"tenant": fabrikamTenant, "upn": soloFabrikamUPN}); code != http.StatusSeeOther {
		t.Fatalf("connect: %d %s", code, body)
	}
	if n := len(e.ARM.Sessions(soloFabrikamUPN)); n != 1 {
		t.Fatalf("%d sessions after connect, want 1", n)
	}
	if _, page := admin.Do("GET", "/dev/directory", nil); !strings.Contains(string(page), `class="session"`) {
		t.Fatal("the page does not show the open session")
	}
	if code, body := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitClosed(a)
	if n := len(e.ARM.Sessions(soloFabrikamUPN)); n != 0 {
		t.Fatalf("%d sessions after the access ended", n)
	}
	if code, _, _ := admin.Form("/dev/directory/connect", map[string]string{"tenant": fabrikamTenant, "upn": soloFabrikamUPN}); code != http.StatusForbidden {
		t.Fatalf("connect without access: %d, want 403", code)
	}
	if n := len(e.ARM.Sessions(soloFabrikamUPN)); n != 0 {
		t.Fatalf("%d sessions opened without access", n)
	}
}

// A cancel from Temporal, a withdrawn permission (R1) and a suspension
// (R2) each log off the partner user's desktop sessions where the access
// ended, and only there.
func TestAVDCancelWithdrawalAndSuspensionLogOff(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration = time.Hour
	e := newEntraEnv(t, testenv.Options{AVD: true, Timing: timing})
	solo := e.Login("solo@partner.example")
	agent := e.Login("agent@partner.example")
	agentUPN := demo.Agent + "." + demo.Northwind + "@contoso.onmicrosoft.com"
	_, std, _ := solo.Assign(demo.ContosoSite, demo.Solo, "", "Case 17: Standard")
	e.Anonymous().Form(e.ApprovalPath(std.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	_, pro, _ := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 18: Professional")
	_, ag, _ := agent.Assign(demo.ContosoSite, demo.Agent, store.RolePartnerSupportAgent, "Case 19: Standard")
	e.Anonymous().Form(e.ApprovalPath(ag.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	for _, a := range []store.Assignment{std, pro, ag} {
		e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	}
	connect(e, testenv.AVDPoolA, "sh-1", soloContosoUPN)
	connect(e, testenv.AVDPoolA, "sh-1", soloFabrikamUPN)
	connect(e, testenv.AVDPoolB, "sh-2", agentUPN)
	left := func() [3]int {
		return [3]int{len(e.ARM.Sessions(soloContosoUPN)), len(e.ARM.Sessions(soloFabrikamUPN)), len(e.ARM.Sessions(agentUPN))}
	}
	if err := e.Client.CancelWorkflow(context.Background(), std.WorkflowID, ""); err != nil {
		t.Fatal(err)
	}
	e.WaitClosed(std)
	if got := left(); got != [3]int{0, 1, 1} {
		t.Fatalf("sessions after the cancel %v, want [0 1 1]", got)
	}
	if code, body := e.Login("admin@fabrikam.example").Do("DELETE", "/api/v1/customers/"+demo.Fabrikam+"/partner-permission", nil); code != http.StatusOK {
		t.Fatalf("withdraw: %d %s", code, body)
	}
	e.WaitClosed(pro)
	if got := left(); got != [3]int{0, 0, 1} {
		t.Fatalf("sessions after the withdrawal %v, want [0 0 1]", got)
	}
	if code, body := e.Login("admin@partner.example").Do("PATCH", "/api/v1/users/"+demo.Agent, map[string]any{"status": "suspended"}); code != http.StatusOK {
		t.Fatalf("suspend: %d %s", code, body)
	}
	e.WaitClosed(ag)
	if got := left(); got != [3]int{0, 0, 0} {
		t.Fatalf("sessions after the suspension %v, want none", got)
	}
	for _, id := range []string{std.ID, pro.ID, ag.ID} {
		if d := proof(t, e, id); !strings.Contains(d, "1 desktop session(s) logged off") {
			t.Fatalf("revocation.proven of %s says %q", id, d)
		}
	}
}
