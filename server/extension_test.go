package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/workflows"
)

// extensionTiming is short enough for a test and long enough that a request
// and a decision fit between the warning and the end.
var extensionTiming = workflows.Timing{
	ApprovalTimeout:      time.Minute,
	AccessDuration:       10 * time.Second,
	ExpiryWarning:        5 * time.Second,
	MaxExtensions:        2,
	ProfessionalReminder: time.Second,
	ReadyWait:            time.Second,
	EmailRetryFor:        time.Minute,
}

// assignmentJSON is GET /api/v1/assignments/{id}.
type assignmentJSON struct {
	testenv.APIAssignment
	Extensions []testenv.APIExtension `json:"extensions"`
	Emails     []struct {
		Kind      string     `json:"kind"`
		To        string     `json:"to"`
		Status    string     `json:"status"`
		Error     string     `json:"error"`
		CreatedAt time.Time  `json:"created_at"`
		SentAt    *time.Time `json:"sent_at"`
	} `json:"emails"`
}

func getAssignment(t *testing.T, s *testenv.Session, id string) assignmentJSON {
	t.Helper()
	code, body := s.Do("GET", "/api/v1/assignments/"+id, nil)
	if code != http.StatusOK {
		t.Fatalf("GET assignment: %d %s", code, body)
	}
	var a assignmentJSON
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// approvedStandard assigns solo to the Standard site and has it approved.
func approvedStandard(t *testing.T, e *testenv.Env) store.Assignment {
	t.Helper()
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 4711: upgrade")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	if code, _, _ := e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	return e.WaitState(a.ID, domain.StateActive, 10*time.Second)
}

func askMore(s *testenv.Session, id, duration, reason string) (int, []byte) {
	return s.Do("POST", "/api/v1/assignments/"+id+"/extension", map[string]string{"duration": duration, "reason": reason})
}

// extensionLink waits for the nth extension request to an approver and
// returns its link.
func extensionLink(t *testing.T, e *testenv.Env, id, approver string, n int) string {
	t.Helper()
	var path string
	e.Eventually(10*time.Second, "extension request to "+approver, func() bool {
		ms := e.Mail(id, domain.EmailExtensionRequest, approver)
		if len(ms) < n {
			return false
		}
		var err error
		path, err = testenv.Link(ms[n-1], "/approvals/")
		return err == nil
	})
	return path
}

// gauge reads partner_access_assignments{state} from /metrics.
func gauge(t *testing.T, e *testenv.Env, state string) float64 {
	t.Helper()
	_, metrics := e.Anonymous().Page("/metrics")
	prefix := `partner_access_assignments{state="` + state + `"} `
	for _, line := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", strings.TrimSpace(prefix))
	return 0
}

func TestR4WarningThenExtensionApprovedEndsAtTheNewEnd(t *testing.T) {
	t.Parallel() // waits on timers of seconds; runs beside the others in its own namespace
	e := testenv.New(t, testenv.Options{Timing: extensionTiming})
	if gauge(t, e, domain.StateActive) != 0 || gauge(t, e, domain.StateExpired) != 0 {
		t.Fatal("gauge not zero before any assignment")
	}
	a := approvedStandard(t, e)
	if gauge(t, e, domain.StateActive) != 1 || gauge(t, e, domain.StatePendingApproval) != 0 {
		t.Fatal("gauge did not move to active")
	}
	oldEnd := *a.AccessEndsAt
	e.Eventually(10*time.Second, "expiry warning to the partner user and the requester", func() bool {
		return len(e.Mail(a.ID, domain.EmailExpiryWarning, "solo@partner.example")) == 1 &&
			len(e.Mail(a.ID, domain.EmailExpiryWarning, "agent@partner.example")) == 1
	})
	warning := e.Mail(a.ID, domain.EmailExpiryWarning, "solo@partner.example")[0]
	if !strings.Contains(warning.Text, "/assignments/"+a.ID) || !strings.Contains(warning.Text, "ends in 5 seconds") {
		t.Fatalf("warning without the time left or the link to ask for more:\n%s", warning.Text)
	}

	solo := e.Login("solo@partner.example")
	code, body := askMore(solo, a.ID, "6s", "the upgrade overran")
	if code != http.StatusAccepted {
		t.Fatalf("ask for more: %d %s", code, body)
	}
	var asked struct{ Extension testenv.APIExtension }
	json.Unmarshal(body, &asked)
	if asked.Extension.N != 1 || asked.Extension.State != domain.ExtensionPending || asked.Extension.Duration != "6s" {
		t.Fatalf("extension answered %s", body)
	}
	path := extensionLink(t, e, a.ID, "ops@contoso.example", 1)
	if code, page := e.Anonymous().Page(path); code != http.StatusOK || !strings.Contains(page, "Extend access") || !strings.Contains(page, "the upgrade overran") {
		t.Fatalf("extension approval page: %d\n%s", code, page)
	}
	if code, _, _ := e.Anonymous().Form(path, map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("approve the extension: %d", code)
	}
	got := getAssignment(t, solo, a.ID)
	newEnd := oldEnd.Add(6 * time.Second)
	if got.AccessEndsAt == nil || !got.AccessEndsAt.Equal(newEnd) || len(got.Extensions) != 1 ||
		got.Extensions[0].State != domain.ExtensionApproved || got.Extensions[0].DecidedBy != "ops@contoso.example" {
		t.Fatalf("after approval: ends %v (want %v), extensions %+v", got.AccessEndsAt, newEnd, got.Extensions)
	}
	if ans := askAccess(t, e, demo.ContosoSite, demo.Solo); !ans.Allowed || ans.Until == nil || !ans.Until.Equal(newEnd) {
		t.Fatalf("gateway answer after the extension: %+v, want until %v", ans, newEnd)
	}
	// The first decision settles it: the other approver's link answers who decided.
	if code, _, _ := e.Anonymous().Form(extensionLink(t, e, a.ID, "admin@contoso.example", 1), map[string]string{"decision": "deny"}); code != http.StatusConflict {
		t.Fatalf("second decision on the extension: %d, want 409", code)
	}

	ended := e.WaitState(a.ID, domain.StateExpired, 30*time.Second)
	if ended.EndedAt.Before(newEnd) || ended.EndedAt.Sub(newEnd) > 3*time.Second {
		t.Fatalf("ended at %v, want at the new end %v (the old end was %v)", ended.EndedAt, newEnd, oldEnd)
	}
	if gauge(t, e, domain.StateActive) != 0 || gauge(t, e, domain.StateExpired) != 1 {
		t.Fatal("gauge did not move to expired")
	}
	e.WaitClosed(a)
	got = getAssignment(t, solo, a.ID)
	kinds := map[string]int{}
	for _, m := range got.Emails {
		kinds[m.Kind]++
		if m.Status != "sent" || m.SentAt == nil || m.CreatedAt.IsZero() || m.To == "" {
			t.Errorf("email in the API: %+v", m)
		}
	}
	// Warned before each end; both sides told of the new end.
	if kinds["expiry_warning"] != 4 || kinds["extension_request"] != 2 || kinds["extension_granted"] != 5 || kinds["access_ended"] != 5 {
		t.Fatalf("emails by kind %v", kinds)
	}
	log, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: a.ID})
	var actions []string
	for _, l := range log {
		actions = append(actions, string(l.Action))
	}
	if s := strings.Join(actions, " "); !strings.Contains(s, "extension.requested extension.approved") {
		t.Fatalf("audit %s", s)
	}
	// Another tenant sees none of it.
	if code, _ := e.Login("admin@fabrikam.example").Do("GET", "/api/v1/assignments/"+a.ID, nil); code != http.StatusNotFound {
		t.Fatalf("another customer reads the assignment and its emails: %d", code)
	}
}

