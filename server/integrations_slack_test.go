package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/slackchat/slacktest"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/workflows"
)

const (
	slackContosoSecret  = "contoso-slack-signing-secret"
	slackFabrikamSecret = "fabrikam-slack-signing-secret"
	slackCasey          = "U0CASEY"
	slackOlive          = "U0OLIVE"
)

// slackEnv is the whole service with Contoso and Fabrikam asking their
// approvers in Slack, through a stand-in of Slack's Web API; the apps'
// secrets are in files, as the directory file names them.
type slackEnv struct {
	*testenv.Env
	slack *slacktest.Server
}

func newSlackEnv(t *testing.T, timing workflows.Timing) *slackEnv {
	t.Helper()
	sl := slacktest.New(t,
		slacktest.Workspace{TeamID: "T0CONTOSO", BotToken: "xoxb-contoso-test", SigningSecret: slackContosoSecret,
			Users: map[string]string{"admin@contoso.example": slackCasey, "ops@contoso.example": slackOlive}},
		slacktest.Workspace{TeamID: "T0FABRIKAM", BotToken: "xoxb-fabrikam-test", SigningSecret: slackFabrikamSecret,
			Users: map[string]string{"admin@fabrikam.example": "U0FRAN"}})
	e := testenv.New(t, testenv.Options{Timing: timing, SlackAPIURL: sl.URL()})
	dir := t.TempDir()
	file := func(name, value string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, w := range []store.SlackWorkspace{
		{CustomerID: demo.Contoso, TeamID: "T0CONTOSO", BotTokenFile: file("contoso-bot", "xoxb-contoso-test"),
			SigningSecretFile: file("contoso-signing", slackContosoSecret)},
		{CustomerID: demo.Fabrikam, TeamID: "T0FABRIKAM", BotTokenFile: file("fabrikam-bot", "xoxb-fabrikam-test"),
			SigningSecretFile: file("fabrikam-signing", slackFabrikamSecret)},
	} {
		if err := e.Store.SetSlackWorkspace(context.Background(), w.CustomerID, &w); err != nil {
			t.Fatal(err)
		}
	}
	return &slackEnv{Env: e, slack: sl}
}

// dm waits for the direct message to a Slack user.
func (e *slackEnv) dm(user string) slacktest.Message {
	e.T.Helper()
	var m slacktest.Message
	e.Eventually(20*time.Second, "a Slack message to "+user, func() bool {
		var err error
		m, err = e.slack.Last(slacktest.DM(user))
		return err == nil
	})
	return m
}

// click posts a click as Slack does: by Slack user `by` of team, on the
// message sent to `to` (for approver approverID), signed with secret at.
func (e *slackEnv) click(assignmentID, team, by, to, approverID, action, secret string, at time.Time) (http.Header, []byte) {
	e.T.Helper()
	m := e.dm(to)
	body := slacktest.Click{TeamID: team, UserID: by, Channel: m.Channel, TS: m.TS, ActionID: action,
		Value: assignmentID + "/0/" + approverID}.Payload()
	return slacktest.Sign(secret, at, body), body
}

// assign asks for Sam Solo's access to Contoso's Standard site.
func (e *slackEnv) assign(reason string) store.Assignment {
	e.T.Helper()
	status, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", reason)
	if status != http.StatusCreated {
		e.T.Fatalf("assign: %d %s", status, body)
	}
	return a
}

func (e *slackEnv) post(h http.Header, body []byte) int {
	e.T.Helper()
	status, err := slacktest.Post(e.HTTP.URL+"/integrations/slack/interactions", h, body)
	if err != nil {
		e.T.Fatal(err)
	}
	return status
}

func (e *slackEnv) chatRefusals(assignmentID string) []store.AuditEntry {
	e.T.Helper()
	log, err := e.Store.AuditLog(context.Background(), store.AuditFilter{Limit: 1000})
	if err != nil {
		e.T.Fatal(err)
	}
	var out []store.AuditEntry
	for _, en := range log {
		if en.Action == domain.ActionChatRefused && (assignmentID == "" || en.AssignmentID == assignmentID) {
			out = append(out, en)
		}
	}
	return out
}

// An approver approves in Slack with one click: the request reached each
// approver as a DM beside the email, every refused click (forged, stale,
// another workspace, another person) changed nothing and was audited, the
// approver's signed click made the assignment active with via slack, every
// approver's message says who approved, a replay decides nothing, and a
// later click is told who decided.
func TestSlackApprovalByClickMakesTheAssignmentActive(t *testing.T) {
	e := newSlackEnv(t, testenv.FastTiming)
	a := e.assign("CS-2001: month-end close")
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	casey, olive := e.dm(slackCasey), e.dm(slackOlive)
	for _, m := range []slacktest.Message{casey, olive} {
		if m.TeamID != "T0CONTOSO" || !strings.Contains(string(m.Blocks), "CS-2001: month-end close") || !strings.Contains(string(m.Blocks), `"action_id":"approve"`) {
			t.Fatalf("DM %+v", m)
		}
	}
	if len(e.Mail(a.ID, domain.EmailApprovalRequest, "admin@contoso.example")) != 1 {
		t.Fatal("the approval email did not go beside the Slack message")
	}
	if n := len(e.slack.Calls("chat.postMessage")); n != 2 {
		t.Fatalf("%d messages posted, want one per approver", n)
	}

	now := time.Now()
	forged := func(h http.Header, b []byte) (http.Header, []byte) {
		h.Set("X-Slack-Signature", "v0="+strings.Repeat("0f", 32))
		return h, b
	}
	for _, tc := range []struct {
		name   string
		h      http.Header
		body   []byte
		status int
	}{
		{"a bad signature", nil, nil, http.StatusUnauthorized},
		{"a stale timestamp", nil, nil, http.StatusUnauthorized},
		{"the wrong team", nil, nil, http.StatusForbidden},
		{"another user's click", nil, nil, http.StatusForbidden},
	} {
		switch tc.name {
		case "a bad signature":
			tc.h, tc.body = forged(e.click(a.ID, "T0CONTOSO", slackCasey, slackCasey, demo.ContosoAdmin, "approve", slackContosoSecret, now))
		case "a stale timestamp":
			tc.h, tc.body = e.click(a.ID, "T0CONTOSO", slackCasey, slackCasey, demo.ContosoAdmin, "approve", slackContosoSecret, now.Add(-6*time.Minute))
		case "the wrong team":
			tc.h, tc.body = e.click(a.ID, "T0FABRIKAM", slackCasey, slackCasey, demo.ContosoAdmin, "approve", slackFabrikamSecret, now)
		case "another user's click":
			tc.h, tc.body = e.click(a.ID, "T0CONTOSO", slackOlive, slackCasey, demo.ContosoAdmin, "approve", slackContosoSecret, now)
		}
		if got := e.post(tc.h, tc.body); got != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.status)
		}
	}
	if got := e.WaitState(a.ID, domain.StatePendingApproval, time.Second); got.Decision != "" {
		t.Fatalf("a refused click decided: %+v", got)
	}
	if n := len(e.slack.Calls("chat.update")); n != 0 {
		t.Fatalf("refused clicks redrew %d messages", n)
	}
	// The two that proved nothing (forged, stale) are sampled like random
	// approval links, one row a minute; the two Slack signed are each
	// written, in the assignment's log.
	refused := e.chatRefusals("")
	if len(refused) != 3 || refused[0].AssignmentID != "" || !strings.Contains(refused[0].Detail, "not signed") {
		t.Fatalf("%d chat refusals audited, want 3: %+v", len(refused), refused)
	}
	for _, r := range refused {
		if r.Via != chat.ViaSlack || r.Outcome != store.OutcomeRefused {
			t.Errorf("refusal audited as %+v", r)
		}
	}
	if len(e.chatRefusals(a.ID)) != 2 {
		t.Errorf("the proven refusals (wrong team, another user) are not in the assignment's log: %+v", refused)
	}

	h, b := e.click(a.ID, "T0CONTOSO", slackCasey, slackCasey, demo.ContosoAdmin, "approve", slackContosoSecret, time.Now())
	if got := e.post(h, b); got != http.StatusOK {
		t.Fatalf("the approver's click: %d", got)
	}
	active := e.WaitState(a.ID, domain.StateActive, 10*time.Second)
	if active.Decision != domain.DecisionApproved || active.DecidedBy != "admin@contoso.example" || active.DecidedVia != chat.ViaSlack {
		t.Fatalf("approved as %+v", active)
	}
	for _, u := range []string{slackCasey, slackOlive} {
		m := e.dm(u)
		if !strings.Contains(string(m.Blocks), "Approved by Casey Contoso at") || strings.Contains(string(m.Blocks), `"type":"button"`) || m.Updates == 0 {
			t.Errorf("message to %s after the approval: %d updates, %s", u, m.Updates, m.Blocks)
		}
	}
	approvedEntries := func() int {
		log, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: a.ID})
		n := 0
		for _, en := range log {
			if en.Action == domain.ActionAssignmentApproved {
				n++
				if en.Via != chat.ViaSlack {
					t.Errorf("approval audited with via %q", en.Via)
				}
			}
		}
		return n
	}
	if approvedEntries() != 1 {
		t.Fatalf("%d approvals audited", approvedEntries())
	}
	// The assignment page says where the approvers were asked, and where it was decided.
	if status, page := e.Login("admin@contoso.example").Page("/assignments/" + a.ID); status != http.StatusOK ||
		!strings.Contains(page, "in Slack by admin@contoso.example") || !strings.Contains(page, "Asked in chats") || !strings.Contains(page, "<td>Slack</td>") {
		t.Fatalf("assignment page %d:\n%s", status, page)
	}

	// The same signed click again: answered, and nothing more happens.
	if got := e.post(h, b); got != http.StatusOK {
		t.Fatalf("replay: %d", got)
	}
	if approvedEntries() != 1 || len(e.chatRefusals(a.ID)) != 3 {
		t.Fatalf("a replay: %d approvals, %d refusals audited", approvedEntries(), len(e.chatRefusals(a.ID)))
	}

	// Olive, too late: told who decided.
	h, b = e.click(a.ID, "T0CONTOSO", slackOlive, slackOlive, demo.ContosoOps, "deny", slackContosoSecret, time.Now())
	if got := e.post(h, b); got != http.StatusOK {
		t.Fatalf("a later click: %d", got)
	}
	if m := e.dm(slackOlive); !strings.Contains(string(m.Blocks), "Already decided: Approved by Casey Contoso") {
		t.Fatalf("a later click answered %s", m.Blocks)
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.Decision != domain.DecisionApproved {
		t.Fatalf("a later denial changed the decision: %+v", got)
	}
}

