package server_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/mail/sendgridfake"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/worker"
	"github.com/partneraccess/partneraccess/workflows"
)

// allowed asks the gateway's question through the API.
func allowed(t *testing.T, s *testenv.Session, site, user string) bool {
	t.Helper()
	code, body := s.Do("GET", "/api/v1/access?site="+site+"&user="+user, nil)
	if code != http.StatusOK {
		t.Fatalf("access: %d %s", code, body)
	}
	var out struct{ Allowed bool }
	json.Unmarshal(body, &out)
	return out.Allowed
}

func approveByLink(t *testing.T, e *testenv.Env, a store.Assignment) {
	t.Helper()
	if code, _, _ := e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	e.WaitState(a.ID, domain.StateActive, 10*time.Second)
}

func auditActions(t *testing.T, e *testenv.Env, id string) map[string]int {
	t.Helper()
	log, err := e.Store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: id})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, l := range log {
		n[string(l.Action)+"/"+l.Outcome]++
	}
	return n
}

func TestR1WithdrawalEndsOpenAssignmentsOfBothEditions(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration = time.Hour
	e := testenv.New(t, testenv.Options{Timing: timing})
	agent := e.Login("agent@partner.example")
	_, active, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 1")
	approveByLink(t, e, active)
	_, pending, _ := agent.Assign(demo.ContosoSite, demo.Agent, store.RolePartnerConsultant, "Case 2")
	pendingLink := e.ApprovalPath(pending.ID, "ops@contoso.example")
	_, pro, _ := agent.Assign(demo.FabrikamSite, demo.Solo, "", "Case 3")
	e.WaitState(pro.ID, domain.StateActive, 10*time.Second)
	gateway := e.Login("agent@partner.example")
	if !allowed(t, gateway, demo.ContosoSite, demo.Solo) || !allowed(t, gateway, demo.FabrikamSite, demo.Solo) {
		t.Fatal("no access before the withdrawal")
	}

	for _, c := range []struct{ customer, admin string }{{demo.Contoso, "admin@contoso.example"}, {demo.Fabrikam, "admin@fabrikam.example"}} {
		if code, body := e.Login(c.admin).Do("DELETE", "/api/v1/customers/"+c.customer+"/partner-permission", nil); code != http.StatusOK {
			t.Fatalf("withdraw %s: %d %s", c.customer, code, body)
		}
	}
	start := time.Now()
	e.Eventually(5*time.Second, "the gateway says no", func() bool {
		return !allowed(t, gateway, demo.ContosoSite, demo.Solo) && !allowed(t, gateway, demo.FabrikamSite, demo.Solo)
	})
	t.Logf("gateway said no %v after the withdrawal", time.Since(start).Round(time.Millisecond))
	for _, w := range []struct {
		a     store.Assignment
		state string
		by    string
	}{
		{active, domain.StateRevoked, "admin@contoso.example"},
		{pending, domain.StateWithdrawn, "admin@contoso.example"},
		{pro, domain.StateRevoked, "admin@fabrikam.example"},
	} {
		got := e.WaitState(w.a.ID, w.state, 10*time.Second)
		if got.EndReason != "permission withdrawn by "+w.by {
			t.Fatalf("%s ended %q, want the withdrawal named", w.a.ID, got.EndReason)
		}
		e.WaitClosed(w.a)
	}
	if len(e.Mail(active.ID, domain.EmailAccessEnded, "solo@partner.example")) != 1 ||
		len(e.Mail(active.ID, domain.EmailAccessEnded, "viewer@contoso.example")) != 1 ||
		len(e.Mail(pending.ID, domain.EmailRequestWithdrawn, "agent@partner.example")) != 1 ||
		len(e.Mail(pro.ID, domain.EmailAccessEnded, "admin@fabrikam.example")) != 1 {
		t.Fatal("both sides were not told")
	}
	if code, _, _ := e.Anonymous().Form(pendingLink, map[string]string{"decision": "approve"}); code != http.StatusGone {
		t.Fatalf("approval link after withdrawal: %d, want 410", code)
	}
	// Granting again revives nothing.
	if code, _ := e.Login("admin@contoso.example").Do("PUT", "/api/v1/customers/"+demo.Contoso+"/partner-permission", nil); code != http.StatusOK {
		t.Fatalf("grant again: %d", code)
	}
	if allowed(t, gateway, demo.ContosoSite, demo.Solo) || e.AssignmentIsOpen(demo.ContosoSite, demo.Agent) {
		t.Fatal("granting again revived an assignment")
	}
}

