package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/workflows"
)

type accessAnswer struct {
	Allowed      bool       `json:"allowed"`
	Until        *time.Time `json:"until"`
	AssignmentID string     `json:"assignment_id"`
}

func askAccess(t *testing.T, e *testenv.Env, site, user string) accessAnswer {
	t.Helper()
	req, _ := http.NewRequest("GET", e.HTTP.URL+"/api/v1/access?site="+site+"&user="+user, nil)
	req.Header.Set("Authorization", "Bearer "+testenv.GatewayToken)
	status, body := e.Anonymous().Send(req)
	if status != http.StatusOK {
		t.Fatalf("access: %d %s", status, body)
	}
	var a accessAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func problemOf(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem document: %s", body)
	}
	return p
}

func TestR4StandardFlowFromAssignThroughApprovalPageToExpiry(t *testing.T) {
	t.Parallel() // waits on timers of seconds; runs beside the others in its own namespace
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	status, a, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 4711: deploy update")
	if status != http.StatusCreated {
		t.Fatalf("assign: %d %s", status, body)
	}
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	if askAccess(t, e, demo.ContosoSite, demo.Solo).Allowed {
		t.Fatal("access before approval")
	}

	// The approver opens the link from the email: the page asks, and changes nothing.
	path := e.ApprovalPath(a.ID, "admin@contoso.example")
	anon := e.Anonymous()
	code, page := anon.Page(path)
	if code != http.StatusOK || !strings.Contains(page, "Case 4711: deploy update") || !strings.Contains(page, "Approve") {
		t.Fatalf("approval page: %d\n%s", code, page)
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.State != domain.StatePendingApproval || got.Decision != "" {
		t.Fatalf("GET of the approval link changed the assignment: %+v", got)
	}
	code, done, _ := anon.Form(path, map[string]string{"decision": "approve"})
	if code != http.StatusOK || !strings.Contains(string(done), "Approved by admin@contoso.example") {
		t.Fatalf("approve: %d\n%s", code, done)
	}
	active := e.WaitState(a.ID, domain.StateActive, 10*time.Second)
	ans := askAccess(t, e, demo.ContosoSite, demo.Solo)
	if !ans.Allowed || ans.Until == nil || !ans.Until.Equal(*active.AccessEndsAt) || ans.AssignmentID != a.ID {
		t.Fatalf("gateway answer while active: %+v (ends %v)", ans, active.AccessEndsAt)
	}
	e.Eventually(10*time.Second, "partner user told that access is granted", func() bool {
		return len(e.Mail(a.ID, domain.EmailAccessGranted, "solo@partner.example")) == 1
	})

	ended := e.WaitState(a.ID, domain.StateExpired, testenv.FastTiming.AccessDuration+10*time.Second)
	if late := ended.EndedAt.Sub(*active.AccessEndsAt); late < 0 || late > 2*time.Second {
		t.Fatalf("expired %v after the access end", late)
	}
	if askAccess(t, e, demo.ContosoSite, demo.Solo).Allowed {
		t.Fatal("access after expiry")
	}
	e.Eventually(10*time.Second, "both sides told access ended", func() bool {
		return len(e.Mail(a.ID, domain.EmailAccessEnded, "solo@partner.example")) == 1 &&
			len(e.Mail(a.ID, domain.EmailAccessEnded, "admin@contoso.example")) == 1
	})

	// The operator finds it in Temporal by its search attributes.
	e.Eventually(15*time.Second, "workflow visible by search attributes", func() bool {
		resp, err := e.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: e.Namespace,
			Query: fmt.Sprintf("%s = %q AND %s = %q AND %s = %q", workflows.AttrSite.GetName(), demo.ContosoSite,
				workflows.AttrPartnerUser.GetName(), demo.Solo, workflows.AttrStatus.GetName(), domain.StateExpired),
		})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.RunId == a.ID
	})
}

