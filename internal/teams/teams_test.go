package teams_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/teams"
	"github.com/partneraccess/partneraccess/internal/teams/teamstest"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	appID     = "0b070000-0000-0000-0000-0000000000b0"
	appSecret = "the-bot-secret"
	tenant    = testenv.ContosoTenant
	other     = "7e110000-0000-0000-0000-0000000000ff"
)

// people in Contoso's tenant, each with a 1:1 conversation with the bot.
var (
	casey = teamstest.Member{ID: "29:casey", Name: "Casey Contoso", AADObjectID: "aad-casey", Email: "admin@contoso.example", TenantID: tenant}
	olive = teamstest.Member{ID: "29:olive", Name: "Olive Ops", AADObjectID: "aad-olive", Email: "ops@contoso.example", TenantID: tenant}
)

func conv(m teamstest.Member) string { return "a:1on1-" + m.AADObjectID }

type fixture struct {
	t    *testing.T
	e    *testenv.Env
	stub *teamstest.Stub
}

// setup runs the service with the Teams bot against the stand-in, Contoso
// opted in with its tenant.
func setup(t *testing.T, timing workflows.Timing) *fixture {
	t.Helper()
	stub, err := teamstest.Start(appID, appSecret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stub.Close() })
	e := testenv.New(t, testenv.Options{Timing: timing,
		Teams: &teams.Config{AppID: appID, AppSecret: appSecret, OpenIDURL: stub.OpenIDURL(), LoginURL: stub.LoginURL()}})
	if err := e.Store.SetChatWorkspace(context.Background(), demo.Contoso, chat.ViaTeams, tenant); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, e: e, stub: stub}
}

func (f *fixture) post(token string, activity any) (int, []byte) {
	f.t.Helper()
	code, body, err := teamstest.Post(http.DefaultClient, f.e.HTTP.URL+teams.MessagesPath, token, activity)
	if err != nil {
		f.t.Fatal(err)
	}
	return code, body
}

func (f *fixture) token() string { return f.stub.Token(teamstest.Claims{}) }

func (f *fixture) install(m teamstest.Member) {
	f.t.Helper()
	if code, body := f.post(f.token(), f.stub.Install(tenant, conv(m), m)); code != http.StatusOK {
		f.t.Fatalf("install for %s: %d %s", m.Email, code, body)
	}
}

// cardOf waits for the card sent to m about assignment a.
func (f *fixture) cardOf(m teamstest.Member, a store.Assignment) teamstest.Activity {
	f.t.Helper()
	var got teamstest.Activity
	f.e.Eventually(15*time.Second, "a card to "+m.Email, func() bool {
		for _, act := range f.stub.Activities() {
			_, actions := teamstest.Card(teamstest.Activity{Body: act.Body})
			if act.Conversation == conv(m) && len(actions) > 0 && (actions[0].Data["assignment"] == a.ID || strings.HasSuffix(actions[0].URL, "/"+a.ID)) {
				got = act
				return true
			}
		}
		return false
	})
	return got
}

// click presses verb on the card act as m.
func (f *fixture) click(m teamstest.Member, act teamstest.Activity, verb string) (int, invoke) {
	f.t.Helper()
	_, actions := teamstest.Card(teamstest.Activity{Body: act.Body})
	if len(actions) == 0 {
		f.t.Fatalf("the card has no buttons: %s", teamstest.CardText(act.Body))
	}
	return f.clickData(f.token(), tenant, m, verb, actions[0].Data)
}

func (f *fixture) clickData(token, tenantID string, m teamstest.Member, verb string, data any) (int, invoke) {
	f.t.Helper()
	code, body := f.post(token, f.stub.Click(tenantID, conv(m), m, verb, data))
	var r invoke
	if code == http.StatusOK {
		if err := json.Unmarshal(body, &r); err != nil {
			f.t.Fatalf("invoke answer: %v: %s", err, body)
		}
	}
	return code, r
}

type invoke struct {
	StatusCode int            `json:"statusCode"`
	Type       string         `json:"type"`
	Value      map[string]any `json:"value"`
}