// Slack down while the request is made: the email goes at once, and the
// message follows when Slack is back.
func TestSlackDownDelaysOnlyTheMessage(t *testing.T) {
	e := newSlackEnv(t, testenv.FastTiming)
	e.slack.Down()
	a := e.assign("CS-2002: Slack is down")
	e.Eventually(10*time.Second, "the approval email", func() bool {
		return len(e.Mail(a.ID, domain.EmailApprovalRequest, "admin@contoso.example")) == 1
	})
	if _, err := e.slack.Last(slacktest.DM(slackCasey)); err == nil {
		t.Fatal("a message while Slack was down")
	}
	e.Eventually(10*time.Second, "a failed attempt recorded", func() bool {
		d, err := e.Store.ChatDeliveryOf(context.Background(), a.ID, 0, demo.ContosoAdmin, chat.ViaSlack)
		return err == nil && d.State == store.ChatSending && strings.Contains(d.Detail, "retrying")
	})
	e.slack.Up()
	m := e.dm(slackCasey)
	if !strings.Contains(string(m.Blocks), "CS-2002: Slack is down") {
		t.Fatalf("message after Slack came back: %s", m.Blocks)
	}
	e.Eventually(10*time.Second, "the delivery recorded sent", func() bool {
		d, err := e.Store.ChatDeliveryOf(context.Background(), a.ID, 0, demo.ContosoAdmin, chat.ViaSlack)
		return err == nil && d.State == store.ChatSent && d.Ref == m.Channel+"/"+m.TS
	})
}

