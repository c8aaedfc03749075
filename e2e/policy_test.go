package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// R10 through the real handler, worker and Temporal: the demo's Contoso
// Finance site asks for two approvals and a ticket reference.

func assignFinance(t *testing.T, e *testenv.Env, body map[string]any) store.Assignment {
	t.Helper()
	code, b := e.Login("agent@partner.example").Do("POST", "/api/v1/sites/"+demo.ContosoFinance+"/assignments", body)
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, b)
	}
	var a store.Assignment
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
}

func approvalsOf(t *testing.T, e *testenv.Env, id string) (int, int) {
	t.Helper()
	code, b := e.Login("agent@partner.example").Do("GET", "/api/v1/assignments/"+id, nil)
	if code != http.StatusOK {
		t.Fatalf("get: %d %s", code, b)
	}
	var v struct {
		Approvals         []struct{ By string } `json:"approvals"`
		ApprovalsRequired int                   `json:"approvals_required"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return len(v.Approvals), v.ApprovalsRequired
}

// A two-approver request stays pending after one approval, refuses the
// same approver twice, and is active after the second.
func TestR10TwoApproversThroughTheLinks(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	a := assignFinance(t, e, map[string]any{"user_id": demo.Solo, "reason": "CS-4711: month-end upgrade"})
	if code, _, _ := e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("first approval: %d", code)
	}
	e.Eventually(10*time.Second, "one approval counted", func() bool { n, _ := approvalsOf(t, e, a.ID); return n == 1 })
	if got := e.WaitState(a.ID, domain.StatePendingApproval, time.Second); got.State != domain.StatePendingApproval {
		t.Fatalf("after one approval of two: %s", got.State)
	}
	if n, need := approvalsOf(t, e, a.ID); n != 1 || need != 2 {
		t.Fatalf("API: %d of %d approvals", n, need)
	}
	code, page := e.Login("agent@partner.example").Page("/assignments/" + a.ID)
	if code != http.StatusOK || !strings.Contains(page, "1 of 2 approvals") {
		t.Fatalf("assignment page %d lacks the progress:\n%s", code, page)
	}
	if code, _, _ := e.Anonymous().Form(e.ApprovalPath(a.ID, "ops@contoso.example"), map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("second approval: %d", code)
	}
	got := e.WaitState(a.ID, domain.StateActive, 10*time.Second)
	if n, _ := approvalsOf(t, e, a.ID); n != 2 || got.AccessEndsAt == nil {
		t.Fatalf("active with %d approvals, ends %v", n, got.AccessEndsAt)
	}
}

// A request that breaks the site's policy is refused (R10) and starts
// nothing; the partner sees the policy in force before asking.
func TestR10RefusalsNameTheFieldAndWhatIsAllowed(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	code, b := agent.Do("GET", "/api/v1/sites/"+demo.ContosoFinance, nil)
	if code != http.StatusOK || !strings.Contains(string(b), `"policy"`) {
		t.Fatalf("site: %d %s", code, b)
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no ticket", map[string]any{"user_id": demo.Solo, "reason": "month-end upgrade"}, "reason"},
		{"too long", map[string]any{"user_id": demo.Solo, "reason": "CS-1234: x", "duration": "720h"}, "duration"},
		{"in the past", map[string]any{"user_id": demo.Solo, "reason": "CS-1234: x", "starts_at": time.Now().Add(-time.Hour).Format(time.RFC3339)}, "starts_at"},
		{"too far ahead", map[string]any{"user_id": demo.Solo, "reason": "CS-1234: x", "starts_at": time.Now().Add(100 * 24 * time.Hour).Format(time.RFC3339)}, "starts_at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := agent.Do("POST", "/api/v1/sites/"+demo.ContosoFinance+"/assignments", tc.body)
			var p struct{ Rule, Field, Detail string }
			json.Unmarshal(b, &p)
			if code != http.StatusUnprocessableEntity || p.Rule != "R10" || p.Field != tc.field || p.Detail == "" {
				t.Fatalf("%d %s, want 422 R10 naming %s", code, b, tc.field)
			}
		})
	}
	if e.AssignmentIsOpen(demo.ContosoFinance, demo.Solo) {
		t.Fatal("a refused request started an assignment")
	}
}

// A scheduled request is active only from its start, ends after its
// duration, and is removed from the directory at the end.
func TestR10ScheduledAccessInTheDirectory(t *testing.T) {
	e := newEntraEnv(t, testenv.Options{})
	ctx := context.Background()
	if err := e.Store.SetSitePolicy(ctx, demo.ContosoSite, `{"access_duration":"3s","max_duration":"3s"}`); err != nil {
		t.Fatal(err)
	}
	starts := time.Now().Add(4 * time.Second).UTC()
	code, b := e.Login("agent@partner.example").Do("POST", "/api/v1/sites/"+demo.ContosoSite+"/assignments",
		map[string]any{"user_id": demo.Solo, "reason": "Case 4711", "starts_at": starts.Format(time.RFC3339Nano)})
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, b)
	}
	var a store.Assignment
	json.Unmarshal(b, &a)
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	_, done, _ := e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	if !strings.Contains(string(done), "access to Contoso Sage 200 Standard starts") {
		t.Fatalf("the approver's page does not say when access starts:\n%s", done)
	}
	e.WaitState(a.ID, domain.StateScheduled, 10*time.Second)
	if slices.Contains(e.members(contosoTenant), soloContosoUPN) {
		t.Fatal("a member before the start")
	}
	active := e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	if active.ActivatedAt.Before(starts) || !slices.Contains(e.members(contosoTenant), soloContosoUPN) {
		t.Fatalf("active from %v (start %v), member %v", active.ActivatedAt, starts, e.members(contosoTenant))
	}
	ended := e.WaitState(a.ID, domain.StateExpired, 20*time.Second)
	e.WaitClosed(ended)
	if d := ended.AccessEndsAt.Sub(*ended.ActivatedAt); d != 3*time.Second || slices.Contains(e.members(contosoTenant), soloContosoUPN) {
		t.Fatalf("access lasted %v, member after the end: %v", d, e.members(contosoTenant))
	}
}

// A request the policy approves in advance is active without any
// approver's action, and the record names the rule.
func TestR10AutoApprovedWithoutAnApprover(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	if err := e.Store.SetSitePolicy(ctx, demo.ContosoSite, `{"auto_approve":[{"users":["`+demo.Solo+`"]}]}`); err != nil {
		t.Fatal(err)
	}
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 4711")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	got := e.WaitState(a.ID, domain.StateActive, 10*time.Second)
	if got.DecidedBy != "policy" {
		t.Fatalf("decided by %q, want policy", got.DecidedBy)
	}
	log, _ := e.Store.AuditLog(ctx, store.AuditFilter{AssignmentID: a.ID})
	if !slices.ContainsFunc(log, func(r store.AuditEntry) bool {
		return r.Action == domain.ActionAssignmentApproved && strings.Contains(r.Detail, "auto_approve")
	}) {
		t.Fatalf("no approval naming its rule in %+v", log)
	}
	if ms := e.Mail(a.ID, domain.EmailApprovalRequest, ""); len(ms) != 0 {
		t.Fatalf("%d approval requests sent", len(ms))
	}
	if code, page := e.Login("agent@partner.example").Page("/assignments/" + a.ID); code != http.StatusOK ||
		!strings.Contains(page, "The customer&#39;s policy approved the request") || !strings.Contains(page, "auto_approve[0]") {
		t.Fatalf("the timeline does not name the policy's rule (%d):\n%s", code, page)
	}
}

// A run keeps the policy it started with: two approvals asked of the site
// while a request waits leave it needing the one it started with.
func TestR10ARunKeepsItsPolicy(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 4711")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	if err := e.Store.SetSitePolicy(context.Background(), demo.ContosoSite, `{"approvals":2}`); err != nil {
		t.Fatal(err)
	}
	e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	if got := e.WaitState(a.ID, domain.StateActive, 10*time.Second); got.ApprovalsRequired != 1 {
		t.Fatalf("active needing %d approvals, want the 1 it started with", got.ApprovalsRequired)
	}
}