func (r invoke) text() string {
	b, _ := json.Marshal(r.Value)
	var v map[string]any
	json.Unmarshal(b, &v)
	return teamstest.CardText(v)
}

func (f *fixture) assign() store.Assignment {
	f.t.Helper()
	code, a, body := f.e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "CS-4711 month-end upgrade")
	if code != http.StatusCreated {
		f.t.Fatalf("assign: %d %s", code, body)
	}
	return a
}

func (f *fixture) audit(a store.Assignment) []store.AuditEntry {
	f.t.Helper()
	es, err := f.e.Store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: a.ID})
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

// TestTeams_BindingThenApprovalByClick: installing the app binds each
// approver's conversation; each gets a card with the request; Casey's
// Approve makes the assignment active with the audit entry a link gives
// plus via teams; Olive's card is updated, and her later click is
// answered with who decided.
func TestTeams_BindingThenApprovalByClick(t *testing.T) {
	f := setup(t, testenv.FastTiming)
	ctx := context.Background()
	f.install(casey)
	f.install(olive)
	for _, id := range []string{demo.ContosoAdmin, demo.ContosoOps} {
		b, err := f.e.Store.TeamsBindingOf(ctx, id)
		if err != nil || b.TenantID != tenant {
			t.Fatalf("binding of %s: %+v %v", id, b, err)
		}
	}
	a := f.assign()
	mine, hers := f.cardOf(casey, a), f.cardOf(olive, a)
	text := teamstest.CardText(mine.Body)
	for _, want := range []string{"Contoso Sage 200 Standard", "CS-4711 month-end upgrade", "Solo", "Approve", "Deny", "72 h"} {
		if !strings.Contains(text, want) && !(want == "72 h" && strings.Contains(text, "3 s")) {
			t.Errorf("the card does not say %q:\n%s", want, text)
		}
	}
	if got := f.e.Mail(a.ID, domain.EmailApprovalRequest, "admin@contoso.example"); len(got) != 1 {
		t.Fatalf("the approval email to Casey: %d, want 1 (the email stays)", len(got))
	}

	code, r := f.click(casey, mine, "approve")
	if code != http.StatusOK || r.StatusCode != http.StatusOK || !strings.Contains(r.text(), "Approved by Casey Contoso at") {
		t.Fatalf("Casey's click: %d %+v\n%s", code, r, r.text())
	}
	got := f.e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	if got.Decision != domain.DecisionApproved || got.DecidedBy != "admin@contoso.example" || got.DecidedVia != chat.ViaTeams {
		t.Fatalf("the assignment: %+v", got)
	}
	approved := false
	for _, e := range f.audit(a) {
		approved = approved || e.Action == domain.ActionAssignmentApproved && e.ActorID == demo.ContosoAdmin && e.Via == chat.ViaTeams
	}
	if !approved {
		t.Fatalf("no assignment.approved by Casey via teams in %+v", f.audit(a))
	}
	f.e.Eventually(15*time.Second, "Olive's card updated", func() bool {
		for _, act := range f.stub.Activities() {
			if act.ID == hers.ID && len(act.Updates) > 0 {
				_, actions := teamstest.Card(act)
				return strings.Contains(teamstest.CardText(act.Updates[len(act.Updates)-1]), "Approved by Casey Contoso") && len(actions) == 0
			}
		}
		return false
	})
	_, page := f.e.Login("admin@contoso.example").Page("/assignments/" + a.ID)
	for _, want := range []string{"approved in Teams by admin@contoso.example", "Asked in chats", "Olive Ops", "Microsoft Teams"} {
		if !strings.Contains(page, want) {
			t.Errorf("the assignment page lacks %q", want)
		}
	}
	code, r = f.click(olive, hers, "deny")
	if code != http.StatusOK || !strings.Contains(r.text(), "Already approved by Casey Contoso") {
		t.Fatalf("Olive's later click: %d\n%s", code, r.text())
	}
	if now := f.e.WaitState(a.ID, domain.StateActive, time.Second); now.Decision != domain.DecisionApproved {
		t.Fatalf("the later click changed the decision: %+v", now)
	}
	late := false
	for _, e := range f.audit(a) {
		late = late || e.Action == domain.ActionApprovalRefused && e.ActorID == demo.ContosoOps && e.Via == chat.ViaTeams
	}
	if !late {
		t.Fatalf("Olive's late click is not audited with via teams: %+v", f.audit(a))
	}
}

