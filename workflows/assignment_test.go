package workflows_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/mail/sendgridfake"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/worker"
	"github.com/partneraccess/partneraccess/workflows"
)

var timing = workflows.Timing{
	ApprovalTimeout:  7 * 24 * time.Hour,
	ApprovalReminder: 24 * time.Hour,
	AccessDuration:   72 * time.Hour,
	ReadyWait:        15 * time.Minute,
	EmailRetryFor:    24 * time.Hour,
}

const runID = "default-test-run-id" // the assignment ID in the test environment

type fixture struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	store *store.Store
	keys  *secret.Keys
	acts  *activities.Activities
}

// newFixture runs the workflow with the real activities on a real SQLite
// store; sender nil keeps emails in the local mailbox.
func newFixture(t *testing.T, sender mail.Sender) *fixture {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := demo.Load(ctx, s, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.NewKeys(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	acts := activities.New(s, sender, keys, activities.Config{
		PublicURL:      "http://127.0.0.1:8080",
		MailFrom:       mail.Address{Name: "Partner Access", Email: "access@provisioning.example"},
		AVDMailFrom:    mail.Address{Name: "No Reply", Email: "no-reply@avd.example"},
		AVDDownloadURL: "https://avd.example/download",
	})
	worker.Register(env, acts)
	return &fixture{t: t, env: env, store: s, keys: keys, acts: acts}
}

func person(t *testing.T, s *store.Store, id string) workflows.Person {
	t.Helper()
	u, err := s.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return workflows.Person{ID: u.ID, Name: u.Name, Email: u.Email}
}

func (f *fixture) standardInput() workflows.Input {
	p := func(id string) workflows.Person { return person(f.t, f.store, id) }
	return workflows.Input{
		SiteID: demo.ContosoSite, SiteName: "Contoso Sage 200 Standard", CustomerID: demo.Contoso, CustomerName: "Contoso",
		PartnerID: demo.Northwind, PartnerName: "Northwind Partners", Edition: domain.EditionStandard,
		PartnerUser: p(demo.Solo), Role: store.RolePartnerSupportAgent, Reason: "Case 4711: deploy update", RequestedBy: p(demo.Agent),
		Approvers:     []workflows.Person{p(demo.ContosoAdmin), p(demo.ContosoOps)},
		CustomerUsers: []workflows.Person{p(demo.ContosoAdmin), p(demo.ContosoOps), p(demo.ContosoViewer)},
		Timing:        timing,
	}
}

func (f *fixture) professionalInput() workflows.Input {
	p := func(id string) workflows.Person { return person(f.t, f.store, id) }
	return workflows.Input{
		SiteID: demo.FabrikamSite, SiteName: "Fabrikam Sage 200 Professional", CustomerID: demo.Fabrikam, CustomerName: "Fabrikam",
		PartnerID: demo.Northwind, PartnerName: "Northwind Partners", Edition: domain.EditionProfessional,
		PartnerUser: p(demo.Solo), Role: store.RolePartnerSupportAgent, Reason: "Case 99: support", RequestedBy: p(demo.Solo),
		CustomerUsers: []workflows.Person{p(demo.FabrikamAdmin)},
		Timing:        timing,
	}
}

func (f *fixture) at(d time.Duration, fn func()) { f.env.RegisterDelayedCallback(fn, d) }

// signal sends a signal as a server would, vouched for with the shared key.
func (f *fixture) signal(name string, arg any) func() {
	return func() { f.env.SignalWorkflow(name, f.vouch(arg)) }
}

func (f *fixture) vouch(arg any) any {
	v := workflows.Vouch{ID: secret.NewToken(), SentAt: f.env.Now()}
	switch s := arg.(type) {
	case workflows.ApprovalSignal:
		s.Vouch = v
		s.MAC = f.keys.SignSignal(s.SignedFields(runID)...)
		return s
	case workflows.UnassignSignal:
		s.Vouch = v
		s.MAC = f.keys.SignSignal(s.SignedFields(runID)...)
		return s
	case workflows.ExtensionSignal:
		s.Vouch = v
		s.MAC = f.keys.SignSignal(s.SignedFields(runID)...)
		return s
	}
	return arg
}

// workflowID is the test environment's workflow ID.
const workflowID = "default-test-workflow-id"

// vouchStart vouches for a start as a server does: signed, and recorded
// in the store before the start.
func (f *fixture) vouchStart(in *workflows.Input) {
	f.t.Helper()
	in.Vouch = workflows.Vouch{ID: secret.NewToken(), SentAt: time.Now()}
	in.Vouch.MAC = f.keys.SignSignal(in.SignedFields(workflowID)...)
	if err := f.store.PutVouch(context.Background(), in.Vouch.ID, activities.VouchAssignment, workflowID,
		activities.AssignmentGrants(in.SiteID, in.PartnerUser.ID, in.Edition), in.Vouch.SentAt); err != nil {
		f.t.Fatal(err)
	}
}

// vouchEmails vouches for an emails run as its assignment does.
func (f *fixture) vouchEmails(in workflows.EmailsInput) workflows.EmailsInput {
	f.t.Helper()
	v, err := activities.NewVouch(context.Background(), f.keys, f.store, activities.VouchEmails, workflowID,
		activities.EmailsGrants(in.AssignmentID), time.Now(), func(id string, at time.Time) []string {
			in.Vouch = workflows.Vouch{ID: id, SentAt: at}
			return in.SignedFields(workflowID)
		})
	if err != nil {
		f.t.Fatal(err)
	}
	in.Vouch = workflows.Vouch{ID: v.ID, SentAt: v.SentAt, MAC: v.MAC}
	return in
}

func (f *fixture) run(in workflows.Input) workflows.Status {
	f.t.Helper()
	if in.Vouch.MAC == "" { // vouched for as a server does it; a test may forge its own
		f.vouchStart(&in)
	}
	f.env.ExecuteWorkflow(workflows.Assignment, in)
	if !f.env.IsWorkflowCompleted() {
		f.t.Fatal("workflow did not complete")
	}
	if err := f.env.GetWorkflowError(); err != nil {
		f.t.Fatalf("workflow failed: %v", err)
	}
	var st workflows.Status
	if err := f.env.GetWorkflowResult(&st); err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fixture) query() workflows.Status {
	f.t.Helper()
	v, err := f.env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		f.t.Fatal(err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		f.t.Fatal(err)
	}
	return st
}

// emails lists "kind to" of every email recorded, sorted.
func (f *fixture) emails() []string {
	f.t.Helper()
	es, err := f.store.Emails(context.Background(), store.EmailFilter{AssignmentID: runID})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Kind+" "+e.To)
	}
	sort.Strings(out)
	return out
}

