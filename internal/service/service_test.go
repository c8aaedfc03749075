package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/workflows"
)

// fakeWorkflows stands in for Temporal: it records what the service asks
// and answers as told.
type fakeWorkflows struct {
	mu        sync.Mutex
	started   []workflows.Input
	unassigns []string // run IDs
	decisions []string
	startErr  error
	signalErr map[string]error // by run ID
	outcome   *workflows.SignalOutcome
	runs      int
}

func (f *fakeWorkflows) Start(_ context.Context, in workflows.Input, _, _ string) (wfclient.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return wfclient.Run{}, f.startErr
	}
	f.runs++
	f.started = append(f.started, in)
	return wfclient.Run{WorkflowID: workflows.WorkflowID(in.SiteID, in.PartnerUser.ID), RunID: "run-" + string(rune('a'+f.runs))}, nil
}

func (f *fakeWorkflows) Decide(_ context.Context, r wfclient.Run, _ workflows.Person, _ int, _ bool, _ string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decisions = append(f.decisions, r.RunID)
	return "signal-1", f.signalErr[r.RunID]
}

func (f *fakeWorkflows) Unassign(_ context.Context, r wfclient.Run, _ workflows.Person, _, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.signalErr[r.RunID]; err != nil {
		return err
	}
	f.unassigns = append(f.unassigns, r.RunID)
	return nil
}

func (f *fakeWorkflows) RequestExtension(context.Context, wfclient.Run, workflows.Person, time.Duration, string) (string, error) {
	return "", errors.New("not used")
}

func (f *fakeWorkflows) Status(context.Context, wfclient.Run) (workflows.Status, error) {
	return workflows.Status{}, wfclient.ErrUnavailable
}

func (f *fakeWorkflows) SignalOutcome(context.Context, wfclient.Run, string) (workflows.SignalOutcome, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.outcome == nil {
		return workflows.SignalOutcome{}, false, nil
	}
	return *f.outcome, true, nil
}

func (f *fakeWorkflows) Kept(context.Context, wfclient.Run) (bool, error) { return true, nil }
func (f *fakeWorkflows) Ping(context.Context) error                       { return nil }
func (f *fakeWorkflows) Reissue(context.Context, target.Input) error {
	return errors.New("no directory in these tests")
}