func TestR5ProfessionalFlowToCredentialPageAndUnassign(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	solo := e.Login("solo@partner.example")
	status, a, body := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 99")
	if status != http.StatusCreated {
		t.Fatalf("assign: %d %s", status, body)
	}
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	if !askAccess(t, e, demo.FabrikamSite, demo.Solo).Allowed {
		t.Fatal("no access on the Professional site")
	}
	var link string
	e.Eventually(10*time.Second, "credential link email", func() bool {
		ms := e.Mail(a.ID, domain.EmailCredentialLink, "solo@partner.example")
		if len(ms) == 0 {
			return false
		}
		l, err := testenv.Link(ms[0], "/credentials/")
		link = l
		return err == nil
	})

	// Not logged in: to the login page. Another partner user: refused.
	if code, _ := e.Anonymous().Page(link); code != http.StatusSeeOther {
		t.Fatalf("anonymous credential page: %d, want a redirect to log in", code)
	}
	agent := e.Login("agent@partner.example")
	if code, _, _ := agent.Form(link, nil); code != http.StatusForbidden {
		t.Fatalf("another partner user revealing the password: %d, want 403", code)
	}
	admin := e.Login("admin@fabrikam.example")
	if code, _, _ := admin.Form(link, nil); code != http.StatusForbidden {
		t.Fatalf("customer user revealing the password: %d, want 403", code)
	}
	code, page := solo.Page(link)
	if code != http.StatusOK || !strings.Contains(page, "Show the temporary password") {
		t.Fatalf("credential page: %d\n%s", code, page)
	}
	code, shown, _ := solo.Form(link, nil)
	if code != http.StatusOK || !strings.Contains(string(shown), "solo@partner.example") || !strings.Contains(string(shown), `id="password"`) {
		t.Fatalf("reveal: %d\n%s", code, shown)
	}
	if code, _, _ := solo.Form(link, nil); code != http.StatusGone {
		t.Fatalf("second reveal: %d, want 410 (shown once)", code)
	}

	// The customer ends it (R7): revoked at once.
	code, body = admin.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"})
	if code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateRevoked, 10*time.Second)
	if askAccess(t, e, demo.FabrikamSite, demo.Solo).Allowed {
		t.Fatal("access after unassign")
	}
}

func TestRuleRefusalsOverHTTP(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	admin := e.Login("admin@contoso.example")
	cases := []struct {
		name   string
		as     *testenv.Session
		site   string
		user   string
		role   string
		status int
		rule   string
	}{
		{"R1 no permission", agent, demo.LitwareSite, demo.Solo, "", 403, "R1"},
		{"R2 invited user", agent, demo.ContosoSite, demo.Invited, "", 422, "R2"},
		{"R2 suspended user", agent, demo.ContosoSite, demo.Suspended, "", 422, "R2"},
		{"R3 several roles, none chosen", agent, demo.ContosoSite, demo.Agent, "", 422, "R3"},
		{"R3 role not held", agent, demo.ContosoSite, demo.Solo, store.RolePartnerConsultant, 422, "R3"},
		{"R6 customer user assigns", admin, demo.ContosoSite, demo.Solo, "", 403, "R6"},
		{"R6 customer user assigned", agent, demo.ContosoSite, demo.ContosoOps, "", 422, "R6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.Counts()
			status, _, body := tc.as.Assign(tc.site, tc.user, tc.role, "case 1")
			p := problemOf(t, body)
			if status != tc.status || p["rule"] != tc.rule || p["detail"] == "" {
				t.Fatalf("got %d %s, want %d %s", status, body, tc.status, tc.rule)
			}
			if after := e.Counts(); after != before {
				t.Fatalf("refused request changed state: %+v -> %+v", before, after)
			}
		})
	}
	refused, err := e.Store.AuditLog(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range refused {
		if r.Outcome == store.OutcomeRefused && r.Action == "assignment.refused" {
			n++
		}
	}
	if n != len(cases) {
		t.Fatalf("%d refusals in the audit log, want %d (every attempt, R6)", n, len(cases))
	}
}