func (f *fixture) assignment() store.Assignment {
	f.t.Helper()
	a, err := f.store.AssignmentByID(context.Background(), runID)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) hasAccess(at time.Time) bool {
	f.t.Helper()
	_, err := f.store.ActiveGrant(context.Background(), demo.ContosoSite, demo.Solo, at)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		f.t.Fatal(err)
	}
	return err == nil
}

func want(t *testing.T, got []string, lines ...string) {
	t.Helper()
	sort.Strings(lines)
	if strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Fatalf("emails:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(lines, "\n  "))
	}
}

func approve(f *fixture, by string, yes bool) workflows.ApprovalSignal {
	return workflows.ApprovalSignal{Approve: yes, By: person(f.t, f.store, by)}
}

func TestR4StandardApprovedIsActiveThenExpiresAfter72Hours(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.at(2*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoOps, true)))
	f.at(2*time.Hour+time.Minute, func() {
		st := f.query()
		if st.State != domain.StateActive || st.DecidedBy != "ops@contoso.example" {
			t.Errorf("after approval: %+v", st)
		}
		if !f.hasAccess(f.env.Now()) {
			t.Error("no access while active")
		}
	})
	f.at(2*time.Hour+71*time.Hour, func() {
		if f.query().State != domain.StateActive || !f.hasAccess(f.env.Now()) {
			t.Error("access ended before 72 hours")
		}
	})
	st := f.run(f.standardInput())

	if st.State != domain.StateExpired {
		t.Fatalf("final state %s, want expired", st.State)
	}
	if got := st.EndedAt.Sub(start); got < 74*time.Hour || got > 74*time.Hour+time.Minute {
		t.Fatalf("ended %v after start, want 2h to approval + 72h of access", got)
	}
	if f.hasAccess(*st.EndedAt) {
		t.Fatal("access still granted after expiry")
	}
	a := f.assignment()
	if a.State != domain.StateExpired || a.Decision != domain.DecisionApproved || a.AccessEndsAt == nil || a.EndedAt == nil {
		t.Fatalf("projection %+v", a)
	}
	want(t, f.emails(),
		"approval_request admin@contoso.example", "approval_request ops@contoso.example",
		"approval_confirmation admin@contoso.example", "approval_confirmation ops@contoso.example",
		"access_granted solo@partner.example", "access_granted agent@partner.example",
		"customer_notice viewer@contoso.example", "request_sent agent@partner.example",
		"access_ended solo@partner.example", "access_ended agent@partner.example", "access_ended admin@contoso.example",
		"access_ended ops@contoso.example", "access_ended viewer@contoso.example")
	// The approval links stop working once the request is decided.
	tok, err := f.store.ApprovalTokenByHash(context.Background(), secret.HashToken(f.keys.ApprovalToken(runID, demo.ContosoAdmin)))
	if err != nil || tok.VoidedAt == nil {
		t.Fatalf("approver's token after decision: %+v %v, want voided", tok, err)
	}
}

