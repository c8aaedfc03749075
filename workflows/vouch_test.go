package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/workflows"
)

// A start whose vouch another run consumed (a start replayed byte for byte,
// or a run reset to before its check) ends failed. Where the assignment is
// recorded already (a reset keeps the first run's ID), its record stays as
// it was and the refusal joins its audit log.
func TestR6UsedVouchEndsFailedAndLeavesTheRecordedAssignment(t *testing.T) {
	for _, recorded := range []bool{false, true} {
		name := map[bool]string{false: "replayed start", true: "reset of a revoked run"}[recorded]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			ctx := context.Background()
			in := f.professionalInput()
			f.vouchStart(&in)
			grants := activities.AssignmentGrants(in.SiteID, in.PartnerUser.ID, in.Edition)
			if _, err := f.store.ConsumeVouch(ctx, in.Vouch.ID, activities.VouchAssignment, workflowID, grants, "the-first-run", time.Now()); err != nil {
				t.Fatal(err)
			}
			if recorded {
				if err := f.store.CreateAssignment(ctx, store.Assignment{ID: runID, WorkflowID: workflowID, SiteID: in.SiteID,
					PartnerUserID: in.PartnerUser.ID, Role: in.Role, Reason: in.Reason, Edition: in.Edition, RequestedBy: in.RequestedBy.ID,
					RequestedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
				for i, s := range []string{domain.StateProvisioning, domain.StateActive, domain.StateRevoked} {
					if err := f.store.ApplyTransition(ctx, store.Transition{AssignmentID: runID, Seq: i + 1, State: s, At: time.Now(), Actor: "system", Action: "step"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			st := f.run(in)
			if st.State != domain.StateFailed || !strings.Contains(st.Failure, "already used") || !strings.Contains(st.Failure, "the-first-run") {
				t.Fatalf("status %s %q, want failed, the vouch used by the first run", st.State, st.Failure)
			}
			a, err := f.store.AssignmentByID(ctx, runID)
			want := map[bool]string{false: domain.StateFailed, true: domain.StateRevoked}[recorded]
			if err != nil || a.State != want {
				t.Fatalf("the store's assignment %s (%v), want %s", a.State, err, want)
			}
			log, _ := f.store.AuditLog(ctx, store.AuditFilter{AssignmentID: runID})
			if last := log[len(log)-1]; last.Action != "start.forged" || !strings.Contains(last.Detail, "already used") {
				t.Fatalf("last audit entry %+v, want start.forged", last)
			}
			if _, err := f.store.CredentialByAssignment(ctx, runID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a credential was issued: %v", err)
			}
		})
	}
}

// forgedErr checks that err is an activity's refusal.
func forgedErr(t *testing.T, err error, what string) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeForged || !strings.Contains(app.Message(), what) {
		t.Fatalf("%v, want a refusal saying %q", err, what)
	}
}

// Activities act on the store's truth: a run reset past its check, or an
// input signed with a leaked key, reaches them with inputs the store does
// not justify, and they refuse.
func TestR6ActivitiesRefuseWhatTheStoreDoesNotJustify(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	now := time.Now()
	ended := store.Assignment{ID: "ended", WorkflowID: "w1", SiteID: demo.FabrikamSite, PartnerUserID: demo.Solo, Role: store.RolePartnerSupportAgent,
		Reason: "r", Edition: domain.EditionProfessional, RequestedBy: demo.Solo, RequestedAt: now}
	pending := store.Assignment{ID: "pending", WorkflowID: "w2", SiteID: demo.ContosoSite, PartnerUserID: demo.Solo, Role: store.RolePartnerSupportAgent,
		Reason: "r", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}
	active := store.Assignment{ID: "tailspin", WorkflowID: "w3", SiteID: demo.AdatumSite, PartnerUserID: demo.TailspinAgent, Role: store.RolePartnerSupportAgent,
		Reason: "r", Edition: domain.EditionStandard, RequestedBy: demo.TailspinAgent, RequestedAt: now}
	for _, a := range []store.Assignment{ended, pending, active} {
		if err := f.store.CreateAssignment(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	deadline := now.Add(time.Hour)
	if err := f.acts.Begin(ctx, activities.BeginInput{AssignmentID: pending.ID, WorkflowID: pending.WorkflowID, SiteID: pending.SiteID,
		PartnerUserID: demo.Solo, Role: store.RolePartnerSupportAgent, Reason: "r", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now, State: domain.StatePendingApproval,
		ApprovalDeadline: &deadline, ApproverIDs: []string{demo.ContosoAdmin}}); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []store.Transition{
		{AssignmentID: ended.ID, Seq: 1, State: domain.StateRevoked, At: now, Actor: "system", Action: "access.revoked"},
		{AssignmentID: active.ID, Seq: 1, State: domain.StateActive, At: now, Actor: "system", Action: "assignment.approved"},
	} {
		if err := f.store.ApplyTransition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.PutGrant(ctx, store.Grant{AssignmentID: active.ID, SiteID: active.SiteID, UserID: demo.TailspinAgent, GrantedAt: now}); err != nil {
		t.Fatal(err)
	}

	t.Run("an ended assignment is not provisioned, activated or given a credential again", func(t *testing.T) {
		_, err := f.acts.ProvisionAccess(ctx, target.Input{AssignmentID: ended.ID, CustomerID: demo.Fabrikam,
			SiteID: demo.FabrikamSite, PartnerID: demo.Northwind, UserID: demo.Solo, Edition: domain.EditionProfessional, At: now})
		forgedErr(t, err, "has already ended (revoked)")
		forgedErr(t, f.acts.Activate(ctx, activities.GrantInput{AssignmentID: ended.ID, SiteID: demo.FabrikamSite, UserID: demo.Solo, At: now}), "already ended")
		forgedErr(t, f.acts.IssueCredential(ctx, activities.CredentialInput{AssignmentID: ended.ID, Login: "solo@partner.example", At: now}), "already ended")
		if _, err := f.store.GrantByAssignment(ctx, ended.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a grant was written: %v", err)
		}
		if _, err := f.store.CredentialByAssignment(ctx, ended.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a credential was issued: %v", err)
		}
	})
	t.Run("a reissue resets only its own assignment's account", func(t *testing.T) {
		err := f.acts.ReissueDirectoryCredential(ctx, target.Input{AssignmentID: active.ID, CustomerID: demo.Fabrikam,
			SiteID: demo.FabrikamSite, PartnerID: demo.Northwind, UserID: demo.Solo, Edition: domain.EditionProfessional, At: now})
		forgedErr(t, err, "not what the input claims")
		err = f.acts.ReissueDirectoryCredential(ctx, target.Input{AssignmentID: ended.ID, CustomerID: demo.Fabrikam,
			SiteID: demo.FabrikamSite, PartnerID: demo.Northwind, UserID: demo.Solo, Edition: domain.EditionProfessional, At: now})
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || app.Type() != activities.ErrTypeNoAccess {
			t.Fatalf("reissue of ended access: %v, want NoAccess", err)
		}
	})
	t.Run("an approval link goes only to a current approver, at the store's address", func(t *testing.T) {
		req := activities.EmailRequest{AssignmentID: pending.ID, Kind: domain.EmailApprovalRequest,
			To: activities.Recipient{ID: demo.ContosoAdmin, Name: "Casey Contoso", Email: "probe@attacker.example"}}
		var app *temporal.ApplicationError
		if err := f.acts.SendEmail(ctx, req); !errors.As(err, &app) || !strings.Contains(app.Message(), "is not the approver's") {
			t.Fatalf("a link to a foreign address: %v, want refused", err)
		}
		req.To = activities.Recipient{ID: demo.ContosoOps, Name: "Ops", Email: "ops@contoso.example"} // an approver, but not of this request
		if err := f.acts.SendEmail(ctx, req); !errors.As(err, &app) || !strings.Contains(app.Message(), "names recipient") {
			t.Fatalf("a link for someone the request does not name: %v, want refused", err)
		}
		if es, _ := f.store.Emails(ctx, store.EmailFilter{AssignmentID: pending.ID}); len(es) != 0 {
			t.Fatalf("emails sent: %+v", es)
		}
		log, _ := f.store.AuditLog(ctx, store.AuditFilter{AssignmentID: pending.ID})
		forged := 0
		for _, r := range log {
			if r.Action == "email.forged" {
				forged++
			}
		}
		if forged != 2 {
			t.Fatalf("%d email.forged entries, want 2: %+v", forged, log)
		}
		req.To = activities.Recipient{ID: demo.ContosoAdmin, Name: "Someone Else", Email: "ADMIN@contoso.example"}
		if err := f.acts.SendEmail(ctx, req); err != nil {
			t.Fatal(err)
		}
		es, _ := f.store.Emails(ctx, store.EmailFilter{AssignmentID: pending.ID})
		if len(es) != 1 || es[0].To != "admin@contoso.example" {
			t.Fatalf("emails %+v, want one to the store's address", es)
		}
	})
}

// The emails run an assignment starts carries its vouch, used once: the
// same input started again sends nothing.
func TestEmailsRunVouchIsUsedOnce(t *testing.T) {
	f := newFixture(t, nil)
	in := f.vouchEmails(workflows.EmailsInput{AssignmentID: runID, Emails: []activities.EmailRequest{{AssignmentID: runID,
		Kind: domain.EmailAccessEnded, To: activities.Recipient{ID: demo.Solo, Name: "Sam Solo", Email: "solo@partner.example"}}}})
	if _, err := f.store.ConsumeVouch(context.Background(), in.Vouch.ID, activities.VouchEmails, workflowID,
		activities.EmailsGrants(runID), "an earlier run", time.Now()); err != nil {
		t.Fatal(err)
	}
	f.env.ExecuteWorkflow(workflows.Emails, in)
	var app *temporal.ApplicationError
	if err := f.env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != activities.ErrTypeForged {
		t.Fatalf("emails run closed with %v, want refused", err)
	}
	if es, _ := f.store.Emails(context.Background(), store.EmailFilter{AssignmentID: runID}); len(es) != 0 {
		t.Fatalf("emails sent: %+v", es)
	}
}
