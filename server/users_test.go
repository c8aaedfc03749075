package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/mail/sendgridfake"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// newPassword is a password the policy accepts.
const newPassword = "lantern orbit cactus"

// invite has an administrator invite a user through the API and returns it.
func invite(t *testing.T, admin *testenv.Session, path, email, name string, roles ...string) map[string]any {
	t.Helper()
	code, body := admin.Do("POST", path, map[string]any{"email": email, "name": name, "roles": roles})
	if code != http.StatusCreated {
		t.Fatalf("invite %s: %d %s", email, code, body)
	}
	var u map[string]any
	json.Unmarshal(body, &u)
	if u["status"] != store.StatusInvited || u["invitation"] == nil {
		t.Fatalf("invited user: %s", body)
	}
	return u
}

func userStatus(t *testing.T, e *testenv.Env, id string) string {
	t.Helper()
	u, err := e.Store.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Status
}

func TestR2InviteRegisterAssignApproveSuspend(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration = time.Hour
	e := testenv.New(t, testenv.Options{Timing: timing})
	admin := e.Login("admin@partner.example")
	agent := e.Login("agent@partner.example")
	anon := e.Anonymous()

	nina := invite(t, admin, "/api/v1/partners/"+demo.Northwind+"/users", "nina@partner.example", "Nina New",
		store.RolePartnerSupportAgent, store.RolePartnerConsultant)
	id := nina["id"].(string)
	if code, _, body := agent.Assign(demo.ContosoSite, id, store.RolePartnerConsultant, "Case 1"); code != http.StatusUnprocessableEntity ||
		problemOf(t, body)["rule"] != "R2" {
		t.Fatalf("assign an invited user: %d %s", code, body)
	}

	// The invitation email speaks to Nina and carries the one-time link.
	ms := e.Mail("", domain.EmailInvitation, "nina@partner.example")
	if len(ms) != 1 || !strings.HasPrefix(ms[0].Text, "Hello Nina New,") || !strings.Contains(ms[0].Text, "Ada Admin has invited you") ||
		!strings.Contains(ms[0].Text, "7 days") {
		t.Fatalf("invitation email: %+v", ms)
	}
	path := e.UserLink(domain.EmailInvitation, "nina@partner.example", "/register/")
	token := strings.TrimPrefix(path, "/register/")
	if code, page := anon.Page(path); code != http.StatusOK || !strings.Contains(page, "Welcome, Nina New") || !strings.Contains(page, "Northwind Partners") {
		t.Fatalf("registration page: %d %s", code, page)
	}
	if userStatus(t, e, id) != store.StatusInvited {
		t.Fatal("opening the registration page changed the user")
	}

	// Weak passwords are refused, naming the field, and change nothing.
	for _, weak := range []string{"short-pass", "password1234", "Welcome2024!"} {
		code, body := anon.Do("POST", "/api/v1/registrations", map[string]string{"token": token, "password": weak})
		if p := problemOf(t, body); code != http.StatusUnprocessableEntity || p["field"] != "password" {
			t.Fatalf("weak password %q: %d %s", weak, code, body)
		}
	}
	if userStatus(t, e, id) != store.StatusInvited {
		t.Fatal("a refused registration changed the user")
	}
	if code, body := anon.Do("POST", "/api/v1/registrations", map[string]string{"token": token, "password": newPassword}); code != http.StatusOK {
		t.Fatalf("register: %d %s", code, body)
	}
	// The link worked once.
	if code, body := anon.Do("POST", "/api/v1/registrations", map[string]string{"token": token, "password": newPassword + "!"}); code != http.StatusGone ||
		!strings.Contains(problemOf(t, body)["detail"].(string), "already been used") {
		t.Fatalf("used invitation link: %d %s", code, body)
	}
	if code, page := anon.Page(path); code != http.StatusGone || !strings.Contains(page, "already been used") {
		t.Fatalf("used invitation page: %d %s", code, page)
	}

	ninaSession, code, body := e.LoginWith("nina@partner.example", newPassword)
	if code != http.StatusCreated {
		t.Fatalf("log in after registering: %d %s", code, body)
	}

	// Assignable now: Standard (approved) and Professional.
	code, std, body := agent.Assign(demo.ContosoSite, id, store.RolePartnerConsultant, "Case 2")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	approveByLink(t, e, std)
	_, pro, _ := agent.Assign(demo.FabrikamSite, id, store.RolePartnerSupportAgent, "Case 3")
	e.WaitState(pro.ID, domain.StateActive, 10*time.Second)
	if !askAccess(t, e, demo.ContosoSite, id).Allowed || !askAccess(t, e, demo.FabrikamSite, id).Allowed {
		t.Fatal("no access after approval")
	}

	// Suspension ends sessions and every open assignment, and login.
	code, body = admin.Do("PATCH", "/api/v1/users/"+id, map[string]any{"status": "suspended"})
	if code != http.StatusOK || !strings.Contains(string(body), `"status":"suspended"`) {
		t.Fatalf("suspend: %d %s", code, body)
	}
	for _, a := range []store.Assignment{std, pro} {
		ended := e.WaitState(a.ID, domain.StateRevoked, 15*time.Second)
		if !strings.Contains(ended.EndReason, "user suspended by admin@partner.example") {
			t.Fatalf("end reason %q", ended.EndReason)
		}
	}
	if askAccess(t, e, demo.ContosoSite, id).Allowed || askAccess(t, e, demo.FabrikamSite, id).Allowed {
		t.Fatal("access still allowed after suspension")
	}
	if code, _ := ninaSession.Do("GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("session of a suspended user: %d", code)
	}
	if _, code, body := e.LoginWith("nina@partner.example", newPassword); code != http.StatusForbidden || !strings.Contains(string(body), "suspended") {
		t.Fatalf("login while suspended: %d %s", code, body)
	}
	e.Eventually(10*time.Second, "both sides told", func() bool {
		return len(e.Mail(std.ID, domain.EmailAccessEnded, "admin@contoso.example")) == 1 &&
			len(e.Mail(std.ID, domain.EmailAccessEnded, "nina@partner.example")) == 1
	})
	if code, _, _ := agent.Assign(demo.ContosoSite, id, store.RolePartnerConsultant, "Case 4"); code != http.StatusUnprocessableEntity {
		t.Fatalf("assign a suspended user: %d", code)
	}

	// Reactivated, she logs in again.
	if code, body := admin.Do("PATCH", "/api/v1/users/"+id, map[string]any{"status": "active"}); code != http.StatusOK {
		t.Fatalf("reactivate: %d %s", code, body)
	}
	if _, code, _ := e.LoginWith("nina@partner.example", newPassword); code != http.StatusCreated {
		t.Fatalf("login after reactivation: %d", code)
	}
	log, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{PartnerID: demo.Northwind, Limit: 10000})
	seen := map[string]bool{}
	for _, l := range log {
		if l.Outcome == store.OutcomeOK {
			seen[string(l.Action)] = true
		}
	}
	for _, want := range []string{"user.invited", "user.invitation_sent", "user.registered", "user.suspended", "user.reactivated"} {
		if !seen[want] {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

func TestR6OnlyTheOrganizationsAdministratorsManageItsUsers(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	hash, _ := bcrypt.GenerateFromPassword([]byte(demo.Password), bcrypt.MinCost)
	now := time.Now()
	if err := e.Store.CreateUser(ctx, store.User{ID: "tailspin-admin", Email: "admin@tailspin.example", Name: "Tim Tailspin",
		Kind: store.KindPartner, PartnerID: demo.Tailspin, Status: store.StatusActive, RegisteredAt: &now,
		PasswordHash: string(hash), Roles: []string{store.RolePartnerAdmin}}); err != nil {
		t.Fatal(err)
	}
	admin := e.Login("admin@partner.example")
	agent := e.Login("agent@partner.example")
	tailspin := e.Login("admin@tailspin.example")
	contoso := e.Login("admin@contoso.example")
	ops := e.Login("ops@contoso.example")
	newbie := map[string]any{"email": "x@partner.example", "name": "X", "roles": []string{store.RolePartnerSupportAgent}}
	suspend := map[string]any{"status": "suspended"}
	before := e.Counts()
	cases := []struct {
		name        string
		as          *testenv.Session
		method, url string
		body        any
		status      int
		rule, field string
	}{
		{"agent invites", agent, "POST", "/api/v1/partners/" + demo.Northwind + "/users", newbie, 403, "R6", ""},
		{"agent suspends", agent, "PATCH", "/api/v1/users/" + demo.Solo, suspend, 403, "R6", ""},
		{"agent resends", agent, "POST", "/api/v1/users/" + demo.Invited + "/invitation", nil, 403, "R6", ""},
		{"agent lists", agent, "GET", "/api/v1/partners/" + demo.Northwind + "/users", nil, 403, "R6", ""},
		{"other partner's admin invites", tailspin, "POST", "/api/v1/partners/" + demo.Northwind + "/users", newbie, 403, "R6", ""},
		{"other partner's admin invites to a partner that does not exist", tailspin, "POST", "/api/v1/partners/nobody/users", newbie, 403, "R6", ""},
		{"other partner's admin suspends", tailspin, "PATCH", "/api/v1/users/" + demo.Solo, suspend, 404, "", "user"},
		{"other partner's admin resends", tailspin, "POST", "/api/v1/users/" + demo.Invited + "/invitation", nil, 404, "", "user"},
		{"customer admin invites partner users", contoso, "POST", "/api/v1/partners/" + demo.Northwind + "/users", newbie, 403, "R6", ""},
		{"customer admin suspends a partner user", contoso, "PATCH", "/api/v1/users/" + demo.Solo, suspend, 404, "", "user"},
		{"partner admin invites customer users", admin, "POST", "/api/v1/customers/" + demo.Contoso + "/users",
			map[string]any{"email": "y@contoso.example", "name": "Y"}, 403, "R6", ""},
		{"partner admin suspends a customer user", admin, "PATCH", "/api/v1/users/" + demo.ContosoOps, suspend, 403, "R6", ""},
		{"customer ops agent suspends", ops, "PATCH", "/api/v1/users/" + demo.ContosoViewer, suspend, 403, "R6", ""},
		{"admin suspends itself", admin, "PATCH", "/api/v1/users/" + demo.PartnerAdmin, suspend, 422, "R2", "status"},
		{"admin drops its own admin role", admin, "PATCH", "/api/v1/users/" + demo.PartnerAdmin, map[string]any{"roles": []string{store.RolePartnerConsultant}}, 422, "", "roles"},
		{"customer role for a partner user", admin, "PATCH", "/api/v1/users/" + demo.Solo, map[string]any{"roles": []string{store.RoleCustomerAdmin}}, 400, "", "roles"},
		{"no role for a partner user", admin, "PATCH", "/api/v1/users/" + demo.Solo, map[string]any{"roles": []string{}}, 422, "R3", "roles"},
		{"unknown status", admin, "PATCH", "/api/v1/users/" + demo.Solo, map[string]any{"status": "deleted"}, 422, "R2", "status"},
		{"suspend a user not registered", admin, "PATCH", "/api/v1/users/" + demo.Invited, suspend, 409, "", ""},
		{"resend to a registered user", admin, "POST", "/api/v1/users/" + demo.Solo + "/invitation", nil, 409, "", ""},
		{"empty change", admin, "PATCH", "/api/v1/users/" + demo.Solo, map[string]any{}, 400, "", ""},
		{"unknown field", admin, "PATCH", "/api/v1/users/" + demo.Solo, map[string]any{"email": "x@y.example"}, 400, "", "email"},
		{"bad email", admin, "POST", "/api/v1/partners/" + demo.Northwind + "/users", map[string]any{"email": "nope", "name": "X", "roles": []string{store.RolePartnerConsultant}}, 400, "", "email"},
		{"existing email", admin, "POST", "/api/v1/partners/" + demo.Northwind + "/users", map[string]any{"email": "solo@partner.example", "name": "X", "roles": []string{store.RolePartnerConsultant}}, 409, "", ""},
		{"unknown user", admin, "PATCH", "/api/v1/users/nobody", suspend, 404, "", "user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := tc.as.Do(tc.method, tc.url, tc.body)
			if code != tc.status {
				t.Fatalf("%d %s; want %d", code, body, tc.status)
			}
			p := problemOf(t, body)
			if rule, _ := p["rule"].(string); rule != tc.rule {
				t.Errorf("rule %q, want %q: %s", rule, tc.rule, body)
			}
			if field, _ := p["field"].(string); field != tc.field {
				t.Errorf("field %q, want %q: %s", field, tc.field, body)
			}
		})
	}
	if after := e.Counts(); after != before {
		t.Fatalf("refused requests changed something: %+v -> %+v", before, after)
	}
	for _, id := range []string{demo.Solo, demo.PartnerAdmin, demo.ContosoOps, demo.ContosoViewer} {
		if userStatus(t, e, id) != store.StatusActive {
			t.Errorf("%s is no longer active", id)
		}
	}
	log, _ := e.Store.AuditLog(ctx, store.AuditFilter{Limit: 10000})
	refused := 0
	for _, l := range log {
		if l.Outcome == store.OutcomeRefused && (l.Action == "user.refused" || l.Action == "request.refused") {
			refused++
		}
	}
	if refused < 13 {
		t.Fatalf("%d refusals audited, want one per 403/404 at least (13)", refused)
	}
}

func TestR4ACustomerAdministratorInvitesAnApproverWhoDecidesTheNextRequest(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	contoso := e.Login("admin@contoso.example")
	olga := invite(t, contoso, "/api/v1/customers/"+demo.Contoso+"/users", "olga@contoso.example", "Olga Ops", store.RoleCustomerOps)
	id := olga["id"].(string)

	// She registers through the page: two passwords that differ are refused first.
	path := e.UserLink(domain.EmailInvitation, "olga@contoso.example", "/register/")
	anon := e.Anonymous()
	code, page, _ := anon.Form(path, map[string]string{"password": newPassword, "password_confirm": "something else"})
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(page), "not the same") {
		t.Fatalf("mismatched passwords: %d %s", code, page)
	}
	code, page, loc := anon.Form(path, map[string]string{"password": newPassword, "password_confirm": newPassword})
	if code != http.StatusSeeOther || loc != "/login?notice=registered" {
		t.Fatalf("register by page: %d %s %s", code, loc, page)
	}
	if _, login := anon.Page(loc); !strings.Contains(login, "You are registered") || !strings.Contains(login, "Forgot your password?") {
		t.Fatalf("login page after registering: %s", login)
	}

	agent := e.Login("agent@partner.example")
	_, a, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 77")
	if a.ID == "" {
		t.Fatalf("assign: %s", body)
	}
	e.ApprovalPath(a.ID, "olga@contoso.example") // she is asked, with her own link
	session, code, _ := e.LoginWith("olga@contoso.example", newPassword)
	if code != http.StatusCreated {
		t.Fatalf("olga logs in: %d", code)
	}
	if code, body := session.Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("olga approves: %d %s", code, body)
	}
	if got := e.WaitState(a.ID, domain.StateActive, 10*time.Second); got.DecidedBy != "olga@contoso.example" {
		t.Fatalf("decided by %q", got.DecidedBy)
	}

	// Once suspended, her decisions no longer count: the server refuses her
	// link, and the workflow's own check refuses a signal the server signed.
	_, next, _ := agent.Assign(demo.ContosoSite, demo.Agent, store.RolePartnerConsultant, "Case 78")
	link := e.ApprovalPath(next.ID, "olga@contoso.example")
	if code, body := contoso.Do("PATCH", "/api/v1/users/"+id, map[string]any{"status": "suspended"}); code != http.StatusOK {
		t.Fatalf("suspend olga: %d %s", code, body)
	}
	if code, page, _ := anon.Form(link, map[string]string{"decision": "approve"}); code != http.StatusForbidden {
		t.Fatalf("suspended approver's link: %d %s", code, page)
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), next.ID); got.State != domain.StatePendingApproval {
		t.Fatalf("a suspended approver's decision counted: %+v", got)
	}
	fields := []string{next.ID, "approval", id}
	v, err := e.Acts.CheckSignal(context.Background(), activities.SignalCheck{AssignmentID: next.ID, CustomerID: demo.Contoso,
		PartnerID: demo.Northwind, ByID: id, Fields: fields, MAC: e.Keys.SignSignal(fields...), Decision: true})
	if err != nil || v.OK || v.Forged || !strings.Contains(v.Why, "no longer an active approver") {
		t.Fatalf("CheckSignal of a suspended approver = %+v, %v", v, err)
	}
}