func TestR4DecisionThatMayNoLongerCountChangesNothing(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 5")
	link := e.ApprovalPath(a.ID, "admin@contoso.example")
	// The permission goes as the decision is on its way: the workflow, not
	// only the server's first look, refuses it.
	if err := e.Store.SetPartnerPermission(context.Background(), demo.Contoso, demo.Northwind, false, demo.ContosoAdmin, time.Now()); err != nil {
		t.Fatal(err)
	}
	before := e.Counts()
	code, body := e.Login("ops@contoso.example").Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "approve"})
	if code != http.StatusConflict || !strings.Contains(string(body), "withdrawn the partner's permission") {
		t.Fatalf("API decision after withdrawal: %d %s, want 409 naming the withdrawal", code, body)
	}
	if code, page, _ := e.Anonymous().Form(link, map[string]string{"decision": "approve"}); code != http.StatusConflict {
		t.Fatalf("approval link after withdrawal: %d %s, want 409", code, page)
	}
	after := e.Counts()
	if after.Grants != before.Grants || after.AuditOK != before.AuditOK {
		t.Fatalf("a refused decision changed state: %+v -> %+v", before, after)
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.State != domain.StatePendingApproval || got.Decision != "" {
		t.Fatalf("assignment %+v, want still pending", got)
	}
	if n := auditActions(t, e, a.ID)["approval.refused/refused"]; n != 2 {
		t.Fatalf("%d refused decisions audited, want 2", n)
	}
}

func TestR4RacingDecisionsGiveExactlyOne200(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	_, a, _ := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 14")
	e.ApprovalPath(a.ID, "admin@contoso.example")
	approvers := []*testenv.Session{e.Login("admin@contoso.example"), e.Login("ops@contoso.example")}
	const n = 14
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decision := "approve"
			if i%3 == 0 {
				decision = "deny"
			}
			c, b := approvers[i%2].Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": decision})
			codes[i], bodies[i] = c, string(b)
		}()
	}
	wg.Wait()
	won := 0
	for i, c := range codes {
		switch c {
		case http.StatusOK:
			won++
		case http.StatusConflict:
			if !strings.Contains(bodies[i], "already ") || !strings.Contains(bodies[i], " by ") {
				t.Errorf("409 without who decided: %s", bodies[i])
			}
		default:
			t.Errorf("decision %d: %d %s", i, c, bodies[i])
		}
	}
	if won != 1 {
		t.Fatalf("%d callers got 200, want exactly 1: %v", won, codes)
	}
	_, metrics := e.Anonymous().Page("/metrics")
	var counted float64
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "partner_access_decisions_total{") {
			var v float64
			json.Unmarshal([]byte(line[strings.LastIndex(line, " ")+1:]), &v)
			counted += v
		}
	}
	if counted != 1 {
		t.Fatalf("partner_access_decisions_total = %v, want 1 (decisions that took effect)", counted)
	}
}

func TestR4ForgedSignalChangesNothingAndIsAudited(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	_, a, _ := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 7")
	e.ApprovalPath(a.ID, "admin@contoso.example")
	admin := workflows.Person{ID: demo.ContosoAdmin, Name: "Casey Admin", Email: "admin@contoso.example"}
	forged := []any{
		workflows.ApprovalSignal{Approve: true, By: admin},
		workflows.ApprovalSignal{Approve: true, By: admin, Vouch: workflows.Vouch{ID: "x", SentAt: time.Now(), MAC: "bm90IGEgbWFj"}},
		workflows.UnassignSignal{By: admin, Reason: "forged"},
	}
	for _, sig := range forged {
		name := workflows.SignalApproval
		if _, ok := sig.(workflows.UnassignSignal); ok {
			name = workflows.SignalUnassign
		}
		if err := e.Client.SignalWorkflow(context.Background(), a.WorkflowID, a.ID, name, sig); err != nil {
			t.Fatal(err)
		}
	}
	e.Eventually(10*time.Second, "forged signals audited", func() bool {
		return auditActions(t, e, a.ID)["signal.forged/refused"] == len(forged)
	})
	got, _ := e.Store.AssignmentByID(context.Background(), a.ID)
	if _, err := e.Store.GrantByAssignment(context.Background(), a.ID); got.State != domain.StatePendingApproval || err == nil {
		t.Fatalf("forged signals changed the assignment: %+v (grant err %v)", got, err)
	}
}