func TestR4FirstDecisionWinsAndOthersAreIgnored(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoViewer, false))) // not an approver
	f.at(2*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(2*time.Hour+time.Second, f.signal(workflows.SignalApproval, approve(f, demo.ContosoOps, false)))
	f.at(3*time.Hour, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.Solo), Reason: "done"}))
	st := f.run(f.standardInput())
	if st.Decision != domain.DecisionApproved || st.DecidedBy != "admin@contoso.example" {
		t.Fatalf("decision %s by %s, want approved by admin", st.Decision, st.DecidedBy)
	}
	if st.State != domain.StateRevoked {
		t.Fatalf("state %s, want revoked", st.State)
	}
}

func TestR4DeniedTellsEveryone(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, false)))
	st := f.run(f.standardInput())
	if st.State != domain.StateDenied || st.Decision != domain.DecisionDenied {
		t.Fatalf("status %+v, want denied", st)
	}
	if f.hasAccess(f.env.Now().Add(-time.Minute)) {
		t.Fatal("denied request has access")
	}
	want(t, f.emails(),
		"approval_request admin@contoso.example", "approval_request ops@contoso.example",
		"approval_confirmation admin@contoso.example", "approval_confirmation ops@contoso.example",
		"customer_notice viewer@contoso.example", "request_sent agent@partner.example",
		"access_denied solo@partner.example", "access_denied agent@partner.example")
}