func TestPasswordResetEndsTheOldSessionsAndSaysNothingOfUnknownAddresses(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	first, second := e.Login("agent@partner.example"), e.Login("agent@partner.example")
	anon := e.Anonymous()
	before := len(e.Mail("", domain.EmailPasswordReset, ""))
	for _, email := range []string{"nobody@partner.example", "invited@partner.example", "suspended@partner.example"} {
		code, body := anon.Do("POST", "/api/v1/password-reset", map[string]string{"email": email})
		if code != http.StatusAccepted {
			t.Fatalf("reset for %s: %d %s", email, code, body)
		}
	}
	code, known := anon.Do("POST", "/api/v1/password-reset", map[string]string{"email": "Agent@Partner.example"})
	_, unknown := anon.Do("POST", "/api/v1/password-reset", map[string]string{"email": "nobody@partner.example"})
	if code != http.StatusAccepted || string(known) != string(unknown) {
		t.Fatalf("answers differ: %d %s / %s", code, known, unknown)
	}
	path := e.UserLink(domain.EmailPasswordReset, "agent@partner.example", "/reset/")
	// The requests are served in turn after their answers: by the time the
	// agent's email is there, the three before it were handled.
	if n := len(e.Mail("", domain.EmailPasswordReset, "")); n != before+1 {
		t.Fatalf("%d reset emails for accounts that cannot reset", n-before-1)
	}
	if code, page := anon.Page(path); code != http.StatusOK || !strings.Contains(page, "agent@partner.example") {
		t.Fatalf("reset page: %d %s", code, page)
	}
	token := strings.TrimPrefix(path, "/reset/")
	if code, body := anon.Do("POST", "/api/v1/password-reset/complete", map[string]string{"token": token, "password": "qwerty123456"}); code != 422 {
		t.Fatalf("common password: %d %s", code, body)
	}
	if code, _ := first.Do("GET", "/api/v1/me", nil); code != http.StatusOK {
		t.Fatal("a refused reset ended the sessions")
	}
	if code, body := anon.Do("POST", "/api/v1/password-reset/complete", map[string]string{"token": token, "password": newPassword}); code != http.StatusOK {
		t.Fatalf("reset: %d %s", code, body)
	}
	for i, s := range []*testenv.Session{first, second} {
		if code, _ := s.Do("GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
			t.Fatalf("session %d survived the reset: %d", i+1, code)
		}
	}
	if _, code, _ := e.LoginWith("agent@partner.example", demo.Password); code != http.StatusUnauthorized {
		t.Fatalf("old password: %d", code)
	}
	if _, code, _ := e.LoginWith("agent@partner.example", newPassword); code != http.StatusCreated {
		t.Fatalf("new password: %d", code)
	}
	if code, _ := anon.Do("POST", "/api/v1/password-reset/complete", map[string]string{"token": token, "password": newPassword + "x"}); code != http.StatusGone {
		t.Fatalf("reset link used twice: %d", code)
	}
	for _, bad := range []string{"/reset/not-a-token", "/register/not-a-token", "/reset/" + strings.Repeat("A", 43)} {
		if code, page := anon.Page(bad); code != http.StatusNotFound || !strings.Contains(page, "not valid") {
			t.Fatalf("%s: %d %s", bad, code, page)
		}
	}
	// An invitation link is not a reset link.
	if code, _ := anon.Do("POST", "/api/v1/registrations", map[string]string{"token": token, "password": newPassword}); code != http.StatusNotFound {
		t.Fatalf("reset token used to register: %d", code)
	}
}