func TestR4ExtensionDeniedEndsAtTheOldEndAndTheLimitHolds(t *testing.T) {
	t.Parallel() // waits on timers of seconds; runs beside the others in its own namespace
	timing := extensionTiming
	timing.AccessDuration, timing.ExpiryWarning = 20*time.Second, 0
	e := testenv.New(t, testenv.Options{Timing: timing})
	a := approvedStandard(t, e)
	oldEnd := *a.AccessEndsAt
	agent := e.Login("agent@partner.example") // a user of the partner, not the assignee
	if code, page := agent.Page("/assignments/" + a.ID); code != http.StatusOK || !strings.Contains(page, `id="extension-form"`) ||
		!strings.Contains(page, `<option value="10s">10 seconds</option>`) {
		t.Fatalf("assignment page offers no extension: %d", code)
	}
	for n := 1; n <= 2; n++ {
		if n == 1 { // from the page's form
			if code, _, loc := agent.Form("/assignments/"+a.ID+"/extension", map[string]string{"duration": "10s", "reason": "attempt 1"}); code != http.StatusSeeOther || !strings.Contains(loc, "notice=extension") {
				t.Fatalf("request from the page: %d %s", code, loc)
			}
		} else if code, body := askMore(agent, a.ID, "10s", "attempt "+strconv.Itoa(n)); code != http.StatusAccepted {
			t.Fatalf("request %d: %d %s", n, code, body)
		}
		if n == 1 { // one at a time
			if code, body := askMore(agent, a.ID, "10s", "again"); code != http.StatusConflict || !strings.Contains(string(body), "already waiting") {
				t.Fatalf("second request while one waits: %d %s", code, body)
			}
		}
		if code, _, _ := e.Anonymous().Form(extensionLink(t, e, a.ID, "admin@contoso.example", n), map[string]string{"decision": "deny"}); code != http.StatusOK {
			t.Fatalf("deny %d: %d", n, code)
		}
	}
	e.Eventually(10*time.Second, "both denials told", func() bool {
		return len(e.Mail(a.ID, domain.EmailExtensionDenied, "ops@contoso.example")) == 2
	})
	e.Settle(a.ID)
	before := e.Counts()
	code, body := askMore(agent, a.ID, "10s", "third")
	if code != http.StatusConflict || !strings.Contains(string(body), "at most 2") {
		t.Fatalf("third request: %d %s, want 409 naming the limit", code, body)
	}
	if after := e.Counts(); after != before {
		t.Fatalf("a refused request changed %+v into %+v", before, after)
	}
	got := getAssignment(t, agent, a.ID)
	if !got.AccessEndsAt.Equal(oldEnd) || len(got.Extensions) != 2 || got.Extensions[1].State != domain.ExtensionDenied {
		t.Fatalf("after denials: ends %v (want %v), %+v", got.AccessEndsAt, oldEnd, got.Extensions)
	}
	if n := len(e.Mail(a.ID, domain.EmailExtensionDenied, "solo@partner.example")); n != 2 {
		t.Fatalf("partner user told of %d denials, want 2", n)
	}
	ended := e.WaitState(a.ID, domain.StateExpired, 40*time.Second)
	if ended.EndedAt.Before(oldEnd) || ended.EndedAt.Sub(oldEnd) > 3*time.Second {
		t.Fatalf("ended at %v, want the old end %v", ended.EndedAt, oldEnd)
	}
	e.WaitClosed(a)
	code, body = askMore(agent, a.ID, "10s", "after the end")
	if code != http.StatusConflict || !strings.Contains(string(body), "already ended") {
		t.Fatalf("request after access ended: %d %s, want 409", code, body)
	}
}