func TestR8SecondAssignReturnsTheOpenAssignment(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	var wg sync.WaitGroup
	type result struct {
		status int
		id     string
	}
	results := make([]result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", fmt.Sprintf("case %d", i))
			results[i] = result{status, a.ID}
		}()
	}
	wg.Wait()
	created := 0
	for _, r := range results {
		if r.status == http.StatusCreated {
			created++
		} else if r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		if r.id == "" || r.id != results[0].id {
			t.Fatalf("results %+v: want one assignment", results)
		}
	}
	if created != 1 {
		t.Fatalf("%d assignments created, want 1 (R8)", created)
	}
	as, _ := e.Store.Assignments(context.Background(), store.AssignmentFilter{SiteID: demo.ContosoSite})
	if len(as) != 1 {
		t.Fatalf("%d assignment rows, want 1", len(as))
	}
}

func TestApprovalTokensForgedUsedOrExpiredChangeNothing(t *testing.T) {
	t.Parallel() // waits on timers of seconds; runs beside the others in its own namespace
	timing := testenv.FastTiming
	timing.ApprovalTimeout = 4 * time.Second
	e := testenv.New(t, testenv.Options{Timing: timing})
	agent := e.Login("agent@partner.example")
	_, used, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "used token")
	_, lapsed, _ := agent.Assign(demo.ContosoSite, demo.Agent, store.RolePartnerConsultant, "lapsed token")
	adminPath := e.ApprovalPath(used.ID, "admin@contoso.example")
	opsPath := e.ApprovalPath(used.ID, "ops@contoso.example")
	lapsedPath := e.ApprovalPath(lapsed.ID, "admin@contoso.example")
	anon := e.Anonymous()
	if code, _, _ := anon.Form(adminPath, map[string]string{"decision": "deny"}); code != http.StatusOK {
		t.Fatalf("first decision: %d", code)
	}
	e.WaitState(used.ID, domain.StateDenied, 10*time.Second)
	e.WaitState(lapsed.ID, domain.StateApprovalExpired, 15*time.Second)
	e.WaitClosed(used)
	e.WaitClosed(lapsed)
	if len(e.Mail(used.ID, domain.EmailAccessDenied, "solo@partner.example")) != 1 ||
		len(e.Mail(lapsed.ID, domain.EmailApprovalExpired, "agent@partner.example")) != 1 {
		t.Fatal("the partner users were not told of the denial and the lapse")
	}

	cases := []struct {
		name   string
		path   string
		status int
	}{
		{"forged", "/approvals/" + strings.Repeat("A", 43), http.StatusNotFound},
		{"malformed", "/approvals/not-a-token", http.StatusNotFound},
		{"truncated", adminPath[:len(adminPath)-1], http.StatusNotFound},
		{"used by the same approver", adminPath, http.StatusGone},
		{"other approver after the first decision", opsPath, http.StatusGone},
		{"expired", lapsedPath, http.StatusGone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.Counts()
			// A link that no longer works says so: an alert when it never
			// worked, a calm note when its request was settled.
			clear := `role="alert"`
			if tc.status == http.StatusGone {
				clear = `id="settled"`
			}
			if code, page := anon.Page(tc.path); code != tc.status || !strings.Contains(page, clear) || (tc.status == http.StatusGone && strings.Contains(page, `role="alert"`)) {
				t.Fatalf("GET: %d, want %d with a clear message\n%s", code, tc.status, page)
			}
			code, page, _ := anon.Form(tc.path, map[string]string{"decision": "approve"})
			if code != tc.status {
				t.Fatalf("POST: %d, want %d\n%s", code, tc.status, page)
			}
			after := e.Counts()
			if after.Assignments != before.Assignments || after.Grants != before.Grants || after.Emails != before.Emails || after.AuditOK != before.AuditOK {
				t.Fatalf("a refused token changed state: %+v -> %+v", before, after)
			}
		})
	}
	for _, id := range []string{used.ID, lapsed.ID} {
		if a, _ := e.Store.AssignmentByID(context.Background(), id); a.Decision == domain.DecisionApproved || a.ActivatedAt != nil {
			t.Fatalf("assignment %s approved by a refused token: %+v", id, a)
		}
	}
}

