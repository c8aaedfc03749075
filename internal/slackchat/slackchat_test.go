package slackchat_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/slackchat"
	"github.com/partneraccess/partneraccess/internal/slackchat/slacktest"
	"github.com/partneraccess/partneraccess/internal/store"
)

const (
	contosoToken   = "xoxb-contoso-standin-token"
	contosoSecret  = "contoso-signing-secret"
	fabrikamToken  = "xoxb-fabrikam-standin-token"
	fabrikamSecret = "fabrikam-signing-secret"
	casey, olive   = "U0CASEY", "U0OLIVE"
)

// decider records the decisions it is given and answers as the service
// would: the first settles the request, every later one finds it settled.
type decider struct {
	mu        sync.Mutex
	decisions []chat.Decision
	refusal   string // when set, every decision is refused so
}

func (d *decider) DecideInChat(_ context.Context, dec chat.Decision) (chat.Outcome, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.decisions = append(d.decisions, dec)
	if d.refusal != "" {
		return chat.Outcome{Refusal: d.refusal}, nil
	}
	if len(d.decisions) == 1 {
		return chat.Outcome{Counted: true, Decision: "approved", DecidedAt: time.Now()}, nil
	}
	return chat.Outcome{Decision: "approved", DecidedBy: "Casey Contoso", DecidedAt: time.Now(), Refusal: "already decided"}, nil
}

func (d *decider) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.decisions)
}

type auditor struct {
	mu      sync.Mutex
	entries []string
}

func (a *auditor) RefusedInChat(_ context.Context, via, assignmentID, detail string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, via+" "+assignmentID+": "+detail)
}

func (a *auditor) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.entries) == 0 {
		return ""
	}
	return a.entries[len(a.entries)-1]
}