func TestExtensionRequestsThatBreakARuleAreRefusedAndChangeNothing(t *testing.T) {
	timing := extensionTiming
	timing.AccessDuration, timing.ExpiryWarning, timing.ProfessionalReminder = time.Minute, 0, 0 // nothing moves meanwhile
	e := testenv.New(t, testenv.Options{Timing: timing})
	a := approvedStandard(t, e)
	e.Settle(a.ID)
	_, pro, _ := e.Login("agent@partner.example").Assign(demo.FabrikamSite, demo.Solo, "", "Case 12")
	e.WaitState(pro.ID, domain.StateActive, 10*time.Second)
	_, pending, _ := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Agent, "Partner Support Agent", "Case 13")
	e.WaitState(pending.ID, domain.StatePendingApproval, 10*time.Second)
	e.Settle(pending.ID)
	e.Settle(pro.ID)
	cases := []struct {
		name, who, id, duration, reason string
		status                          int
		want                            string
	}{
		{"longer than ACCESS_DURATION", "solo@partner.example", a.ID, "61s", "x", 422, `"field":"duration"`},
		{"not a duration", "solo@partner.example", a.ID, "a day", "x", 422, `"field":"duration"`},
		{"no duration", "solo@partner.example", a.ID, "", "x", 422, `"field":"duration"`},
		{"nothing", "solo@partner.example", a.ID, "0s", "x", 422, `"field":"duration"`},
		{"no reason", "solo@partner.example", a.ID, "10s", " ", 422, `"field":"reason"`},
		{"a customer asks", "admin@contoso.example", a.ID, "10s", "x", 403, "the customer approves it"},
		{"another customer's user", "admin@fabrikam.example", a.ID, "10s", "x", 404, "no assignment"},
		{"Professional", "solo@partner.example", pro.ID, "10s", "x", 409, "Professional access has no end"},
		{"before approval", "agent@partner.example", pending.ID, "10s", "x", 409, "still waits for approval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.Counts()
			code, body := askMore(e.Login(tc.who), tc.id, tc.duration, tc.reason)
			if code != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%d %s, want %d with %q", code, body, tc.status, tc.want)
			}
			if after := e.Counts(); after != before {
				t.Fatalf("changed %+v into %+v", before, after)
			}
		})
	}
	// Strict JSON: an unknown field is refused.
	if code, _ := e.Login("solo@partner.example").Do("POST", "/api/v1/assignments/"+a.ID+"/extension", `{"duration":"1s","reason":"x","until":"forever"}`); code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d, want 400", code)
	}
}