func TestStandardApprovalWindowLapsesAfterReminder(t *testing.T) {
	f := newFixture(t, nil)
	f.at(6*24*time.Hour-time.Minute, func() {
		if got := f.emails(); strings.Contains(strings.Join(got, " "), "reminder") {
			t.Errorf("reminder before it is due: %v", got)
		}
	})
	st := f.run(f.standardInput())
	if st.State != domain.StateApprovalExpired {
		t.Fatalf("state %s, want approval_expired", st.State)
	}
	if got := st.EndedAt.Sub(st.RequestedAt); got != timing.ApprovalTimeout {
		t.Fatalf("lapsed after %v, want %v", got, timing.ApprovalTimeout)
	}
	want(t, f.emails(),
		"approval_request admin@contoso.example", "approval_request ops@contoso.example",
		"approval_reminder admin@contoso.example", "approval_reminder ops@contoso.example",
		"customer_notice viewer@contoso.example", "request_sent agent@partner.example",
		"approval_expired solo@partner.example", "approval_expired agent@partner.example",
		"approval_expired admin@contoso.example", "approval_expired ops@contoso.example")
	tok, err := f.store.ApprovalTokenByHash(context.Background(), secret.HashToken(f.keys.ApprovalToken(runID, demo.ContosoOps)))
	if err != nil || tok.VoidedAt == nil {
		t.Fatalf("token after lapse: %+v %v, want voided", tok, err)
	}
}

func TestR7UnassignBeforeApprovalWithdrawsTheRequest(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.Agent), Reason: "wrong site"}))
	st := f.run(f.standardInput())
	if st.State != domain.StateWithdrawn || st.EndedBy != "agent@partner.example" || !strings.Contains(st.EndReason, "wrong site") {
		t.Fatalf("status %+v, want withdrawn by agent", st)
	}
	if a := f.assignment(); a.Decision != "" || a.ActivatedAt != nil {
		t.Fatalf("withdrawn request was decided or activated: %+v", a)
	}
	want(t, f.emails(),
		"approval_request admin@contoso.example", "approval_request ops@contoso.example",
		"customer_notice viewer@contoso.example", "request_sent agent@partner.example",
		"request_withdrawn solo@partner.example", "request_withdrawn agent@partner.example",
		"request_withdrawn admin@contoso.example", "request_withdrawn ops@contoso.example", "request_withdrawn viewer@contoso.example")
}

func TestR7UnassignDuringAccessRevokesAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(5*time.Hour, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.ContosoViewer), Reason: "case closed"}))
	st := f.run(f.standardInput())
	if st.State != domain.StateRevoked || st.EndedBy != "viewer@contoso.example" {
		t.Fatalf("status %+v, want revoked by the customer user", st)
	}
	if got := st.EndedAt.Sub(st.RequestedAt); got != 5*time.Hour {
		t.Fatalf("revoked %v after the request, want at once on unassign (5h)", got)
	}
	if f.hasAccess(*st.EndedAt) {
		t.Fatal("access remains after unassign")
	}
}

func TestR5ProfessionalActiveWithoutApprovalAndKeptUntilUnassigned(t *testing.T) {
	f := newFixture(t, nil)
	in := f.professionalInput()
	ctx := context.Background()
	f.at(time.Minute, func() {
		if st := f.query(); st.State != domain.StateProvisioning {
			t.Errorf("state %s during the ready wait, want provisioning", st.State)
		}
		c, err := f.store.CredentialByAssignment(ctx, runID)
		if err != nil || c.Ciphertext == nil || c.Login != "solo@partner.example" {
			t.Errorf("credential %+v %v, want one for solo", c, err)
		}
	})
	f.at(16*time.Minute, func() {
		if st := f.query(); st.State != domain.StateActive {
			t.Errorf("state %s after the ready wait, want active", st.State)
		}
	})
	f.at(100*time.Hour, func() {
		if st := f.query(); st.State != domain.StateActive {
			t.Errorf("state %s after 100h, want still active (no automatic removal)", st.State)
		}
		if _, err := f.store.ActiveGrant(ctx, demo.FabrikamSite, demo.Solo, f.env.Now()); err != nil {
			t.Errorf("no access after 100h: %v", err)
		}
		f.env.SignalWorkflow(workflows.SignalUnassign, f.vouch(workflows.UnassignSignal{By: person(t, f.store, demo.FabrikamAdmin)}))
	})
	st := f.run(in)
	if st.State != domain.StateRevoked || st.Decision != "" {
		t.Fatalf("status %+v, want revoked without any decision", st)
	}
	if _, err := f.store.ActiveGrant(ctx, demo.FabrikamSite, demo.Solo, *st.EndedAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("access after unassign: %v", err)
	}
	if c, _ := f.store.CredentialByAssignment(ctx, runID); c.Ciphertext != nil || c.DestroyedAt == nil {
		t.Fatalf("credential not destroyed when access ended: %+v", c)
	}
	want(t, f.emails(),
		"professional_notice admin@fabrikam.example",
		"avd_instructions solo@partner.example", "credential_link solo@partner.example", "ready solo@partner.example",
		"access_ended solo@partner.example", "access_ended admin@fabrikam.example")
	es, _ := f.store.Emails(ctx, store.EmailFilter{AssignmentID: runID})
	for _, e := range es {
		if e.Kind == string(domain.EmailAVDInstructions) && e.From != "no-reply@avd.example" {
			t.Fatalf("AVD instructions sent from %s, want the no-reply sender", e.From)
		}
	}
}