type fixture struct {
	t       *testing.T
	st      *store.Store
	slack   *slacktest.Server
	channel *slackchat.Channel
	in      *slackchat.Interactions
	decider *decider
	audit   *auditor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := demo.Load(ctx, st, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
		Role: store.RolePartnerConsultant, Reason: "CS-1234", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_CONTOSO_SLACK_BOT", contosoToken)
	t.Setenv("TEST_CONTOSO_SLACK_SIGNING", contosoSecret)
	t.Setenv("TEST_FABRIKAM_SLACK_BOT", fabrikamToken)
	t.Setenv("TEST_FABRIKAM_SLACK_SIGNING", fabrikamSecret)
	for _, w := range []store.SlackWorkspace{
		{CustomerID: demo.Contoso, TeamID: "T0CONTOSO", BotTokenEnv: "TEST_CONTOSO_SLACK_BOT", SigningSecretEnv: "TEST_CONTOSO_SLACK_SIGNING"},
		{CustomerID: demo.Fabrikam, TeamID: "T0FABRIKAM", BotTokenEnv: "TEST_FABRIKAM_SLACK_BOT", SigningSecretEnv: "TEST_FABRIKAM_SLACK_SIGNING"},
	} {
		if err := st.SetSlackWorkspace(ctx, w.CustomerID, &w); err != nil {
			t.Fatal(err)
		}
	}
	sl := slacktest.New(t,
		slacktest.Workspace{TeamID: "T0CONTOSO", BotToken: contosoToken, SigningSecret: contosoSecret,
			Users: map[string]string{"admin@contoso.example": casey, "ops@contoso.example": olive}},
		slacktest.Workspace{TeamID: "T0FABRIKAM", BotToken: fabrikamToken, SigningSecret: fabrikamSecret,
			Users: map[string]string{"admin@fabrikam.example": "U0FRAN"}})
	cfg := slackchat.Config{APIURL: sl.URL(), Process: "the test"}
	f := &fixture{t: t, st: st, slack: sl, decider: &decider{}, audit: &auditor{}}
	f.channel = slackchat.NewChannel(st, cfg)
	f.in = slackchat.NewInteractions(st, st, f.decider, f.audit, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return f
}

func request(approverID, name, email string) chat.Request {
	return chat.Request{AssignmentID: "a1", CustomerID: demo.Contoso, Approver: chat.Approver{ID: approverID, Name: name, Email: email},
		PartnerName: "Northwind Partners", PartnerUserName: "Alex Agent", PartnerUserEmail: "agent@partner.example",
		CustomerName: "Contoso", SiteName: "Contoso Sage 200 Standard", Role: store.RolePartnerConsultant, Reason: "CS-1234: month-end",
		Duration: 72 * time.Hour, Deadline: time.Now().Add(time.Hour), Decisions: chat.InChat}
}

// deliverBoth sends the request to Casey and Olive.
func (f *fixture) deliverBoth() {
	f.t.Helper()
	for _, r := range []chat.Request{
		request(demo.ContosoAdmin, "Casey Contoso", "admin@contoso.example"),
		request(demo.ContosoOps, "Olive Ops", "ops@contoso.example"),
	} {
		if _, err := f.channel.Deliver(context.Background(), r); err != nil {
			f.t.Fatalf("deliver to %s: %v", r.Approver.Email, err)
		}
	}
}

// click is a click by Slack user `by` of team on the message sent to
// `to`, signed with secret at `at`.
func (f *fixture) click(team, by, to, approverID, action, secret string, at time.Time) (http.Header, []byte) {
	f.t.Helper()
	m, err := f.slack.Last(slacktest.DM(to))
	if err != nil {
		f.t.Fatal(err)
	}
	body := slacktest.Click{TeamID: team, UserID: by, Channel: m.Channel, TS: m.TS, ActionID: action, Value: "a1/0/" + approverID}.Payload()
	return slacktest.Sign(secret, at, body), body
}

// Each approver gets one direct message, found by email; a retry posts
// nothing more; an approver not in the workspace is unreachable, for good.
func TestDeliverSendsEachApproverOneDM(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := request(demo.ContosoAdmin, "Casey Contoso", "admin@contoso.example")
	d, err := f.channel.Deliver(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.slack.Last(slacktest.DM(casey))
	if err != nil || d.Channel != chat.ViaSlack || d.Ref != m.Channel+"/"+m.TS {
		t.Fatalf("delivery %+v, message %+v, %v", d, m, err)
	}
	for _, want := range []string{"Alex Agent of Northwind Partners", "CS-1234: month-end", "Contoso Sage 200 Standard", "for 3 days", `"action_id":"approve"`, `"action_id":"deny"`} {
		if !strings.Contains(string(m.Blocks), want) {
			t.Errorf("DM lacks %q: %s", want, m.Blocks)
		}
	}
	if again, err := f.channel.Deliver(ctx, r); err != nil || again != d {
		t.Fatalf("retry: %+v, %v; want %+v", again, err, d)
	}
	if n := len(f.slack.Calls("chat.postMessage")); n != 1 {
		t.Fatalf("%d posts after a retry, want 1", n)
	}
	if lookups := f.slack.Calls("users.lookupByEmail"); len(lookups) != 1 || lookups[0].TeamID != "T0CONTOSO" || lookups[0].Form.Get("email") != "admin@contoso.example" {
		t.Fatalf("lookups: %+v", lookups)
	}
	viewer := request(demo.ContosoViewer, "Vic Viewer", "viewer@contoso.example")
	for range 2 {
		if _, err := f.channel.Deliver(ctx, viewer); !errors.Is(err, chat.ErrUnreachable) {
			t.Fatalf("an approver not in Slack: %v, want unreachable", err)
		}
	}
	if n := len(f.slack.Calls("users.lookupByEmail")); n != 2 {
		t.Fatalf("%d lookups, want 2: an unreachable approver is not looked up again", n)
	}
	got, err := f.st.SlackMessageOf(ctx, "a1", 0, demo.ContosoViewer)
	if err != nil || got.State != store.SlackFailed || !strings.Contains(got.Error, "not a member") {
		t.Fatalf("unreachable recorded as %+v, %v", got, err)
	}
	fab := request(demo.FabrikamAdmin, "Fran Fabrikam", "admin@fabrikam.example")
	fab.CustomerID = demo.Litware
	if _, err := f.channel.Deliver(ctx, fab); !errors.Is(err, chat.ErrUnreachable) {
		t.Fatalf("a customer without Slack: %v, want unreachable", err)
	}
	if !f.channel.Enabled(demo.Contoso) || f.channel.Enabled(demo.Litware) {
		t.Fatal("Enabled does not follow the workspaces")
	}
}

// Slack down: the attempt fails (to be retried), recorded with a reason
// that never holds the token; once Slack is back the message follows.
func TestDeliverFollowsWhenSlackIsBack(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := request(demo.ContosoAdmin, "Casey Contoso", "admin@contoso.example")
	f.slack.Down()
	_, err := f.channel.Deliver(ctx, r)
	if err == nil || errors.Is(err, chat.ErrUnreachable) || strings.Contains(err.Error(), contosoToken) {
		t.Fatalf("Slack down: %v; want a retryable error without the token", err)
	}
	m, _ := f.st.SlackMessageOf(ctx, "a1", 0, demo.ContosoAdmin)
	if m.State != store.SlackSending || m.Error == "" || strings.Contains(m.Error, contosoToken) {
		t.Fatalf("recorded %+v", m)
	}
	f.slack.Up()
	if _, err := f.channel.Deliver(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := f.slack.Last(slacktest.DM(casey)); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.st.SlackMessageOf(ctx, "a1", 0, demo.ContosoAdmin); m.State != store.SlackSent || m.Attempts != 1 {
		t.Fatalf("after Slack came back: %+v", m)
	}
}

// An unreadable token is a clear error naming where it is read, never a
// value.
func TestDeliverWithoutItsTokenSaysWhere(t *testing.T) {
	f := newFixture(t)
	t.Setenv("TEST_CONTOSO_SLACK_BOT", "")
	_, err := f.channel.Deliver(context.Background(), request(demo.ContosoAdmin, "Casey Contoso", "admin@contoso.example"))
	if err == nil || !strings.Contains(err.Error(), "TEST_CONTOSO_SLACK_BOT") {
		t.Fatalf("no token: %v", err)
	}
	if n := len(f.slack.Calls("")); n != 0 {
		t.Fatalf("%d calls to Slack without a token", n)
	}
}

// A signed click by the approver asked decides through the decider, and
// every approver's message then says who approved; its replay decides
// nothing again.
func TestSignedClickDecidesAndUpdatesEveryMessage(t *testing.T) {
	f := newFixture(t)
	f.deliverBoth()
	h, body := f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "approve", contosoSecret, time.Now())
	if err := f.in.Handle(context.Background(), h, body); err != nil {
		t.Fatal(err)
	}
	if f.decider.count() != 1 {
		t.Fatalf("%d decisions", f.decider.count())
	}
	d := f.decider.decisions[0]
	if d != (chat.Decision{Via: chat.ViaSlack, CustomerID: demo.Contoso, ApproverID: demo.ContosoAdmin, AssignmentID: "a1", Approve: true}) {
		t.Fatalf("decision %+v", d)
	}
	for _, u := range []string{casey, olive} {
		m, _ := f.slack.Last(slacktest.DM(u))
		if m.Updates == 0 || !strings.Contains(string(m.Blocks), "Approved by Casey Contoso at") || strings.Contains(string(m.Blocks), `"type":"button"`) {
			t.Errorf("message to %s: %d updates, %s", u, m.Updates, m.Blocks)
		}
	}
	updates := len(f.slack.Calls("chat.update"))
	if err := f.in.Handle(context.Background(), h, body); err != nil {
		t.Fatalf("replay: %v, want answered", err)
	}
	if f.decider.count() != 1 || len(f.slack.Calls("chat.update")) != updates {
		t.Fatalf("replay decided again (%d decisions) or redrew (%d updates, was %d)", f.decider.count(), len(f.slack.Calls("chat.update")), updates)
	}
	if a := f.audit.last(); !strings.Contains(a, "slack a1: a replayed click") {
		t.Fatalf("replay audited as %q", a)
	}
	// A second approver's click finds it decided and is told by whom.
	h, body = f.click("T0CONTOSO", olive, olive, demo.ContosoOps, "deny", contosoSecret, time.Now())
	if err := f.in.Handle(context.Background(), h, body); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.slack.Last(slacktest.DM(olive)); !strings.Contains(string(m.Blocks), "Already decided: Approved by Casey Contoso") {
		t.Fatalf("second click answered %s", m.Blocks)
	}
}

// Every click that is not the approver's own, proven by its workspace's
// signature within 5 minutes, is refused, audited, and changes nothing.
func TestRefusedClicksChangeNothing(t *testing.T) {
	f := newFixture(t)
	f.deliverBoth()
	now := time.Now()
	forge := func(h http.Header) http.Header {
		h.Set("X-Slack-Signature", "v0="+strings.Repeat("ab", 32))
		return h
	}
	for _, tc := range []struct {
		name   string
		req    func() (http.Header, []byte)
		status int
		audit  string
	}{
		{"a bad signature", func() (http.Header, []byte) {
			h, b := f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "approve", contosoSecret, now)
			return forge(h), b
		}, 401, "not signed with customer contoso's Slack signing secret"},
		{"signed with another secret", func() (http.Header, []byte) {
			return f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "approve", fabrikamSecret, now)
		}, 401, "not signed"},
		{"a body changed after signing", func() (http.Header, []byte) {
			h, b := f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "approve", contosoSecret, now)
			return h, []byte(strings.Replace(string(b), "approve", "deny", 1))
		}, 401, "not signed"},
		{"a stale timestamp", func() (http.Header, []byte) {
			return f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "approve", contosoSecret, now.Add(-6*time.Minute))
		}, 401, "more than 5m0s from now"},
		{"no signature", func() (http.Header, []byte) {
			h, b := f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "approve", contosoSecret, now)
			h.Del("X-Slack-Signature")
			return h, b
		}, 401, "not signed"},
		{"an unknown workspace", func() (http.Header, []byte) {
			return f.click("T0ELSEWHERE", casey, casey, demo.ContosoAdmin, "approve", contosoSecret, now)
		}, 401, `"T0ELSEWHERE" is no customer's`},
		{"the wrong team", func() (http.Header, []byte) {
			return f.click("T0FABRIKAM", casey, casey, demo.ContosoAdmin, "approve", fabrikamSecret, now)
		}, 403, "on a request of another customer"},
		{"another user's click", func() (http.Header, []byte) {
			return f.click("T0CONTOSO", olive, casey, demo.ContosoAdmin, "approve", contosoSecret, now)
		}, 403, "Slack user U0OLIVE clicked a request sent to Slack user U0CASEY"},
		{"a click naming another approver's message", func() (http.Header, []byte) {
			return f.click("T0CONTOSO", olive, olive, demo.ContosoAdmin, "approve", contosoSecret, now)
		}, 403, "clicked a request sent to Slack user U0CASEY"},
		{"not a form", func() (http.Header, []byte) {
			b := []byte("%zz")
			return slacktest.Sign(contosoSecret, now, b), b
		}, 400, "not a Slack interaction"},
	} {
		h, body := tc.req()
		err := f.in.Handle(context.Background(), h, body)
		if got := status(err); got != tc.status {
			t.Errorf("%s: %d (%v), want %d", tc.name, got, err, tc.status)
		}
		if a := f.audit.last(); !strings.Contains(a, tc.audit) || !strings.HasPrefix(a, "slack ") {
			t.Errorf("%s: audited %q, want %q", tc.name, a, tc.audit)
		}
	}
	if f.decider.count() != 0 || len(f.slack.Calls("chat.update")) != 0 {
		t.Fatalf("refused clicks decided %d times, updated %d messages", f.decider.count(), len(f.slack.Calls("chat.update")))
	}
	// and none was claimed: the approver's own click still decides.
	h, body := f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "approve", contosoSecret, now)
	if err := f.in.Handle(context.Background(), h, body); err != nil || f.decider.count() != 1 {
		t.Fatalf("the approver's click after the refusals: %v, %d decisions", err, f.decider.count())
	}
}