var passwordRE = regexp.MustCompile(`<code id="password">([^<]+)</code>`)

func TestR5TheAssignedUserHasANewTemporaryPasswordIssued(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, body := agent.Assign(demo.FabrikamSite, demo.Solo, "", "Case 9")
	if a.ID == "" {
		t.Fatalf("assign: %s", body)
	}
	e.WaitState(a.ID, domain.StateActive, 10*time.Second)
	solo := e.Login("solo@partner.example")
	view := func() string {
		t.Helper()
		code, page, _ := solo.Form("/credentials/"+a.ID, nil)
		m := passwordRE.FindSubmatch(page)
		if code != http.StatusOK || m == nil {
			t.Fatalf("view credential: %d %s", code, page)
		}
		return string(m[1])
	}
	first := view()
	if code, body := agent.Do("POST", "/api/v1/assignments/"+a.ID+"/credential", nil); code != http.StatusForbidden {
		t.Fatalf("someone else reissues: %d %s", code, body)
	}
	if code, body := solo.Do("POST", "/api/v1/assignments/"+a.ID+"/credential", nil); code != http.StatusCreated {
		t.Fatalf("reissue: %d %s", code, body)
	}
	if code, page, loc := solo.Form("/credentials/"+a.ID+"/reissue", nil); code != http.StatusSeeOther {
		t.Fatalf("reissue by page: %d %s %s", code, page, loc)
	} else if _, page := solo.Page(loc); !strings.Contains(page, "no longer works") || !strings.Contains(page, `id="reveal"`) {
		t.Fatalf("credential page after reissue: %s", page)
	}
	second := view()
	if second == first || len(second) < 12 {
		t.Fatalf("reissued password %q, first %q", second, first)
	}
	if code, page, _ := solo.Form("/credentials/"+a.ID, nil); code != http.StatusGone {
		t.Fatalf("the new password was shown twice: %d %s", code, page)
	}
	if code, _ := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, nil); code != http.StatusAccepted {
		t.Fatalf("unassign: %d", code)
	}
	e.WaitState(a.ID, domain.StateRevoked, 10*time.Second)
	if code, body := solo.Do("POST", "/api/v1/assignments/"+a.ID+"/credential", nil); code != http.StatusConflict {
		t.Fatalf("reissue after access ended: %d %s", code, body)
	}
	n := auditActions(t, e, a.ID)
	if n["credential.reissued/ok"] != 2 || n["credential.refused/refused"] != 1 || n["credential.reissue_refused/refused"] != 1 {
		t.Fatalf("audit: %v", n)
	}
}

