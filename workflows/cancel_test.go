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
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/mail/sendgridfake"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

// cancelAt asks the run to cancel at d, as the Temporal UI's "Request
// Cancellation" does.
func (f *fixture) cancelAt(d time.Duration) { f.at(d, f.env.CancelWorkflow) }

// runCancelled runs the workflow, which must close as Canceled, and returns
// its last status (queried: a cancelled run has no result).
func (f *fixture) runCancelled(in workflows.Input) workflows.Status {
	f.t.Helper()
	f.vouchStart(&in)
	f.env.ExecuteWorkflow(workflows.Assignment, in)
	if !f.env.IsWorkflowCompleted() {
		f.t.Fatal("workflow did not complete")
	}
	var canceled *temporal.CanceledError
	if err := f.env.GetWorkflowError(); !errors.As(err, &canceled) {
		f.t.Fatalf("workflow closed with %v, want Canceled", err)
	}
	return f.query()
}

// cancelled checks what every cancel leaves: the state, the end at once,
// its reason, no access, and the audit naming the operator.
func (f *fixture) cancelled(st workflows.Status, state string, at time.Duration, start time.Time, site string) {
	f.t.Helper()
	if st.State != state || st.EndedAt == nil || !st.EndedAt.Equal(start.Add(at)) {
		f.t.Fatalf("status %+v, want %s at %v", st, state, at)
	}
	if !strings.Contains(st.EndReason, "cancelled in Temporal") {
		f.t.Fatalf("end reason %q, want it to say the run was cancelled in Temporal", st.EndReason)
	}
	a := f.assignment()
	if a.State != state || a.EndReason != st.EndReason {
		f.t.Fatalf("store %s %q, want %s %q", a.State, a.EndReason, state, st.EndReason)
	}
	if _, err := f.store.ActiveGrant(context.Background(), site, demo.Solo, *st.EndedAt); !errors.Is(err, store.ErrNotFound) {
		f.t.Fatalf("access after the cancel: %v", err)
	}
	log, err := f.store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: runID})
	if err != nil {
		f.t.Fatal(err)
	}
	last := log[len(log)-1]
	if last.ActorID != "operator" {
		f.t.Fatalf("last audit entry %+v, want the operator as actor", last)
	}
}

func TestCancelWhilePendingWithdrawsTheRequest(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.cancelAt(2 * time.Hour)
	st := f.runCancelled(f.standardInput())
	f.cancelled(st, domain.StateWithdrawn, 2*time.Hour, start, demo.ContosoSite)
	want(t, f.emails(),
		"approval_request admin@contoso.example", "approval_request ops@contoso.example",
		"customer_notice viewer@contoso.example", "request_sent agent@partner.example",
		"request_withdrawn solo@partner.example", "request_withdrawn agent@partner.example",
		"request_withdrawn admin@contoso.example", "request_withdrawn ops@contoso.example", "request_withdrawn viewer@contoso.example")
	tok, err := f.store.ApprovalTokenByHash(context.Background(), secret.HashToken(f.keys.ApprovalToken(runID, demo.ContosoAdmin)))
	if err != nil || tok.VoidedAt == nil {
		t.Fatalf("approval link after the cancel: %+v %v, want voided", tok, err)
	}
}

func TestCancelBeforeTheFirstTaskStillRecordsTheRequestAndWithdrawsIt(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.cancelAt(0)
	st := f.runCancelled(f.standardInput())
	f.cancelled(st, domain.StateWithdrawn, 0, start, demo.ContosoSite)
}

func TestCancelDuringStandardAccessRevokesAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(5*time.Hour, func() {
		if !f.hasAccess(f.env.Now()) {
			t.Error("no access before the cancel")
		}
	})
	f.cancelAt(5 * time.Hour)
	st := f.runCancelled(f.standardInput())
	f.cancelled(st, domain.StateRevoked, 5*time.Hour, start, demo.ContosoSite)
	if n := count(f.emails(), "access_ended "); n != 5 {
		t.Fatalf("access_ended emails %d, want 5 (both sides): %v", n, f.emails())
	}
}