func TestR4EveryCustomerUserAndTheRequesterHear(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 8")
	approveByLink(t, e, a)
	if code, _ := agent.Do("DELETE", "/api/v1/assignments/"+a.ID, nil); code != http.StatusAccepted {
		t.Fatalf("unassign: %d", code)
	}
	e.WaitState(a.ID, domain.StateRevoked, 10*time.Second)
	e.WaitClosed(a)
	for _, m := range []struct {
		kind domain.EmailKind
		to   string
	}{
		{domain.EmailCustomerNotice, "viewer@contoso.example"},
		{domain.EmailRequestSent, "agent@partner.example"},
		{domain.EmailAccessGranted, "agent@partner.example"},
		{domain.EmailAccessGranted, "solo@partner.example"},
		{domain.EmailAccessEnded, "agent@partner.example"},
		{domain.EmailAccessEnded, "viewer@contoso.example"},
	} {
		if got := e.Mail(a.ID, m.kind, m.to); len(got) != 1 {
			t.Errorf("%d %s emails to %s, want 1", len(got), m.kind, m.to)
		}
	}
	if got := e.Mail(a.ID, domain.EmailAccessGranted, "agent@partner.example"); len(got) == 1 && !strings.Contains(got[0].Text, "whom you assigned") {
		t.Errorf("the requester's copy does not speak to the requester:\n%s", got[0].Text)
	}
}

func TestEmailsRetryForABoundedTimeAndNeverHoldAnAssignmentOpen(t *testing.T) {
	fake := sendgridfake.New(t)
	fake.FailNext(1_000_000, http.StatusInternalServerError) // SendGrid down throughout
	timing := testenv.FastTiming
	timing.EmailRetryFor = 3 * time.Second
	e := testenv.New(t, testenv.Options{Timing: timing, Sender: mail.NewSendGrid(fake.Key(), fake.URL())})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.FabrikamSite, demo.Solo, "", "Case 9")
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	if code, _ := agent.Do("DELETE", "/api/v1/assignments/"+a.ID, nil); code != http.StatusAccepted {
		t.Fatalf("unassign: %d", code)
	}
	e.WaitState(a.ID, domain.StateRevoked, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Client.GetWorkflow(ctx, a.WorkflowID, a.ID).Get(ctx, nil); err != nil {
		t.Fatalf("the assignment did not close while SendGrid was down: %v", err)
	}
	code, again, body := agent.Assign(demo.FabrikamSite, demo.Solo, "", "Case 9, again")
	if code != http.StatusCreated || again.ID == a.ID {
		t.Fatalf("assign again at once: %d %s, want 201 and a new assignment", code, body)
	}
	e.WaitClosed(a) // the emails handed over give up after EMAIL_RETRY_FOR
	es, _ := e.Store.Emails(context.Background(), store.EmailFilter{AssignmentID: a.ID})
	failed := 0
	for _, m := range es {
		if m.Status == store.EmailFailed && strings.Contains(m.Error, "retry window") {
			failed++
		}
	}
	// notice, AVD, credential link, ready, and access ended to both sides.
	if failed < 5 || failed != len(es) {
		for _, m := range es {
			t.Logf("%s to %s: %s %q", m.Kind, m.To, m.Status, m.Error)
		}
		t.Fatalf("%d of %d emails recorded as failed after the retry window, want all (at least 5)", failed, len(es))
	}
	if len(fake.Messages()) != 0 {
		t.Fatalf("SendGrid accepted %d emails while down", len(fake.Messages()))
	}
}