// Under chat_decisions sign_in the message's link opens the page; a click
// forged to decide from it is refused.
func TestSignInMessagesDecideNothing(t *testing.T) {
	f := newFixture(t)
	r := request(demo.ContosoAdmin, "Casey Contoso", "admin@contoso.example")
	r.Decisions, r.PageURL = chat.SignIn, "http://127.0.0.1:8080/assignments/a1"
	if _, err := f.channel.Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	h, body := f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "open", contosoSecret, time.Now())
	if err := f.in.Handle(context.Background(), h, body); err != nil {
		t.Fatalf("following the link: %v", err)
	}
	h, body = f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "approve", contosoSecret, time.Now())
	if err := f.in.Handle(context.Background(), h, body); status(err) != 403 {
		t.Fatalf("an approve click on a sign_in message: %v", err)
	}
	if f.decider.count() != 0 {
		t.Fatal("a sign_in message decided")
	}
}

// status is the HTTP status the server answers err with.
func status(err error) int {
	p := problem.As(err)
	switch {
	case err == nil:
		return http.StatusOK
	case p == nil:
		return http.StatusInternalServerError
	case p.Kind == problem.KindUnauthorized:
		return http.StatusUnauthorized
	case p.Kind == problem.KindForbidden:
		return http.StatusForbidden
	case p.Kind == problem.KindInvalid:
		return http.StatusBadRequest
	}
	return 0
}

// A click the decider does not count (a suspended approver, say) is
// answered on the clicker's message with why, without buttons; the other
// approvers' messages are left as they are.
func TestUncountedClickIsAnsweredWithWhy(t *testing.T) {
	f := newFixture(t)
	f.deliverBoth()
	f.decider.refusal = "you no longer decide requests of Contoso"
	h, body := f.click("T0CONTOSO", casey, casey, demo.ContosoAdmin, "approve", contosoSecret, time.Now())
	if err := f.in.Handle(context.Background(), h, body); err != nil {
		t.Fatal(err)
	}
	m, _ := f.slack.Last(slacktest.DM(casey))
	if !strings.Contains(string(m.Blocks), "You no longer decide requests of Contoso.") || strings.Contains(string(m.Blocks), `"type":"button"`) {
		t.Fatalf("answered %s", m.Blocks)
	}
	if o, _ := f.slack.Last(slacktest.DM(olive)); o.Updates != 0 {
		t.Fatalf("another approver's message redrawn %d times", o.Updates)
	}
}