func TestR5ProfessionalReminderRepeatsUntilUnassigned(t *testing.T) {
	t.Parallel() // waits on timers of seconds; runs beside the others in its own namespace
	e := testenv.New(t, testenv.Options{Timing: extensionTiming})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.FabrikamSite, demo.Solo, "", "Case 99")
	e.WaitState(a.ID, domain.StateActive, 10*time.Second)
	e.Eventually(15*time.Second, "three reminders", func() bool {
		return len(e.Mail(a.ID, domain.EmailProfessionalReminder, "solo@partner.example")) >= 3
	})
	m := e.Mail(a.ID, domain.EmailProfessionalReminder, "solo@partner.example")[0]
	if !strings.Contains(m.Text, "still have access") || !strings.Contains(m.Text, "/assignments/"+a.ID) {
		t.Fatalf("reminder:\n%s", m.Text)
	}
	if code, body := agent.Do("DELETE", "/api/v1/assignments/"+a.ID, nil); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateRevoked, 10*time.Second)
	e.WaitClosed(a) // a closed workflow sends nothing more
	ended, _ := e.Store.AssignmentByID(context.Background(), a.ID)
	for _, m := range e.Mail(a.ID, domain.EmailProfessionalReminder, "solo@partner.example") {
		if m.CreatedAt.After(*ended.EndedAt) {
			t.Fatalf("reminder at %v, after unassign at %v", m.CreatedAt, ended.EndedAt)
		}
	}
	if got := getAssignment(t, agent, a.ID); len(got.Emails) == 0 || len(got.Extensions) != 0 {
		t.Fatalf("API record: %+v", got)
	}
	if code, page := agent.Page("/assignments/" + a.ID); code != http.StatusOK || strings.Contains(page, `id="extension-form"`) {
		t.Fatalf("Professional assignment page offers an extension: %d", code)
	}

	// Past the namespace's retention Temporal forgets the history (here: a
	// record whose workflow Temporal never had); the app's own record
	// stays, and the page says so.
	ctx := context.Background()
	old := store.Assignment{ID: "0195f6a2-0000-7000-8000-00000000abcd", WorkflowID: workflows.WorkflowID(demo.ContosoSite, demo.Solo), SiteID: demo.ContosoSite,
		PartnerUserID: demo.Solo, Role: "Partner Support Agent", Reason: "Case 1 from long ago", Edition: domain.EditionStandard,
		RequestedBy: demo.Solo, RequestedAt: time.Now().Add(-90 * 24 * time.Hour)}
	if err := e.Store.CreateAssignment(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.ApplyTransition(ctx, store.Transition{AssignmentID: old.ID, Seq: 2, State: domain.StateExpired, At: old.RequestedAt.Add(time.Hour), Actor: "system", Action: "access.expired"}); err != nil {
		t.Fatal(err)
	}
	// The note is for those who run the service: the partner's administrators.
	partnerAdmin := e.Login("admin@partner.example")
	if _, page := partnerAdmin.Page("/assignments/" + old.ID); !strings.Contains(page, "Temporal no longer keeps this assignment") || !strings.Contains(page, "Case 1 from long ago") {
		t.Fatalf("page of an assignment Temporal forgot:\n%s", page)
	}
	if _, page := partnerAdmin.Page("/assignments/" + a.ID); strings.Contains(page, "Temporal no longer keeps") {
		t.Fatal("page says Temporal forgot a workflow it keeps")
	}
	if got := getAssignment(t, agent, a.ID); got.State != domain.StateRevoked || len(got.Emails) == 0 {
		t.Fatalf("the app's record after Temporal forgot: %+v", got)
	}
}