func TestApprovalLinkGETNeverDecides(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "scanner test")
	path := e.ApprovalPath(a.ID, "ops@contoso.example")
	before := e.Counts()
	for _, p := range []string{path, path + "?decision=approve", path + "?approve=1"} {
		if code, _ := e.Anonymous().Page(p); code != http.StatusOK {
			t.Fatalf("GET %s: %d", p, code)
		}
	}
	req, _ := http.NewRequest("HEAD", e.HTTP.URL+path, nil)
	e.Anonymous().Send(req)
	if after := e.Counts(); after != before {
		t.Fatalf("GET changed state: %+v -> %+v", before, after)
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.State != domain.StatePendingApproval {
		t.Fatalf("state %s after GETs, want pending_approval", got.State)
	}
}

func TestCustomersAndPartnersSeeOnlyTheirOwn(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "isolation")
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	fabrikam := e.Login("admin@fabrikam.example")
	tailspin := e.Login("agent@tailspin.example")
	for _, who := range []*testenv.Session{fabrikam, tailspin} {
		for _, req := range []struct{ method, path string }{
			{"GET", "/api/v1/sites/" + demo.ContosoSite},
			{"GET", "/api/v1/assignments/" + a.ID},
			{"DELETE", "/api/v1/assignments/" + a.ID},
		} {
			if code, body := who.Do(req.method, req.path, nil); code != http.StatusNotFound {
				t.Fatalf("%s %s %s: %d %s, want 404", who.Email, req.method, req.path, code, body)
			}
		}
		if code, _ := who.Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "approve"}); code != http.StatusNotFound && code != http.StatusForbidden {
			t.Fatalf("%s decided on another's assignment: %d", who.Email, code)
		}
		_, body := who.Do("GET", "/api/v1/sites", nil)
		if strings.Contains(string(body), demo.ContosoSite) {
			t.Fatalf("%s sees Contoso's site: %s", who.Email, body)
		}
		_, body = who.Do("GET", "/api/v1/assignments", nil)
		if strings.Contains(string(body), a.ID) {
			t.Fatalf("%s lists Contoso's assignment", who.Email)
		}
		_, body = who.Do("GET", "/api/v1/audit?assignment="+a.ID, nil)
		if strings.Contains(string(body), "assignment.requested") {
			t.Fatalf("%s reads Contoso's audit log: %s", who.Email, body)
		}
		if code, _ := who.Do("PUT", "/api/v1/customers/"+demo.Contoso+"/partner-permission", nil); code != http.StatusNotFound && code != http.StatusForbidden {
			t.Fatalf("%s changed Contoso's permission: %d", who.Email, code)
		}
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.State != domain.StatePendingApproval {
		t.Fatalf("state %s, want untouched", got.State)
	}
}

