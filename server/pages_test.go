package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// mustContain fails unless page holds every one of wants.
func mustContain(t *testing.T, what, page string, wants ...string) {
	t.Helper()
	page = html.UnescapeString(page)
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Fatalf("%s lacks %q:\n%s", what, w, page)
		}
	}
}

func mustNotContain(t *testing.T, what, page string, unwanted ...string) {
	t.Helper()
	page = html.UnescapeString(page)
	for _, w := range unwanted {
		if strings.Contains(page, w) {
			t.Fatalf("%s holds %q:\n%s", what, w, page)
		}
	}
}

func TestR1SiteWithoutPermissionOffersNoAssignForm(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, page := agent.Page("/sites/" + demo.LitwareSite)
	mustContain(t, "Litware's site", page, `id="no-permission"`, "Litware has not given Northwind Partners permission", `href="/docs/rules#r1"`)
	mustNotContain(t, "Litware's site", page, `id="assign-form"`)
	_, page = agent.Page("/sites/" + demo.ContosoSite)
	mustContain(t, "Contoso's site", page, `id="assign-form"`, `id="assign">Assign</button>`)
	mustNotContain(t, "Contoso's site", page, `id="no-permission"`, ">Save<")
}

// TestPagesOfAStandardAssignmentSayWhatHappens walks one assignment through
// the pages an approver, a second approver, the partner and the customer see.
func TestPagesOfAStandardAssignmentSayWhatHappens(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration = 72 * time.Hour
	e := testenv.New(t, testenv.Options{Timing: timing})
	agent := e.Login("agent@partner.example")
	status, a, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 4711: deploy update")
	if status != http.StatusCreated {
		t.Fatalf("assign: %d %s", status, body)
	}
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)

	// The approval page states how long access lasts, and until when.
	first := e.ApprovalPath(a.ID, "admin@contoso.example")
	second := e.ApprovalPath(a.ID, "ops@contoso.example")
	anon := e.Anonymous()
	_, page := anon.Page(first)
	mustContain(t, "the approval page", page, `id="duration">3 days: if you approve now, until `)

	if code, done, _ := anon.Form(first, map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("approve: %d\n%s", code, done)
	}
	active := e.WaitState(a.ID, domain.StateActive, 10*time.Second)
	e.Settle(a.ID)

	// The second approver's link says who decided, when, and how things stand.
	code, page := anon.Page(second)
	if code != http.StatusGone {
		t.Fatalf("second approver's link: %d, want 410", code)
	}
	mustContain(t, "the second approver's link", page, "Already approved by Casey Contoso on "+active.DecidedAt.UTC().Format("Mon 2 Jan 2006 15:04 UTC"),
		"access lasts until "+active.AccessEndsAt.UTC().Format("Mon 2 Jan 2006 15:04 UTC"))
	// Its form sent from a page opened before: the same calm answer, no alarm.
	code, late, _ := anon.Form(second, map[string]string{"decision": "deny"})
	mustContain(t, "the second approver's late decision", string(late), "This request is already settled", "Already approved by Casey Contoso on ")
	mustNotContain(t, "the second approver's late decision", string(late), `role="alert"`)
	if code != http.StatusGone {
		t.Fatalf("the second approver's late decision: %d, want 410", code)
	}

	// The timeline names people and says each thing once, in words.
	_, page = agent.Page("/assignments/" + a.ID)
	mustContain(t, "the assignment page", page,
		"Alex Agent asked for Sam Solo to reach Contoso Sage 200 Standard as Partner Support Agent",
		"Reason: Case 4711: deploy update", "approved the request; access began", `id="unassign"`)
	mustNotContain(t, "the assignment page", page, "assignment.approved", "assignment.requested", `<li class="ok"`, "by system", `id="workflow-link"`)
	// The partner's administrators, who run the service, find the workflow in the Temporal UI.
	_, page = e.Login("admin@partner.example").Page("/assignments/" + a.ID)
	mustContain(t, "the partner administrator's assignment page", page,
		`id="workflow-link"`, testenv.TemporalUIURL+"/namespaces/"+e.Namespace+"/workflows/"+url.PathEscape(a.WorkflowID)+"/"+a.ID+"/history")
	if n := strings.Count(page, "approved the request"); n != 1 {
		t.Fatalf("the decision appears %d times on the timeline, want once:\n%s", n, page)
	}

	// The customer's home shows who has access now, with a way to end it.
	admin := e.Login("admin@contoso.example")
	_, page = admin.Page("/sites")
	mustContain(t, "the customer's home", page, "Who has access now", "Sam Solo", "Case 4711: deploy update",
		`href="/assignments/`+a.ID+`/unassign"`)

	// Ending access asks first: the page changes nothing, its form ends it.
	_, page = admin.Page("/assignments/" + a.ID + "/unassign")
	mustContain(t, "the confirmation", page, "End Sam Solo's access to Contoso Sage 200 Standard?", "Access is revoked at once", `id="confirm-unassign"`)
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.State != domain.StateActive {
		t.Fatalf("opening the confirmation changed the assignment: %s", got.State)
	}
	if code, _, loc := admin.Form("/assignments/"+a.ID+"/unassign", map[string]string{"reason": "done"}); code != http.StatusSeeOther || !strings.Contains(loc, "notice=unassign") {
		t.Fatalf("confirm: %d %s", code, loc)
	}
	ended := e.WaitState(a.ID, domain.StateRevoked, 10*time.Second)
	e.WaitClosed(ended)
	_, page = admin.Page("/sites")
	mustContain(t, "the customer's home after the revocation", page, "Nobody from Northwind Partners has access to your sites now.")
	_, page = agent.Page("/assignments/" + a.ID)
	mustContain(t, "the ended assignment", page, "asked to end the assignment", "Access was revoked")
	mustNotContain(t, "the ended assignment", page, `id="unassign"`)
}
