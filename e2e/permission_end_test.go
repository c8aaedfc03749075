package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/worker"
	"github.com/partneraccess/partneraccess/workflows"
)

// The reviews' Schedule, on a real Temporal: its pass ends the permissions
// whose end came (R1) and starts the reviews that are due (SPEC §15).

func longTiming() testenv.Options {
	t := testenv.FastTiming
	t.AccessDuration = time.Hour
	return testenv.Options{Timing: t}
}

// triggerPass makes sure the reviews' Schedule exists and runs a pass now,
// as its interval would; it returns once the pass has finished.
func triggerPass(t *testing.T, e *testenv.Env) workflows.ReviewPassResult {
	t.Helper()
	ctx := context.Background()
	if err := worker.EnsureReviewSchedule(ctx, e.Client, testenv.TaskQueue, time.Hour, e.Keys); err != nil {
		t.Fatal(err)
	}
	workflowID, runID := e.TriggerSchedule(workflows.ReviewScheduleID)
	var res workflows.ReviewPassResult
	if err := e.Client.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestR1_LapsedPermissionEndsOpenAssignmentsInBothEditions(t *testing.T) {
	e := testenv.New(t, longTiming())
	agent := e.Login("agent@partner.example")
	code, std, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 4711: upgrade")
	if code != http.StatusCreated {
		t.Fatalf("assign Standard: %d %s", code, body)
	}
	if code, _, _ := e.Anonymous().Form(e.ApprovalPath(std.ID, "admin@contoso.example"), map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	e.WaitState(std.ID, domain.StateActive, 10*time.Second)
	code, pro, body := agent.Assign(demo.FabrikamSite, demo.Solo, "", "Case 99: support")
	if code != http.StatusCreated {
		t.Fatalf("assign Professional: %d %s", code, body)
	}
	e.WaitState(pro.ID, domain.StateActive, 10*time.Second)

	until := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	for _, c := range []struct{ customer, admin string }{{demo.Contoso, "admin@contoso.example"}, {demo.Fabrikam, "admin@fabrikam.example"}} {
		if code, body := e.Login(c.admin).Do("PUT", "/api/v1/customers/"+c.customer+"/partner-permission",
			`{"until":"`+until.Format(time.RFC3339)+`"}`); code != http.StatusOK {
			t.Fatalf("grant until: %d %s", code, body)
		}
	}
	if res := triggerPass(t, e); res.Permissions.Lapsed != 0 || res.Permissions.Reminded != 2 {
		t.Fatalf("a pass before the end: %+v", res.Permissions)
	}
	for _, id := range []string{std.ID, pro.ID} {
		if a, _ := e.Store.AssignmentByID(context.Background(), id); a.State != domain.StateActive {
			t.Fatalf("%s ended before the permission's end: %s", id, a.State)
		}
	}
	e.Eventually(10*time.Second, "the permission's end", func() bool { return time.Now().After(until) })
	// The store's own check stops counting the permission at its end,
	// before any pass: no new assignment can start in between.
	if ok, _ := e.Store.PartnerPermitted(context.Background(), demo.Contoso, demo.Northwind); ok {
		t.Error("the permission counts past its end")
	}
	if res := triggerPass(t, e); res.Permissions.Lapsed != 2 {
		t.Fatalf("the pass after the end: %+v", res.Permissions)
	}
	for _, id := range []string{std.ID, pro.ID} {
		ended := e.WaitState(id, domain.StateRevoked, 20*time.Second)
		if !strings.Contains(ended.EndReason, "permission withdrawn") {
			t.Errorf("%s ended: %q", id, ended.EndReason)
		}
		if _, err := e.Store.ActiveGrant(context.Background(), ended.SiteID, demo.Solo, time.Now()); err == nil {
			t.Errorf("%s still grants access", id)
		}
	}
	for _, to := range []string{"admin@contoso.example", "admin@fabrikam.example", "admin@partner.example"} {
		ms, _ := e.Store.Emails(context.Background(), store.EmailFilter{To: to, Limit: 100})
		n := 0
		for _, m := range ms {
			if m.Kind == string(domain.EmailPermissionLapsed) {
				n++
			}
		}
		if want := map[bool]int{true: 2, false: 1}[to == "admin@partner.example"]; n != want {
			t.Errorf("%s told of %d lapses, want %d", to, n, want)
		}
	}
	if res := triggerPass(t, e); res.Permissions.Lapsed != 0 {
		t.Errorf("a lapse acted on twice: %+v", res.Permissions)
	}
	entries, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{PartnerID: demo.Northwind, Limit: 1000})
	lapsed := 0
	for _, en := range entries {
		if en.Action == domain.ActionPermissionLapsed {
			lapsed++
		}
	}
	if lapsed != 2 {
		t.Errorf("permission.lapsed audited %d times", lapsed)
	}
}

func TestReviewPassStartsDueReviewsAndRefusesAHandStart(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	res := triggerPass(t, e)
	if len(res.Started) != 6 { // two partners, four customers: none reviewed yet
		t.Fatalf("started %v", res.Started)
	}
	rs, err := e.Store.Reviews(context.Background(), demo.Northwind)
	if err != nil || len(rs) != 1 || rs[0].StartedBy != activities.ReviewSystem || len(rs[0].Items) != 3 {
		t.Fatalf("Northwind's review: %+v %v", rs, err)
	}
	e.Eventually(10*time.Second, "the review request", func() bool {
		ms, _ := e.Store.Emails(context.Background(), store.EmailFilter{To: "admin@partner.example", Limit: 50})
		for _, m := range ms {
			if m.Kind == string(domain.EmailReviewRequest) {
				return true
			}
		}
		return false
	})
	if again := triggerPass(t, e); len(again.Started) != 0 {
		t.Errorf("a second pass started %v again", again.Started)
	}

	// A pass started by hand from the Temporal frontend, even with a MAC
	// the key signed, is not its Schedule's: it does nothing.
	var in workflows.ReviewPassInput
	in.Vouch = workflows.Vouch{ID: secret.NewToken(), SentAt: time.Now()}
	in.Vouch.MAC = e.Keys.SignSignal(in.SignedFields()...)
	run, err := e.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "hand-made-pass", TaskQueue: testenv.TaskQueue},
		workflows.ReviewPassWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "its Schedule did not start") {
		t.Fatalf("hand-made pass: %v", err)
	}
}