// TestTeams_SignInPolicyLinksToThePage: under chat_decisions: sign_in the
// card's button opens the request's page behind login, and a press sent
// as if in the chat decides nothing.
func TestTeams_SignInPolicyLinksToThePage(t *testing.T) {
	f := setup(t, testenv.FastTiming)
	if err := f.e.Store.SetCustomerPolicy(context.Background(), demo.Contoso, `{"chat_decisions":"sign_in"}`); err != nil {
		t.Fatal(err)
	}
	f.install(casey)
	a := f.assign()
	card := f.cardOf(casey, a)
	_, actions := teamstest.Card(card)
	if len(actions) != 1 || actions[0].Type != "Action.OpenUrl" || actions[0].URL != f.e.HTTP.URL+"/assignments/"+a.ID {
		t.Fatalf("buttons %+v, want one link to the request's page", actions)
	}
	data := map[string]any{"assignment": a.ID, "extension": 0, "approver": demo.ContosoAdmin}
	code, r := f.clickData(f.token(), tenant, casey, "approve", data)
	if code != http.StatusOK || r.StatusCode != http.StatusOK || !strings.Contains(r.text(), "did not count") {
		t.Fatalf("a press in the chat under sign_in: %d %+v %s", code, r, r.text())
	}
	if now := f.e.WaitState(a.ID, domain.StatePendingApproval, time.Second); now.Decision != "" {
		t.Fatalf("decided in the chat under sign_in: %+v", now)
	}
}