func TestTheUsersPageInvitesResendsSuspendsAndSetsRoles(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	admin := e.Login("admin@partner.example")
	code, page := admin.Page("/users")
	if code != http.StatusOK || !strings.Contains(page, "Users of Northwind Partners") || !strings.Contains(page, "invited@partner.example") ||
		!strings.Contains(page, `href="/users"`) {
		t.Fatalf("users page: %d %s", code, page)
	}
	if code, page := e.Login("agent@partner.example").Page("/users"); code != http.StatusForbidden || strings.Contains(page, "invited@partner.example") {
		t.Fatalf("users page for an agent: %d", code)
	}
	steps := []struct {
		path   string
		form   map[string]string
		notice string
	}{
		{"/users", map[string]string{"email": "pat@partner.example", "name": "Pat Page", "roles": store.RolePartnerConsultant}, "Invitation sent."},
		{"/users/" + demo.Invited + "/invitation", nil, "A new invitation was sent"},
		{"/users/" + demo.Solo + "/status", map[string]string{"status": "suspended"}, "User suspended"},
		{"/users/" + demo.Solo + "/status", map[string]string{"status": "active"}, "User reactivated"},
		{"/users/" + demo.Solo + "/roles", map[string]string{"roles": store.RolePartnerConsultant}, "Roles saved."},
		{"/users/" + demo.Invited + "/invitation/withdraw", nil, "The invitation was withdrawn"},
	}
	for _, st := range steps {
		code, body, loc := admin.Form(st.path, st.form)
		if code != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", st.path, code, body)
		}
		if _, page := admin.Page(loc); !strings.Contains(page, st.notice) {
			t.Fatalf("%s: page lacks %q", st.path, st.notice)
		}
	}
	if u, _ := e.Store.UserByEmail(context.Background(), "pat@partner.example"); u.Status != store.StatusInvited || u.InvitedBy != demo.PartnerAdmin {
		t.Fatalf("pat: %+v", u)
	}
	if u, _ := e.Store.UserByID(context.Background(), demo.Solo); u.Status != store.StatusActive || len(u.Roles) != 1 || u.Roles[0] != store.RolePartnerConsultant {
		t.Fatalf("solo: %+v", u)
	}
	// A refused form shows the page again with the error, keeping what was typed.
	code, body, _ := admin.Form("/users", map[string]string{"email": "not-an-email", "name": "Kept Name"})
	if code != http.StatusBadRequest || !strings.Contains(string(body), "email must be an address") || !strings.Contains(string(body), "Kept Name") {
		t.Fatalf("refused invite: %d %s", code, body)
	}
	if ms := e.Mail("", domain.EmailInvitation, "invited@partner.example"); len(ms) != 1 {
		t.Fatalf("%d invitations to invited@partner.example", len(ms))
	}
}