func TestR5ProfessionalUnassignedDuringReadyWait(t *testing.T) {
	f := newFixture(t, nil)
	f.at(5*time.Minute, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.Solo)}))
	st := f.run(f.professionalInput())
	if st.State != domain.StateRevoked {
		t.Fatalf("state %s, want revoked", st.State)
	}
	for _, e := range f.emails() {
		if strings.HasPrefix(e, "ready ") {
			t.Fatalf("ready email sent after unassign: %v", f.emails())
		}
	}
}

func TestSendGrid500IsRetriedUntilAcceptedAndSentOnce(t *testing.T) {
	fake := sendgridfake.New(t)
	fake.FailNext(3, 500)
	f := newFixture(t, mail.NewSendGrid(fake.Key(), fake.URL()))
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, false)))
	st := f.run(f.standardInput())
	if st.State != domain.StateDenied || len(st.FailedEmails) != 0 {
		t.Fatalf("status %+v, want denied with every email delivered", st)
	}
	accepted := map[string]int{}
	for _, m := range fake.Messages() {
		accepted[m.To+" "+m.Subject]++
	}
	if len(fake.Messages()) != 8 {
		t.Fatalf("provider accepted %d emails, want 8 (2 requests, a notice, the requester's copy, 2 confirmations, 2 denials)", len(fake.Messages()))
	}
	for k, n := range accepted {
		if n != 1 {
			t.Fatalf("%q accepted %d times", k, n)
		}
	}
	if fake.Requests() != 8+3 {
		t.Fatalf("provider saw %d requests, want 11 (3 refused with 500, then 8 accepted)", fake.Requests())
	}
	want(t, f.emails(),
		"approval_request admin@contoso.example", "approval_request ops@contoso.example",
		"approval_confirmation admin@contoso.example", "approval_confirmation ops@contoso.example",
		"customer_notice viewer@contoso.example", "request_sent agent@partner.example",
		"access_denied solo@partner.example", "access_denied agent@partner.example")
}

func TestSendGrid400IsRecordedNotRetriedAndTheAssignmentFails(t *testing.T) {
	fake := sendgridfake.New(t)
	fake.FailFor("admin@contoso.example", 400)
	fake.FailFor("ops@contoso.example", 400)
	f := newFixture(t, mail.NewSendGrid(fake.Key(), fake.URL()))
	st := f.run(f.standardInput())
	if st.State != domain.StateFailed || !strings.Contains(st.Failure, "could not be delivered") {
		t.Fatalf("status %+v, want failed: undeliverable", st)
	}
	if len(st.FailedEmails) != 2 {
		t.Fatalf("failed emails %v, want the two approval requests", st.FailedEmails)
	}
	if fake.Requests() != 5 {
		t.Fatalf("provider saw %d requests, want 5: each refused request once, the notice and the requester's copy, then the partner told", fake.Requests())
	}
	var toPartner []string
	for _, m := range fake.Messages() {
		if m.To == "solo@partner.example" {
			toPartner = append(toPartner, m.Subject)
		}
	}
	if len(toPartner) != 1 || !strings.Contains(toPartner[0], "Could not email") {
		t.Fatalf("partner user got %q, want one email saying the request could not be delivered", toPartner)
	}
	es, _ := f.store.Emails(context.Background(), store.EmailFilter{AssignmentID: runID, Status: store.EmailFailed})
	if len(es) != 2 || es[0].Error == "" {
		t.Fatalf("failed email records %+v, want 2 with the provider's reason", es)
	}
	if a := f.assignment(); a.State != domain.StateFailed || a.Failure == "" {
		t.Fatalf("projection %+v, want failed with a reason", a)
	}
}