func newService(t *testing.T) (*service.Service, *store.Store, *fakeWorkflows) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := demo.Load(ctx, st, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.NewKeys(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	wf := &fakeWorkflows{signalErr: map[string]error{}}
	svc := service.New(service.Config{PublicURL: "http://127.0.0.1:8080", DecisionWait: 200 * time.Millisecond,
		Timing: workflows.Timing{ApprovalTimeout: time.Hour, AccessDuration: 72 * time.Hour}, PasswordCost: bcrypt.MinCost},
		st, wf, keys, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	return svc, st, wf
}

func user(t *testing.T, st *store.Store, id string) store.User {
	t.Helper()
	u, err := st.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func refusals(t *testing.T, st *store.Store) []store.AuditEntry {
	t.Helper()
	es, err := st.AuditLog(context.Background(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, e := range es {
		if e.Outcome == store.OutcomeRefused {
			out = append(out, e)
		}
	}
	return out
}

// An assignment starts one workflow with what the rules planned, writes
// its row once for the caller to read at once, and a repeat returns it
// without a second start (R8).
func TestR8AssignStartsOnceAndRepeatReturnsTheOpenAssignment(t *testing.T) {
	svc, st, wf := newService(t)
	ctx := context.Background()
	agent := user(t, st, demo.Agent)
	req := rules.AssignRequest{SiteID: demo.ContosoSite, UserID: demo.Solo, Reason: "case 4711"}
	a, created, err := svc.Assign(ctx, agent, req)
	if err != nil || !created {
		t.Fatalf("assign: created %v, %v", created, err)
	}
	if len(wf.started) != 1 {
		t.Fatalf("%d starts, want 1", len(wf.started))
	}
	in := wf.started[0]
	if in.SiteID != demo.ContosoSite || in.PartnerUser.ID != demo.Solo || in.RequestedBy.ID != demo.Agent || in.Reason != "case 4711" ||
		in.Edition != domain.EditionStandard || len(in.Approvers) == 0 || in.PartnerName == "" {
		t.Fatalf("workflow input: %+v", in)
	}
	for _, p := range in.Approvers {
		if u := user(t, st, p.ID); !u.IsApprover() {
			t.Fatalf("%s is not an approver", p.ID)
		}
	}
	row, err := st.AssignmentByID(ctx, a.ID)
	if err != nil || row.State != domain.StateRequested || row.SiteName != a.SiteName || row.PartnerUserEmail != a.PartnerUserEmail ||
		a.State != domain.StateRequested {
		t.Fatalf("row %+v (%v), answered %+v", row, err, a)
	}
	again, created, err := svc.Assign(ctx, agent, req)
	if err != nil || created || again.ID != a.ID || len(wf.started) != 1 {
		t.Fatalf("repeat: %s created %v %v, %d starts", again.ID, created, err, len(wf.started))
	}
}

// A refusal starts nothing and is audited once, in the site's tenant when
// the actor may see the site, and in the actor's own otherwise.
func TestR1RefusedAssignStartsNothingAndIsAuditedOnce(t *testing.T) {
	svc, st, wf := newService(t)
	ctx := context.Background()
	agent := user(t, st, demo.Agent)
	_, _, err := svc.Assign(ctx, agent, rules.AssignRequest{SiteID: demo.LitwareSite, UserID: demo.Solo, Reason: "case"})
	if p := problem.As(err); p == nil || p.Rule != "R1" {
		t.Fatalf("want an R1 refusal, got %v", err)
	}
	_, _, err = svc.Assign(ctx, agent, rules.AssignRequest{SiteID: demo.AdatumSite, UserID: demo.Solo, Reason: "case"})
	if p := problem.As(err); p == nil || p.Kind != problem.KindNotFound {
		t.Fatalf("another partner's site: want 404, got %v", err)
	}
	if len(wf.started) != 0 {
		t.Fatalf("%d workflows started", len(wf.started))
	}
	rs := refusals(t, st)
	if len(rs) != 2 {
		t.Fatalf("%d refusals audited, want 2: %+v", len(rs), rs)
	}
	byDetail := map[bool]store.AuditEntry{}
	for _, r := range rs {
		byDetail[r.SiteID != ""] = r
	}
	if v := byDetail[true]; v.SiteID != demo.LitwareSite || v.CustomerID != demo.Litware || v.ActorID != demo.Agent {
		t.Fatalf("R1 refusal not in the site's tenant: %+v", v)
	}
	if h := byDetail[false]; h.CustomerID != "" || h.PartnerID != demo.Northwind {
		t.Fatalf("hidden site's refusal not in the actor's tenant: %+v", h)
	}
}

// Temporal down: the start answers 503 and writes nothing.
func TestAssignWithTemporalDownAnswers503AndWritesNothing(t *testing.T) {
	svc, st, wf := newService(t)
	ctx := context.Background()
	wf.startErr = wfclient.ErrUnavailable
	_, _, err := svc.Assign(ctx, user(t, st, demo.Agent), rules.AssignRequest{SiteID: demo.ContosoSite, UserID: demo.Solo, Reason: "case"})
	if p := problem.As(err); p == nil || p.Kind != problem.KindUnavailable {
		t.Fatalf("want 503, got %v", err)
	}
	if as, _ := st.Assignments(ctx, store.AssignmentFilter{}); len(as) != 0 {
		t.Fatalf("%d assignments written", len(as))
	}
}

// Withdrawing permission ends every open assignment of the partner at the
// customer (R1, R7): one ended meanwhile is skipped, and a Temporal outage
// answers 503 so that repeating finishes the job.
func TestR1WithdrawnPermissionEndsOpenAssignments(t *testing.T) {
	svc, st, wf := newService(t)
	ctx := context.Background()
	agent := user(t, st, demo.Agent)
	var ids []string
	for _, u := range []string{demo.Solo, demo.Agent} {
		a, _, err := svc.Assign(ctx, agent, rules.AssignRequest{SiteID: demo.ContosoSite, UserID: u, Role: "", Reason: "case"})
		if err != nil {
			if p := problem.As(err); p != nil && p.Rule == "R3" { // several roles: pick one
				roles := user(t, st, u).Roles
				a, _, err = svc.Assign(ctx, agent, rules.AssignRequest{SiteID: demo.ContosoSite, UserID: u, Role: roles[0], Reason: "case"})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, a.ID)
	}
	admin := user(t, st, demo.ContosoAdmin)
	wf.signalErr[ids[0]] = wfclient.ErrUnavailable
	if _, err := svc.SetPermission(ctx, admin, demo.Contoso, false); problem.As(err) == nil || problem.As(err).Kind != problem.KindUnavailable {
		t.Fatalf("Temporal down: want 503, got %v", err)
	}
	wf.signalErr[ids[0]] = wfclient.ErrEnded // ended meanwhile
	if _, err := svc.SetPermission(ctx, admin, demo.Contoso, false); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if len(wf.unassigns) < 1 || wf.unassigns[len(wf.unassigns)-1] != ids[1] {
		t.Fatalf("unassigned %v, want %s last", wf.unassigns, ids[1])
	}
	if ok, _ := st.PartnerPermitted(ctx, demo.Contoso, demo.Northwind); ok {
		t.Fatal("permission still granted")
	}
}

// A decision the workflow accepted returns the assignment as the store
// has it; one it refused is a conflict; one it never answered is pending.
func TestR4DecisionOutcomes(t *testing.T) {
	svc, st, wf := newService(t)
	ctx := context.Background()
	a, _, err := svc.Assign(ctx, user(t, st, demo.Agent), rules.AssignRequest{SiteID: demo.ContosoSite, UserID: demo.Solo, Reason: "case"})
	if err != nil {
		t.Fatal(err)
	}
	// The workflow's first step would move it to pending approval.
	if err := st.ApplyTransition(ctx, store.Transition{AssignmentID: a.ID, Seq: 1, State: domain.StatePendingApproval, At: time.Now(),
		Actor: demo.Agent, Action: "assignment.requested"}); err != nil {
		t.Fatal(err)
	}
	admin := user(t, st, demo.ContosoAdmin)

	if _, err := svc.Decide(ctx, admin, a.ID, 0, true); !errors.Is(err, service.ErrDecisionPending) {
		t.Fatalf("unanswered: want pending, got %v", err)
	}
	wf.outcome = &workflows.SignalOutcome{Conflict: true, Detail: "already decided"}
	if _, err := svc.Decide(ctx, admin, a.ID, 0, true); problem.As(err) == nil || problem.As(err).Kind != problem.KindConflict {
		t.Fatalf("conflict: want 409, got %v", err)
	}
	wf.outcome = &workflows.SignalOutcome{Accepted: true}
	got, err := svc.Decide(ctx, admin, a.ID, 0, true)
	if err != nil || got.ID != a.ID {
		t.Fatalf("accepted: %+v %v", got, err)
	}
	partner := user(t, st, demo.Agent)
	if _, err := svc.Decide(ctx, partner, a.ID, 0, true); problem.As(err) == nil || problem.As(err).Rule != "R6" {
		t.Fatalf("a partner deciding: want R6, got %v", err)
	}
	if len(wf.decisions) != 3 {
		t.Fatalf("%d decisions sent, want 3 (the partner's never)", len(wf.decisions))
	}
}

// Suspending a partner user ends its open assignments (R2, R7).
func TestR2SuspensionEndsOpenAssignments(t *testing.T) {
	svc, st, wf := newService(t)
	ctx := context.Background()
	a, _, err := svc.Assign(ctx, user(t, st, demo.Agent), rules.AssignRequest{SiteID: demo.ContosoSite, UserID: demo.Solo, Reason: "case"})
	if err != nil {
		t.Fatal(err)
	}
	status := store.StatusSuspended
	if _, err := svc.UpdateUser(ctx, user(t, st, demo.PartnerAdmin), demo.Solo, service.UserPatch{Status: &status}); err != nil {
		t.Fatal(err)
	}
	if len(wf.unassigns) != 1 || wf.unassigns[0] != a.ID {
		t.Fatalf("unassigned %v, want [%s]", wf.unassigns, a.ID)
	}
	if u := user(t, st, demo.Solo); u.Status != store.StatusSuspended {
		t.Fatalf("status %s", u.Status)
	}
}

// An invitation to a look-alike address is refused and adds nobody.
func TestInvitationToALookAlikeAddressIsRefused(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	admin := user(t, st, demo.ContosoAdmin)
	_, err := svc.Invite(ctx, admin, store.KindCustomer, demo.Contoso, service.NewUser{Email: "\u0430dmin2@contoso.example", Name: "Eve",
		Roles: []string{store.RoleCustomerOps}})
	if p := problem.As(err); p == nil || p.Field != "email" || p.Kind != problem.KindUnprocessable {
		t.Fatalf("want a 422 on email, got %v", err)
	}
	if _, err := st.UserByEmail(ctx, "\u0430dmin2@contoso.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the user was added: %v", err)
	}
}

// Invitations and their resends are limited per address: a fourth within
// minutes is refused with 429 and sends nothing.
func TestInvitationsAndResendsAreRateLimited(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	admin := user(t, st, demo.ContosoAdmin)
	u, err := svc.Invite(ctx, admin, store.KindCustomer, demo.Contoso, service.NewUser{Email: "new@contoso.example", Name: "Nia New",
		Roles: []string{store.RoleCustomerOps}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := svc.ResendInvitation(ctx, admin, u.ID); err != nil {
			t.Fatalf("resend %d: %v", i+1, err)
		}
	}
	_, err = svc.ResendInvitation(ctx, admin, u.ID)
	if p := problem.As(err); p == nil || p.Kind != problem.KindTooManyRequests || p.RetryAfter <= 0 {
		t.Fatalf("a fourth invitation within minutes: %v, want 429 with Retry-After", err)
	}
	es, err := st.Emails(ctx, store.EmailFilter{To: "new@contoso.example"})
	if err != nil || len(es) != 3 {
		t.Fatalf("%d invitation emails (%v), want 3", len(es), err)
	}
}

// Inviting an address that a user of another organization holds answers
// like an invitation sent, and stores and sends nothing: the administrator
// learns nothing about other tenants, and that user gets no email. An
// address of the administrator's own organization is a conflict.
func TestInvitingAnAddressHeldElsewhereLooksSentAndDoesNothing(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	admin := user(t, st, demo.ContosoAdmin)
	fresh, err := svc.Invite(ctx, admin, store.KindCustomer, demo.Contoso, service.NewUser{Email: "new@contoso.example", Name: "Nia New",
		Roles: []string{store.RoleCustomerOps}})
	if err != nil {
		t.Fatal(err)
	}
	held, err := svc.Invite(ctx, admin, store.KindCustomer, demo.Contoso, service.NewUser{Email: "Admin@Fabrikam.example", Name: "Fay",
		Roles: []string{store.RoleCustomerOps}})
	if err != nil {
		t.Fatalf("invitation of an address held elsewhere: %v, want the answer of one sent", err)
	}
	if held.ID == "" || held.ID == demo.FabrikamAdmin || held.Status != fresh.Status || held.CustomerID != demo.Contoso ||
		held.Invitation == nil || !held.Invitation.ExpiresAt.Round(time.Minute).Equal(fresh.Invitation.ExpiresAt.Round(time.Minute)) {
		t.Fatalf("answer %+v, want one shaped like %+v", held, fresh)
	}
	if u, err := st.UserByEmail(ctx, "admin@fabrikam.example"); err != nil || u.ID != demo.FabrikamAdmin || u.CustomerID != demo.Fabrikam {
		t.Fatalf("the holder changed: %+v %v", u, err)
	}
	if _, err := st.UserByID(ctx, held.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a user was stored for the look-alike: %v", err)
	}
	if es, _ := st.Emails(ctx, store.EmailFilter{To: "admin@fabrikam.example"}); len(es) != 0 {
		t.Fatalf("the holder got %d emails, want none", len(es))
	}
	log, _ := st.AuditLog(ctx, store.AuditFilter{CustomerID: demo.Contoso})
	found := false
	for _, e := range log {
		found = found || e.Action == "user.invitation_suppressed"
	}
	if !found {
		t.Fatal("the suppressed invitation is not in the audit log")
	}
	_, err = svc.Invite(ctx, admin, store.KindCustomer, demo.Contoso, service.NewUser{Email: "ops@contoso.example", Name: "Oz",
		Roles: []string{store.RoleCustomerOps}})
	if p := problem.As(err); p == nil || p.Kind != problem.KindConflict {
		t.Fatalf("invitation of an address of the own organization: %v, want 409", err)
	}
}

// The drift repair that restored an assignment's membership is in the
// assignment's own audit log (with its partner, for the partner's view),
// and its timeline says so in words.
func TestTimelineShowsARestoredMembership(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	a, _, err := svc.Assign(ctx, user(t, st, demo.Agent), rules.AssignRequest{SiteID: demo.ContosoSite, UserID: demo.Solo, Reason: "case 4711"})
	if err != nil {
		t.Fatal(err)
	}
	// As the reconciler writes it.
	if err := st.Audit(ctx, store.AuditEntry{At: time.Now(), ActorID: "reconciler", Action: "drift.restored", Outcome: store.OutcomeOK,
		AssignmentID: a.ID, CustomerID: demo.Contoso, SiteID: demo.ContosoSite, Detail: "solo has a grant in force: added back"}); err != nil {
		t.Fatal(err)
	}
	log, err := st.AuditLog(ctx, store.AuditFilter{AssignmentID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(log, func(e store.AuditEntry) bool { return e.Action == "drift.restored" })
	if i < 0 || log[i].PartnerID != demo.Northwind || log[i].CustomerID != demo.Contoso || log[i].SiteID != demo.ContosoSite {
		t.Fatalf("the assignment's audit log %+v has no drift.restored of its partner, customer and site", log)
	}
	events, err := svc.Timeline(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	want := a.PartnerUserName + "'s account had been taken out of " + a.SiteName + "'s access group while access was in force; the reconciler put it back"
	if !slices.ContainsFunc(events, func(e service.Event) bool { return e.Text == want }) {
		t.Fatalf("timeline %+v has no %q", events, want)
	}
}

// A request that needs two approvals and starts later says so in words:
// who approved and how far it has come, when access starts, and that it began.
func TestTimelineWordsApprovalsThatCountedAndScheduledAccess(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	starts := now.Add(48 * time.Hour)
	if err := st.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Solo,
		Role: store.RolePartnerConsultant, Reason: "CS-1234", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now,
		ApprovalsRequired: 2, StartsAt: &starts}); err != nil {
		t.Fatal(err)
	}
	for i, tr := range []store.Transition{
		{State: domain.StatePendingApproval, Actor: demo.Agent, Action: domain.ActionAssignmentRequested},
		{State: domain.StatePendingApproval, Actor: demo.ContosoAdmin, Action: domain.ActionApprovalCounted},
		{State: domain.StateScheduled, Actor: demo.ContosoOps, Action: domain.ActionAssignmentScheduled,
			Decision: domain.DecisionApproved, DecidedBy: "ops@contoso.example"},
		{State: domain.StateActive, Actor: "system", Action: domain.ActionAccessStarted},
	} {
		tr.AssignmentID, tr.Seq, tr.At = "a1", i+2, now.Add(time.Duration(i)*time.Minute)
		if err := st.ApplyTransition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	a, err := st.AssignmentByID(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	events, err := svc.Timeline(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range events {
		texts = append(texts, e.Text)
	}
	want := []string{"Casey Contoso approved (1 of 2)", user(t, st, demo.ContosoOps).Name + " approved the request; access starts Wed 6 May 2026 08:00 UTC",
		"Scheduled access began"}
	if len(texts) != 4 || !slices.Equal(texts[1:], want) {
		t.Fatalf("timeline %q, want the request, then %q", texts, want)
	}
}

func TestR10_AssignBuildsTheInputFromThePolicyInForce(t *testing.T) {
	svc, st, wf := newService(t)
	ctx := context.Background()
	if err := st.SetPolicies(ctx, demo.Contoso, `{"approvals":2,"approver_roles":["Customer Administrator"],"access_duration":"8h","max_duration":"24h",`+
		`"max_extensions":1,"approval_timeout":"48h","auto_approve":[{"users":["nobody"]},{"roles":["Partner Consultant"],"max_duration":"4h"}]}`,
		map[string]string{demo.ContosoFinance: `{"approver_roles":["Customer Administrator","Customer Operations Agent"],"access_duration":"8h",` +
			`"reason_pattern":"^CS-","reason_example":"CS-1234: month-end"}`}); err != nil {
		t.Fatal(err)
	}
	agent := user(t, st, demo.Agent)
	startsAt := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	if _, _, err := svc.Assign(ctx, agent, rules.AssignRequest{SiteID: demo.ContosoSite, UserID: demo.Agent, Role: store.RolePartnerConsultant,
		Reason: "upgrade", Duration: "3h", StartsAt: startsAt.Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	// The site's own policy (two approvals, a ticket) over the customer's.
	if _, _, err := svc.Assign(ctx, agent, rules.AssignRequest{SiteID: demo.ContosoFinance, UserID: demo.Solo, Reason: "CS-1234: month-end"}); err != nil {
		t.Fatal(err)
	}
	if len(wf.started) != 2 {
		t.Fatalf("%d starts", len(wf.started))
	}
	in := wf.started[0]
	if in.Timing.AccessDuration != 3*time.Hour || in.Timing.MaxExtensions != 1 {
		t.Errorf("timing = %+v, want the request's 3h and the policy's one extension", in.Timing)
	}
	// The policy's whole approval_timeout (extensions get it too); the run
	// caps the first request's deadline at starts_at, and only
	// Customer Administrators may decide.
	if in.Timing.ApprovalTimeout != 48*time.Hour || !slices.Equal(in.Policy.ApproverRoles, []string{store.RoleCustomerAdmin}) {
		t.Errorf("approval timeout = %s, roles %v; want 48h and the policy's one role", in.Timing.ApprovalTimeout, in.Policy.ApproverRoles)
	}
	if in.Policy.Approvals != 2 || in.Policy.StartsAt == nil || !in.Policy.StartsAt.Equal(startsAt) ||
		in.Policy.AutoApproved != "auto_approve[1]: role Partner Consultant" {
		t.Errorf("policy = %+v", in.Policy)
	}
	if len(in.Approvers) != 1 || in.Approvers[0].ID != demo.ContosoAdmin {
		t.Errorf("approvers = %+v, want the Customer Administrator only", in.Approvers)
	}
	fin := wf.started[1]
	if fin.Timing.AccessDuration != 8*time.Hour || fin.Timing.ApprovalTimeout != 48*time.Hour || fin.Policy.Approvals != 2 ||
		fin.Policy.StartsAt != nil || fin.Policy.AutoApproved != "" {
		t.Errorf("finance input: timing %+v, policy %+v", fin.Timing, fin.Policy)
	}
}

func TestR10_WithoutAPolicyTheInputIsTodays(t *testing.T) {
	svc, st, wf := newService(t)
	agent := user(t, st, demo.Agent)
	if _, _, err := svc.Assign(context.Background(), agent, rules.AssignRequest{SiteID: demo.ContosoSite, UserID: demo.Solo, Reason: "case 1"}); err != nil {
		t.Fatal(err)
	}
	in := wf.started[0]
	if in.Timing != svc.Config().Timing || !in.Policy.IsZero() || len(in.Approvers) != 2 {
		t.Fatalf("timing %+v (want %+v), policy %+v, %d approvers", in.Timing, svc.Config().Timing, in.Policy, len(in.Approvers))
	}
}