func TestR3TheAssignFormOffersOnlyTheChosenUsersRoles(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	_, page := e.Login("agent@partner.example").Page("/sites/" + demo.ContosoSite)
	group := regexp.MustCompile(`(?s)<optgroup label="Alex Agent" data-user="` + demo.Agent + `">(.*?)</optgroup>`).FindStringSubmatch(page)
	if group == nil || !strings.Contains(group[1], store.RolePartnerSupportAgent) || !strings.Contains(group[1], store.RolePartnerConsultant) ||
		strings.Contains(group[1], store.RolePartnerAdmin) {
		t.Fatalf("roles offered for Alex: %v\n%s", group, page)
	}
	if strings.Contains(page, `data-user="`+demo.Solo+`"`) || !strings.Contains(page, `src="/static/assign.js"`) {
		t.Fatalf("a one-role user got a group, or the script is missing:\n%s", page)
	}
	if code, js := e.Anonymous().Page("/static/assign.js"); code != http.StatusOK || !strings.Contains(js, "data-user") {
		t.Fatalf("assign.js: %d", code)
	}
}

func TestAnInvitationThatCannotBeSentSaysSoAndCanBeSentAgain(t *testing.T) {
	fake := sendgridfake.New(t)
	e := testenv.New(t, testenv.Options{Sender: mail.NewSendGrid(fake.Key(), fake.URL()), NoWorker: true})
	admin := e.Login("admin@partner.example")
	fake.FailFor("rita@partner.example", http.StatusBadRequest)
	code, body := admin.Do("POST", "/api/v1/partners/"+demo.Northwind+"/users",
		map[string]any{"email": "rita@partner.example", "name": "Rita Retry", "roles": []string{store.RolePartnerConsultant}})
	p := problemOf(t, body)
	if code != http.StatusBadGateway || !strings.Contains(p["detail"].(string), "could not be sent") || !strings.Contains(p["detail"].(string), "/invitation") {
		t.Fatalf("invite with a refused email: %d %s", code, body)
	}
	u, err := e.Store.UserByEmail(context.Background(), "rita@partner.example")
	if err != nil || u.Status != store.StatusInvited {
		t.Fatalf("rita: %+v %v", u, err)
	}
	ms := e.Mail("", domain.EmailInvitation, "rita@partner.example")
	if len(ms) != 1 || ms[0].Status != store.EmailFailed || ms[0].Error == "" {
		t.Fatalf("failed invitation not recorded: %+v", ms)
	}
	// A transient failure is retried at once; a fresh invitation goes through.
	fake.FailFor("rita@partner.example", 0)
	fake.FailNext(1, http.StatusServiceUnavailable)
	if code, body := admin.Do("POST", "/api/v1/users/"+u.ID+"/invitation", nil); code != http.StatusAccepted {
		t.Fatalf("resend: %d %s", code, body)
	}
	if got := fake.Messages(); len(got) != 1 || got[0].To != "rita@partner.example" || !strings.Contains(got[0].Text, "/register/") {
		t.Fatalf("SendGrid got %+v", got)
	}
	// Sent through SendGrid, the body is not kept.
	if ms := e.Mail("", domain.EmailInvitation, "rita@partner.example"); len(ms) != 2 || ms[1].Status != store.EmailSent || ms[1].Text != "" {
		t.Fatalf("emails: %+v", ms)
	}
}