func TestR6PartnerCannotApproveItsOwnRequest(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "self approval")
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	for _, who := range []*testenv.Session{agent, e.Login("solo@partner.example")} {
		code, body := who.Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "approve"})
		if code != http.StatusForbidden || problemOf(t, body)["rule"] != "R6" {
			t.Fatalf("%s approving: %d %s, want 403 R6", who.Email, code, body)
		}
	}
	// Nor can a partner grant itself permission or create customer users.
	if code, body := agent.Do("PUT", "/api/v1/customers/"+demo.Litware+"/partner-permission", nil); code != http.StatusForbidden || problemOf(t, body)["rule"] != "R6" {
		t.Fatalf("partner granting itself permission: %d %s", code, body)
	}
	if code, body := agent.Do("POST", "/api/v1/customers/"+demo.Contoso+"/users", map[string]any{"email": "x@contoso.example", "name": "X"}); code != http.StatusForbidden {
		t.Fatalf("partner creating a customer user: %d %s", code, body)
	}
	log, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{ActorID: demo.Agent})
	refused := 0
	for _, l := range log {
		if l.Outcome == store.OutcomeRefused {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("%d refusals by the agent in the audit log, want 3", refused)
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.State != domain.StatePendingApproval {
		t.Fatalf("state %s, want still pending", got.State)
	}
}

func TestR1CustomerGrantsAndWithdrawsPermission(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	litware := e.Login("admin@litware.example")
	if code, _, _ := agent.Assign(demo.LitwareSite, demo.Solo, "", "before permission"); code != http.StatusForbidden {
		t.Fatalf("before permission: %d", code)
	}
	if code, body := litware.Do("PUT", "/api/v1/customers/"+demo.Litware+"/partner-permission", nil); code != http.StatusOK {
		t.Fatalf("grant: %d %s", code, body)
	}
	code, a, body := agent.Assign(demo.LitwareSite, demo.Solo, "", "after permission")
	if code != http.StatusCreated {
		t.Fatalf("after permission: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	if code, _ := litware.Do("DELETE", "/api/v1/customers/"+demo.Litware+"/partner-permission", nil); code != http.StatusOK {
		t.Fatalf("withdraw: %d", code)
	}
	// Withdrawing the permission ends what it allowed.
	ended := e.WaitState(a.ID, domain.StateWithdrawn, 10*time.Second)
	if ended.EndReason != "permission withdrawn by admin@litware.example" {
		t.Fatalf("end reason %q", ended.EndReason)
	}
	if code, _, _ := agent.Assign(demo.LitwareSite, demo.Agent, store.RolePartnerConsultant, "after withdrawal"); code != http.StatusForbidden {
		t.Fatalf("after withdrawal: %d", code)
	}
}

func TestTemporalDownAnswers503AndWritesNothing(t *testing.T) {
	e := testenv.New(t, testenv.Options{OwnTemporal: true}) // it stops Temporal
	agent := e.Login("agent@partner.example")
	_, pending, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "before the outage")
	e.WaitState(pending.ID, domain.StatePendingApproval, 10*time.Second)
	path := e.ApprovalPath(pending.ID, "admin@contoso.example")
	e.StopWorker()
	e.Temporal.Stop()

	before := e.Counts()
	code, _, body := agent.Assign(demo.ContosoSite, demo.Agent, store.RolePartnerConsultant, "during the outage")
	if code != http.StatusServiceUnavailable || !strings.Contains(problemOf(t, body)["detail"].(string), "try again") {
		t.Fatalf("assign with Temporal down: %d %s", code, body)
	}
	if e.AssignmentIsOpen(demo.ContosoSite, demo.Agent) {
		t.Fatal("an assignment row was left behind")
	}
	code, page, _ := e.Anonymous().Form(path, map[string]string{"decision": "approve"})
	if code != http.StatusServiceUnavailable || !strings.Contains(string(page), "try again") {
		t.Fatalf("approve with Temporal down: %d, want 503 asking to try again\n%s", code, page)
	}
	if code, _ := agent.Do("DELETE", "/api/v1/assignments/"+pending.ID, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("unassign with Temporal down: %d", code)
	}
	after := e.Counts()
	if after.Assignments != before.Assignments || after.Grants != before.Grants || after.Emails != before.Emails {
		t.Fatalf("state changed during the outage: %+v -> %+v", before, after)
	}
	if code, _ := e.Anonymous().Do("GET", "/readyz", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Temporal down: %d", code)
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), pending.ID); got.State != domain.StatePendingApproval {
		t.Fatalf("pending assignment changed: %s", got.State)
	}
}

func TestCrossOriginFormPostsAreRefused(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	agent := e.Login("agent@partner.example")
	before := e.Counts()
	for _, path := range []string{"/sites/" + demo.ContosoSite + "/assignments", "/logout", "/customers/" + demo.Contoso + "/permission"} {
		req, _ := http.NewRequest("POST", e.HTTP.URL+path, strings.NewReader("user_id=northwind-solo&reason=x&granted=no"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		if code, _ := agent.Send(req); code != http.StatusForbidden {
			t.Fatalf("cross-origin POST %s: %d, want 403", path, code)
		}
	}
	if after := e.Counts(); after != before {
		t.Fatalf("a cross-origin request changed state: %+v -> %+v", before, after)
	}
	// The session cookie is HttpOnly and SameSite.
	req, _ := http.NewRequest("POST", e.HTTP.URL+"/api/v1/session", strings.NewReader(`{"email":"solo@partner.example","password":"demo-password"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
		t.Fatalf("session cookie %q", cookie)
	}
}
