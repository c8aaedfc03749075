package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// A request that needs two approvals and starts later shows how far it has
// come and when access starts: in the API, on the assignment page, the
// requests page and the approval page, and once scheduled.
func TestApprovalsAndScheduledStartAreShownWhereTheRequestIs(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	starts := now.Add(48 * time.Hour)
	deadline := now.Add(24 * time.Hour)
	if err := e.Store.CreateAssignment(ctx, store.Assignment{ID: "two", WorkflowID: "assignment/contoso-standard/solo",
		SiteID: demo.ContosoSite, PartnerUserID: demo.Solo, Role: store.RolePartnerConsultant, Reason: "CS-1234: month-end upgrade",
		Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now, ApprovalsRequired: 2, StartsAt: &starts}); err != nil {
		t.Fatal(err)
	}
	step := func(seq int, tr store.Transition) {
		t.Helper()
		tr.AssignmentID, tr.Seq, tr.At = "two", seq, now
		if err := e.Store.ApplyTransition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	step(2, store.Transition{State: domain.StatePendingApproval, Actor: demo.Agent, Action: domain.ActionAssignmentRequested, ApprovalDeadline: &deadline})
	step(3, store.Transition{State: domain.StatePendingApproval, Actor: demo.ContosoAdmin, Action: domain.ActionApprovalCounted})
	if err := e.Store.PutApproval(ctx, store.Approval{AssignmentID: "two", ApproverID: demo.ContosoAdmin, At: now}); err != nil {
		t.Fatal(err)
	}
	raw := secret.NewToken()
	if err := e.Store.PutApprovalTokens(ctx, []store.ApprovalToken{{Hash: secret.HashToken(raw), AssignmentID: "two",
		ApproverID: demo.ContosoOps, ExpiresAt: deadline}}); err != nil {
		t.Fatal(err)
	}

	ops := e.Login("ops@contoso.example")
	status, body := ops.Do("GET", "/api/v1/assignments/two", nil)
	var got struct {
		State             string     `json:"state"`
		ApprovalsRequired int        `json:"approvals_required"`
		StartsAt          *time.Time `json:"starts_at"`
		Approvals         []struct {
			By string    `json:"by"`
			At time.Time `json:"at"`
		} `json:"approvals"`
	}
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil {
		t.Fatalf("GET the assignment: %d %v %s", status, err, body)
	}
	if got.State != domain.StatePendingApproval || got.ApprovalsRequired != 2 || got.StartsAt == nil || !got.StartsAt.Equal(starts) ||
		len(got.Approvals) != 1 || got.Approvals[0].By != "admin@contoso.example" || !got.Approvals[0].At.Equal(now) {
		t.Fatalf("the assignment = %s; want pending, 1 of 2 approvals by admin@contoso.example, starting %v", body, starts)
	}

	progress := "1 of 2 approvals: Casey Contoso"
	_, page := ops.Page("/assignments/two")
	mustContain(t, "the assignment page", page, `id="approvals">`+progress, "Access starts</dt><dd><time datetime=\""+starts.Format(time.RFC3339),
		"Casey Contoso approved (1 of 2)")
	_, page = ops.Page("/requests")
	mustContain(t, "the requests page", page, progress, "Access starts <time datetime=\""+starts.Format(time.RFC3339))
	_, page = e.Anonymous().Page("/approvals/" + raw)
	mustContain(t, "the second approver's page", page, `id="approvals">`+progress,
		"access starts <time datetime=\""+starts.Format(time.RFC3339)+`">`)

	// The second approval schedules it: approved, access not yet begun.
	if err := e.Store.PutApproval(ctx, store.Approval{AssignmentID: "two", ApproverID: demo.ContosoOps, At: now}); err != nil {
		t.Fatal(err)
	}
	step(4, store.Transition{State: domain.StateScheduled, Actor: demo.ContosoOps, Action: domain.ActionAssignmentScheduled,
		Decision: domain.DecisionApproved, DecidedBy: "ops@contoso.example"})
	status, body = ops.Do("GET", "/api/v1/assignments/two", nil)
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || got.State != domain.StateScheduled || len(got.Approvals) != 2 {
		t.Fatalf("the scheduled assignment: %d %v %s", status, err, body)
	}
	status, body = ops.Do("GET", "/api/v1/assignments?state=scheduled", nil)
	if status != http.StatusOK || !json.Valid(body) {
		t.Fatalf("scheduled assignments: %d %s", status, body)
	}
	_, page = ops.Page("/assignments/two")
	mustContain(t, "the scheduled assignment's page", page, `id="access-starts">Access starts <time datetime="`+starts.Format(time.RFC3339),
		"2 of 2 approvals: Casey Contoso, Olive Ops", "Olive Ops approved the request; access starts ", "Cancel scheduled access…")
	mustNotContain(t, "the scheduled assignment's page", page, `id="extension-form"`)
	_, page = e.Login("admin@contoso.example").Page("/sites")
	mustContain(t, "the customer's home", page, "Sam Solo", "starts <time datetime=\""+starts.Format(time.RFC3339))
}