func TestReconcilerRevokesTheGrantOfATerminatedWorkflow(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration = time.Hour
	e := testenv.New(t, testenv.Options{Timing: timing})
	reconciled := 0
	var mu sync.Mutex
	e.Acts.Reconciled = func() { mu.Lock(); reconciled++; mu.Unlock() }
	_, a, _ := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 10")
	approveByLink(t, e, a)
	_, other, _ := e.Login("agent@partner.example").Assign(demo.FabrikamSite, demo.Solo, "", "Case 11")
	e.WaitState(other.ID, domain.StateActive, 10*time.Second)
	ctx := context.Background()
	if err := e.Client.TerminateWorkflow(ctx, a.WorkflowID, a.ID, "by hand, in a test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.ActiveGrant(ctx, demo.ContosoSite, demo.Solo, time.Now()); err != nil {
		t.Fatalf("grant gone before the reconciler ran: %v", err)
	}
	if err := worker.EnsureReconcileSchedule(ctx, e.Client, testenv.TaskQueue, time.Hour, e.Keys); err != nil {
		t.Fatal(err)
	}
	if err := e.Client.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	got := e.WaitState(a.ID, domain.StateRevoked, 15*time.Second)
	if !strings.Contains(got.EndReason, "terminated") {
		t.Fatalf("end reason %q, want the terminated workflow named", got.EndReason)
	}
	if _, err := e.Store.ActiveGrant(ctx, demo.ContosoSite, demo.Solo, time.Now()); err == nil {
		t.Fatal("grant still in force after reconciliation")
	}
	if _, err := e.Store.ActiveGrant(ctx, demo.FabrikamSite, demo.Solo, time.Now()); err != nil {
		t.Fatalf("the reconciler revoked a grant whose workflow runs: %v", err)
	}
	// The counter moves just after the state the store shows.
	e.Eventually(5*time.Second, "the reconciled counter", func() bool { mu.Lock(); defer mu.Unlock(); return reconciled > 0 })
	mu.Lock()
	defer mu.Unlock()
	if reconciled != 1 || auditActions(t, e, a.ID)["access.reconciled/ok"] != 1 {
		t.Fatalf("reconciled %d, audit %v; want 1 each", reconciled, auditActions(t, e, a.ID))
	}
	// A second schedule call updates the one that exists.
	if err := worker.EnsureReconcileSchedule(ctx, e.Client, testenv.TaskQueue, 2*time.Hour, e.Keys); err != nil {
		t.Fatalf("ensure the schedule again: %v", err)
	}
}

// A second decision is refused under R4, and the refusal names the rule.
func TestR4SecondDecisionNamesItsRule(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	_, a, _ := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 6")
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	if code, body := e.Login("admin@contoso.example").Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("first decision: %d %s", code, body)
	}
	code, body := e.Login("ops@contoso.example").Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "deny"})
	var p struct{ Rule, Type, Detail string }
	if code != http.StatusConflict || json.Unmarshal(body, &p) != nil || p.Rule != "R4" || p.Type != "/docs/rules#r4" || !strings.Contains(p.Detail, "already approved") {
		t.Fatalf("second decision: %d %s, want 409 naming R4", code, body)
	}
}

// The run carries a memo of IDs (no person's email or the reason), which
// the engine keeps encrypted like every payload.
func TestTheRunCarriesAMemoOfIDs(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	_, a, _ := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 7")
	d, err := e.Client.DescribeWorkflowExecution(context.Background(), a.WorkflowID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	dc, _ := codec.Converters(e.Codec)
	got := map[string]string{}
	for k, p := range d.GetWorkflowExecutionInfo().GetMemo().GetFields() {
		if string(p.GetMetadata()["encoding"]) != "binary/encrypted" {
			t.Fatalf("memo %s is stored in plain", k)
		}
		var v string
		if err := dc.FromPayload(p, &v); err != nil {
			t.Fatal(err)
		}
		got[k] = v
	}
	want := map[string]string{"site": demo.ContosoSite, "customer": demo.Contoso, "partner": demo.Northwind,
		"partner_user": demo.Solo, "edition": "standard", "requested_by": demo.Agent}
	if !maps.Equal(got, want) {
		t.Fatalf("memo %v, want %v", got, want)
	}
}