func TestCancelWithAnExtensionPendingRevokesAndLapsesIt(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(62*time.Hour, f.askMore(24*time.Hour, "more testing"))
	f.cancelAt(63 * time.Hour)
	st := f.runCancelled(extending(f.standardInput()))
	f.cancelled(st, domain.StateRevoked, 63*time.Hour, start, demo.ContosoSite)
	if len(st.Extensions) != 1 || st.Extensions[0].State != domain.ExtensionLapsed {
		t.Fatalf("extensions %+v, want the pending one lapsed", st.Extensions)
	}
	tok, err := f.store.ApprovalTokenByHash(context.Background(), secret.HashToken(f.keys.ApprovalToken(activities.ApprovalSubject(runID, 1), demo.ContosoAdmin)))
	if err != nil || tok.VoidedAt == nil {
		t.Fatalf("extension link after the cancel: %+v %v, want voided", tok, err)
	}
}

func TestCancelDuringTheProfessionalReadyWaitRevokes(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.cancelAt(5 * time.Minute)
	st := f.runCancelled(f.professionalInput())
	f.cancelled(st, domain.StateRevoked, 5*time.Minute, start, demo.FabrikamSite)
	if c, _ := f.store.CredentialByAssignment(context.Background(), runID); c.Ciphertext != nil {
		t.Fatal("temporary credential kept after the cancel")
	}
	if count(f.emails(), "ready ") != 0 {
		t.Fatalf("ready email after the cancel: %v", f.emails())
	}
}

func TestCancelDuringProfessionalAccessRevokes(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.cancelAt(30 * time.Hour)
	st := f.runCancelled(extending(f.professionalInput()))
	f.cancelled(st, domain.StateRevoked, 30*time.Hour, start, demo.FabrikamSite)
	want(t, f.emails(),
		"professional_notice admin@fabrikam.example",
		"avd_instructions solo@partner.example", "credential_link solo@partner.example", "ready solo@partner.example",
		"access_ended solo@partner.example", "access_ended admin@fabrikam.example")
}

// A cancel after the end changes nothing: the run has closed, Completed.
func TestUnassignThenCancelKeepsTheUnassign(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.Agent), Reason: "wrong site"}))
	f.cancelAt(2 * time.Hour)
	st := f.run(f.standardInput())
	if st.State != domain.StateWithdrawn || st.EndedBy != "agent@partner.example" {
		t.Fatalf("status %+v, want withdrawn by the agent", st)
	}
}

// The emails an ended assignment still owes stop at a cancel, each
// recorded as not delivered, and the run closes as Canceled.
func TestCancelStopsOwedEmailsAndRecordsThem(t *testing.T) {
	fake := sendgridfake.New(t)
	fake.FailNext(1000, 500)
	f := newFixture(t, mail.NewSendGrid(fake.Key(), fake.URL()))
	req := activities.EmailRequest{AssignmentID: runID, Kind: domain.EmailAccessEnded,
		To: activities.Recipient{ID: demo.Solo, Name: "Solo", Email: "solo@partner.example"}}
	f.cancelAt(time.Minute) // while the provider still fails and the email is retried
	f.env.ExecuteWorkflow(workflows.Emails, f.vouchEmails(workflows.EmailsInput{AssignmentID: runID, Emails: []activities.EmailRequest{req}, RetryFor: 24 * time.Hour}))
	var canceled *temporal.CanceledError
	if err := f.env.GetWorkflowError(); !errors.As(err, &canceled) {
		t.Fatalf("emails workflow closed with %v, want Canceled", err)
	}
	es, err := f.store.Emails(context.Background(), store.EmailFilter{AssignmentID: runID})
	if err != nil || len(es) != 1 || !strings.Contains(es[0].Error, "cancel request") {
		t.Fatalf("emails %+v %v, want the owed one recorded as stopped by the cancel", es, err)
	}
}