// Slack down for longer than the retry window: the delivery is recorded
// failed, and the request goes on by email.
func TestSlackDownPastTheWindowIsRecordedFailed(t *testing.T) {
	timing := testenv.FastTiming
	timing.EmailRetryFor = 3 * time.Second
	e := newSlackEnv(t, timing)
	e.slack.Down()
	a := e.assign("CS-2003: Slack is gone")
	e.Eventually(20*time.Second, "the delivery recorded failed", func() bool {
		d, err := e.Store.ChatDeliveryOf(context.Background(), a.ID, 0, demo.ContosoAdmin, chat.ViaSlack)
		return err == nil && d.State == store.ChatFailed
	})
	if len(e.Mail(a.ID, domain.EmailApprovalRequest, "admin@contoso.example")) != 1 {
		t.Fatal("no approval email")
	}
	link := e.ApprovalPath(a.ID, "admin@contoso.example")
	if status, _, _ := e.Anonymous().Form(link, map[string]string{"decision": "approve"}); status != http.StatusOK {
		t.Fatalf("approving by the email's link: %d", status)
	}
	e.WaitState(a.ID, domain.StateActive, 10*time.Second)
}

// Under chat_decisions sign_in the message's one button opens the
// assignment's page behind login, and a click forged to decide from it is
// refused and changes nothing.
func TestSlackSignInPolicyLinksToThePage(t *testing.T) {
	e := newSlackEnv(t, testenv.FastTiming)
	if err := e.Store.SetCustomerPolicy(context.Background(), demo.Contoso, `{"chat_decisions":"sign_in"}`); err != nil {
		t.Fatal(err)
	}
	a := e.assign("CS-2004: needs MFA")
	m := e.dm(slackCasey)
	if !strings.Contains(string(m.Blocks), `"url":"`+e.HTTP.URL+"/assignments/"+a.ID+`"`) || strings.Contains(string(m.Blocks), `"action_id":"approve"`) {
		t.Fatalf("a sign_in message: %s", m.Blocks)
	}
	h, b := e.click(a.ID, "T0CONTOSO", slackCasey, slackCasey, demo.ContosoAdmin, "open", slackContosoSecret, time.Now())
	if got := e.post(h, b); got != http.StatusOK {
		t.Fatalf("following the link: %d", got)
	}
	h, b = e.click(a.ID, "T0CONTOSO", slackCasey, slackCasey, demo.ContosoAdmin, "approve", slackContosoSecret, time.Now())
	if got := e.post(h, b); got != http.StatusForbidden {
		t.Fatalf("an approve forged on a sign_in message: %d, want 403", got)
	}
	if got := e.WaitState(a.ID, domain.StatePendingApproval, time.Second); got.Decision != "" {
		t.Fatalf("decided from a sign_in message: %+v", got)
	}
}