// TestTeams_BindingRefused: a member of another tenant, or with an email
// no user of the customer has, is never bound.
func TestTeams_BindingRefused(t *testing.T) {
	f := setup(t, testenv.FastTiming)
	ctx := context.Background()
	stranger := teamstest.Member{ID: "29:x", AADObjectID: "aad-x", Email: "admin@contoso.example", TenantID: other}
	f.post(f.token(), f.stub.Install(tenant, conv(stranger), stranger))
	unknown := teamstest.Member{ID: "29:y", AADObjectID: "aad-y", Email: "nobody@contoso.example", TenantID: tenant}
	f.post(f.token(), f.stub.Install(tenant, conv(unknown), unknown))
	partner := teamstest.Member{ID: "29:z", AADObjectID: "aad-z", Email: "agent@partner.example", TenantID: tenant}
	f.post(f.token(), f.stub.Install(tenant, conv(partner), partner))
	if bs, err := f.e.Store.TeamsBindings(ctx, demo.Contoso); err != nil || len(bs) != 0 {
		t.Fatalf("bindings: %+v %v, want none", bs, err)
	}
	es, _ := f.e.Store.AuditLog(ctx, store.AuditFilter{CustomerID: demo.Contoso})
	refused := 0
	for _, e := range es {
		if e.Action == domain.ActionTeamsBound && e.Outcome == store.OutcomeRefused {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("%d teams.bound refusals, want 3", refused)
	}
}

// TestTeams_RefusedClicksChangeNothing: every forged, stale, cross-tenant
// or wrong-person click is refused and leaves the request pending.
func TestTeams_RefusedClicksChangeNothing(t *testing.T) {
	f := setup(t, testenv.FastTiming)
	f.install(casey)
	f.install(olive)
	a := f.assign()
	mine, hers := f.cardOf(casey, a), f.cardOf(olive, a)
	_, actions := teamstest.Card(mine)
	data := actions[0].Data
	claims := func(c teamstest.Claims) string { return f.stub.Token(c) }
	for _, tc := range []struct {
		name  string
		token string
		http  int
	}{
		{"forged signature", f.stub.Forged(teamstest.Claims{}), http.StatusUnauthorized},
		{"expired token", claims(teamstest.Claims{Expiry: time.Now().Add(-10 * time.Minute)}), http.StatusUnauthorized},
		{"wrong audience", claims(teamstest.Claims{Audience: "another-bot"}), http.StatusUnauthorized},
		{"wrong issuer", claims(teamstest.Claims{Issuer: "https://login.example"}), http.StatusUnauthorized},
		{"wrong serviceUrl", claims(teamstest.Claims{ServiceURL: "https://smba.example/"}), http.StatusUnauthorized},
		{"no token", "", http.StatusUnauthorized},
	} {
		if code, _ := f.clickData(tc.token, tenant, casey, "approve", data); code != tc.http {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.http)
		}
	}
	refusedClick := func(name, tenantID string, m teamstest.Member, d map[string]any) {
		t.Helper()
		code, r := f.clickData(f.token(), tenantID, m, "approve", d)
		if code != http.StatusOK || r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d %+v, want a refusal", name, code, r)
		}
	}
	refusedClick("another tenant", other, casey, data)
	refusedClick("another member's click", tenant, olive, data)
	refusedClick("an unbound user", tenant, teamstest.Member{ID: "29:q", AADObjectID: "aad-unbound"}, data)
	// Olive suspended: her conversation is let go, and her card no longer decides.
	if code, body := f.e.Login("admin@contoso.example").Do("PATCH", "/api/v1/users/"+demo.ContosoOps, map[string]string{"status": "suspended"}); code != http.StatusOK {
		t.Fatalf("suspend Olive: %d %s", code, body)
	}
	if _, err := f.e.Store.TeamsBindingOf(context.Background(), demo.ContosoOps); err == nil {
		t.Fatal("a suspended user is still bound")
	}
	_, herActions := teamstest.Card(hers)
	refusedClick("a suspended approver", tenant, olive, herActions[0].Data)

	now := f.e.WaitState(a.ID, domain.StatePendingApproval, time.Second)
	if now.Decision != "" {
		t.Fatalf("a refused click decided: %+v", now)
	}
	es, _ := f.e.Store.AuditLog(context.Background(), store.AuditFilter{})
	refused := 0
	for _, e := range es {
		if e.Action == domain.ActionChatRefused && e.Via == chat.ViaTeams {
			refused++
		}
	}
	if refused < 1 { // anonymous refusals are sampled: at least the first is written
		t.Fatalf("no chat.refused via teams in the audit log")
	}
}

// TestTeams_ConnectorDownEmailStillGoes: the Bot Connector is down when
// the request is made: the email goes at once; the card follows once it is
// back, or is marked failed after the retry window.
func TestTeams_ConnectorDownEmailStillGoes(t *testing.T) {
	timing := testenv.FastTiming
	timing.EmailRetryFor = 4 * time.Second
	f := setup(t, timing)
	f.install(casey)
	f.install(olive)
	f.stub.Down(true)
	a := f.assign()
	f.e.Eventually(10*time.Second, "the approval emails", func() bool {
		return len(f.e.Mail(a.ID, domain.EmailApprovalRequest, "admin@contoso.example")) == 1
	})
	f.e.Eventually(15*time.Second, "the cards marked failed after the window", func() bool {
		ds, err := f.e.Store.ChatDeliveries(context.Background(), a.ID)
		failed := 0
		for _, d := range ds {
			if d.State == store.ChatFailed {
				failed++
			}
		}
		return err == nil && failed == 2
	})
	if n := len(f.stub.Activities()); n != 0 {
		t.Fatalf("%d cards sent while down", n)
	}

	// A second request, with the connector back after a moment: the cards follow.
	f.e.Login("agent@partner.example").Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "again"})
	f.e.WaitState(a.ID, domain.StateWithdrawn, 10*time.Second)
	var b store.Assignment
	f.e.Eventually(10*time.Second, "a new request once the first run closed (R8)", func() bool {
		code, got, _ := f.e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "CS-4712 again")
		b = got
		return code == http.StatusCreated
	})
	time.Sleep(1500 * time.Millisecond) // at least one attempt fails
	f.stub.Down(false)
	f.cardOf(casey, b)
	f.cardOf(olive, b)
}