func TestSendGrid400ForOneApproverStillReachesTheOther(t *testing.T) {
	fake := sendgridfake.New(t)
	fake.FailFor("admin@contoso.example", 400)
	f := newFixture(t, mail.NewSendGrid(fake.Key(), fake.URL()))
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoOps, false)))
	st := f.run(f.standardInput())
	if st.State != domain.StateDenied {
		t.Fatalf("state %s, want denied by the approver the request reached", st.State)
	}
	told := false
	for _, m := range fake.Messages() {
		if m.To == "solo@partner.example" && strings.Contains(m.Text, "admin@contoso.example") {
			told = true
		}
	}
	if !told {
		t.Fatal("partner user was not told that the request could not reach admin@contoso.example")
	}
}

// A start made straight on the Temporal frontend, without the server's
// MAC or with claims the store contradicts, ends failed, audited as
// start.forged, and grants nothing: the attack was Northwind's solo user
// at Litware's Standard site, which never gave permission, claimed to be
// Professional.
func TestR1UnvouchedOrContradictedStartGrantsNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		forge func(f *fixture, in *workflows.Input)
		why   string
	}{
		{"no MAC", func(f *fixture, in *workflows.Input) { in.Vouch = workflows.Vouch{ID: "x", MAC: "forged"} }, "no valid signature"},
		{"signed with a leaked key, but never recorded by a server", func(f *fixture, in *workflows.Input) {
			in.Vouch = workflows.Vouch{ID: "y", SentAt: time.Now()}
			in.Vouch.MAC = f.keys.SignSignal(in.SignedFields(workflowID)...)
		}, "no Partner Access server recorded this start"},
		{"vouched, but the store says otherwise", func(f *fixture, in *workflows.Input) { f.vouchStart(in) }, "edition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			in := f.professionalInput()
			in.SiteID, in.SiteName, in.CustomerID, in.CustomerName = demo.LitwareSite, "Litware Sage 200 Standard", demo.Litware, "Litware"
			tc.forge(f, &in)
			st := f.run(in)
			if st.State != domain.StateFailed || !strings.Contains(st.Failure, tc.why) {
				t.Fatalf("status %s %q, want failed saying %q", st.State, st.Failure, tc.why)
			}
			ctx := context.Background()
			if g, err := f.store.ActiveGrant(ctx, demo.LitwareSite, demo.Solo, time.Now()); err == nil {
				t.Fatalf("a grant was written: %+v", g)
			}
			a, err := f.store.AssignmentByID(ctx, runID)
			if err != nil || a.State != domain.StateFailed {
				t.Fatalf("row %+v, %v; want failed", a, err)
			}
			log, _ := f.store.AuditLog(ctx, store.AuditFilter{AssignmentID: runID})
			if len(log) != 1 || log[0].Action != "start.forged" {
				t.Fatalf("audit %+v, want one start.forged", log)
			}
			if es, _ := f.store.Emails(ctx, store.EmailFilter{AssignmentID: runID}); len(es) != 0 {
				t.Fatalf("%d emails sent", len(es))
			}
		})
	}
}
