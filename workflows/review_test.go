package workflows_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/workflows"
)

// unassigns records the unassign signals the service sends on a review's
// behalf (the assignment workflows are not part of these tests; e2e runs
// them on a real Temporal).
type unassigns struct {
	service.Workflows // every other call is not expected here: nil panics
	got               []string
}

func (u *unassigns) Unassign(_ context.Context, r wfclient.Run, _ workflows.Person, _, cause string) error {
	u.got = append(u.got, r.RunID+":"+cause)
	return nil
}

// reviewFixture runs a review's workflow on the real activities and store,
// removing through the real service.
type reviewFixture struct {
	*fixture
	wf     *unassigns
	review store.Review
}

const reviewDue = 30 * 24 * time.Hour

// newReview creates a review of org as the service does and vouches for
// its start.
func newReview(t *testing.T, kind, org string, setup func(f *fixture)) *reviewFixture {
	t.Helper()
	f := newFixture(t, nil)
	wf := &unassigns{}
	f.acts.Reviews = service.New(service.Config{}, f.store, wf, f.keys, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if setup != nil {
		setup(f)
	}
	ctx := context.Background()
	now := f.env.Now().UTC().Truncate(time.Second)
	rs, err := activities.ReviewSettingsFor(ctx, f.store, org, activities.ReviewDefaults{Every: 90 * 24 * time.Hour, DueIn: reviewDue, OnMissed: store.OnMissedSuspend})
	if err != nil {
		t.Fatal(err)
	}
	items, err := activities.ReviewItems(ctx, f.store, kind, org, now.Add(-rs.Every))
	if err != nil {
		t.Fatal(err)
	}
	r := store.Review{ID: activities.ReviewID(org, now), OrgKind: kind, OrgID: org, StartedBy: demo.PartnerAdmin,
		StartedAt: now, DueAt: now.Add(rs.DueIn), OnMissed: rs.OnMissed, Items: items}
	if err := f.store.CreateReview(ctx, r); err != nil {
		t.Fatal(err)
	}
	f.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: activities.ReviewWorkflowID(r.ID)})
	return &reviewFixture{fixture: f, wf: wf, review: r}
}

// run starts the review's workflow, vouched for, and waits for its end.
func (f *reviewFixture) run() {
	f.t.Helper()
	v, err := f.acts.VouchReviewStart(context.Background(), f.review.ID, f.env.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	f.env.ExecuteWorkflow(workflows.Review, workflows.ReviewInput{ReviewID: f.review.ID, Vouch: workflows.Vouch{ID: v.ID, SentAt: v.SentAt, MAC: v.MAC}})
	if !f.env.IsWorkflowCompleted() {
		f.t.Fatal("review did not complete")
	}
	if err := f.env.GetWorkflowError(); err != nil {
		f.t.Fatal(err)
	}
}

// decide sends an administrator's decision at d, signed as a server does.
func (f *reviewFixture) decide(d time.Duration, by, subjectID, decision string) {
	f.at(d, func() {
		sig := workflows.ReviewDecisionSignal{Item: f.item(subjectID).ID, Decision: decision, By: person(f.t, f.store, by),
			Vouch: workflows.Vouch{ID: secret.NewToken(), SentAt: f.env.Now()}}
		sig.Vouch.MAC = f.keys.SignSignal(sig.SignedFields(f.review.ID)...)
		f.env.SignalWorkflow(workflows.SignalReviewDecision, sig)
	})
}

// item is the review's item about subjectID, as the store has it now.
func (f *reviewFixture) item(subjectID string) store.ReviewItem {
	f.t.Helper()
	r, err := f.store.ReviewByID(context.Background(), f.review.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, it := range r.Items {
		if it.SubjectID == subjectID {
			return it
		}
	}
	f.t.Fatalf("review %s has no item about %s", f.review.ID, subjectID)
	return store.ReviewItem{}
}

func (f *reviewFixture) status(id string) string {
	f.t.Helper()
	u, err := f.store.UserByID(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return u.Status
}

// audited counts the review's audit entries of action.
func (f *reviewFixture) audited(action domain.Action) int {
	f.t.Helper()
	es, err := f.store.AuditLog(context.Background(), store.AuditFilter{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == action && strings.Contains(e.Detail, f.review.ID) {
			n++
		}
	}
	return n
}

// mailTo lists the subjects of the emails to an address.
func (f *reviewFixture) mailTo(addr string) []string {
	f.t.Helper()
	ms, err := f.store.Emails(context.Background(), store.EmailFilter{To: addr, Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Kind+": "+m.Subject)
	}
	return out
}

func countPrefix(xs []string, prefix string) int {
	n := 0
	for _, x := range xs {
		if strings.HasPrefix(x, prefix) {
			n++
		}
	}
	return n
}

// openAssignment gives user an active Standard assignment at Contoso.
func openAssignment(t *testing.T, f *fixture, id, user string) {
	t.Helper()
	ctx := context.Background()
	now := f.env.Now()
	if err := f.store.CreateAssignment(ctx, store.Assignment{ID: id, WorkflowID: "assignment/" + id, SiteID: demo.ContosoSite,
		PartnerUserID: user, Role: store.RolePartnerSupportAgent, Reason: "case " + id, Edition: domain.EditionStandard,
		RequestedBy: user, RequestedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.ApplyTransition(ctx, store.Transition{AssignmentID: id, Seq: 1, State: domain.StateActive, At: now, Actor: "test",
		Action: domain.ActionAccessProvisioned, ActivatedAt: &now}); err != nil {
		t.Fatal(err)
	}
}

func TestReviewEveryItemKept(t *testing.T) {
	f := newReview(t, store.KindPartner, demo.Northwind, nil)
	if len(f.review.Items) != 3 { // Ada, Alex and Sam: the invited and the suspended are no one to confirm
		t.Fatalf("items %+v", f.review.Items)
	}
	for i, id := range []string{demo.PartnerAdmin, demo.Agent, demo.Solo} {
		f.decide(time.Duration(i+1)*time.Hour, demo.PartnerAdmin, id, store.DecisionKeep)
	}
	f.run()
	if d := f.env.Now().Sub(f.review.StartedAt); d > 4*time.Hour {
		t.Errorf("the review waited %s after its last decision instead of finishing", d)
	}
	for _, id := range []string{demo.PartnerAdmin, demo.Agent, demo.Solo} {
		if it := f.item(id); it.Decision != store.DecisionKeep || it.DecidedBy != demo.PartnerAdmin || f.status(id) != store.StatusActive {
			t.Errorf("%s: %+v, %s", id, it, f.status(id))
		}
	}
	if n := f.audited(domain.ActionReviewKept); n != 3 {
		t.Errorf("review.kept audited %d times, want 3", n)
	}
	if r, _ := f.store.ReviewByID(context.Background(), f.review.ID); r.State != store.ReviewFinished {
		t.Errorf("review %s", r.State)
	}
	if mail := f.mailTo("admin@partner.example"); countPrefix(mail, "review_request") != 1 || countPrefix(mail, "review_reminder") != 0 {
		t.Errorf("administrator's mail: %q", mail)
	}
	if len(f.wf.got) != 0 {
		t.Errorf("unassigned %v", f.wf.got)
	}
}

func TestReviewItemRemovedSuspendsTheUserAndEndsTheirAccess(t *testing.T) {
	f := newReview(t, store.KindPartner, demo.Northwind, func(f *fixture) { openAssignment(t, f, "a-solo", demo.Solo) })
	f.decide(time.Hour, demo.PartnerAdmin, demo.PartnerAdmin, store.DecisionKeep)
	f.decide(2*time.Hour, demo.PartnerAdmin, demo.Agent, store.DecisionKeep)
	f.decide(3*time.Hour, demo.PartnerAdmin, demo.Solo, store.DecisionRemove)
	f.run()
	it := f.item(demo.Solo)
	if it.Decision != store.DecisionRemove || !strings.Contains(it.Outcome, "suspended") || f.status(demo.Solo) != store.StatusSuspended {
		t.Fatalf("Sam: %+v, %s", it, f.status(demo.Solo))
	}
	if len(f.wf.got) != 1 || f.wf.got[0] != "a-solo:"+workflows.CauseUserSuspended {
		t.Errorf("open access not ended as a suspension ends it: %v", f.wf.got)
	}
	if n := f.audited(domain.ActionReviewRemoved); n != 1 {
		t.Errorf("review.removed audited %d times", n)
	}
	if mail := f.mailTo("solo@partner.example"); countPrefix(mail, "review_removed") != 1 {
		t.Errorf("Sam was not told why: %q", mail)
	}
}

func TestReviewMissedUnderSuspendSuspendsAndEndsAccess(t *testing.T) {
	f := newReview(t, store.KindPartner, demo.Northwind, func(f *fixture) { openAssignment(t, f, "a-solo", demo.Solo) })
	f.decide(time.Hour, demo.PartnerAdmin, demo.PartnerAdmin, store.DecisionKeep)
	f.run()
	if got := f.env.Now().Sub(f.review.StartedAt); got < reviewDue {
		t.Errorf("settled after %s, before its deadline", got)
	}
	for _, id := range []string{demo.Agent, demo.Solo} {
		it := f.item(id)
		if it.Decision != store.DecisionMissed || it.DecidedBy != activities.ReviewSystem || f.status(id) != store.StatusSuspended {
			t.Errorf("%s: %+v, %s", id, it, f.status(id))
		}
		if m := f.mailTo(map[string]string{demo.Agent: "agent@partner.example", demo.Solo: "solo@partner.example"}[id]); countPrefix(m, "review_removed") != 1 ||
			!strings.Contains(strings.Join(m, " "), "suspended") {
			t.Errorf("%s not told why: %q", id, m)
		}
	}
	if f.status(demo.PartnerAdmin) != store.StatusActive {
		t.Error("the administrator who kept themselves was suspended")
	}
	if len(f.wf.got) != 1 || f.wf.got[0] != "a-solo:"+workflows.CauseUserSuspended {
		t.Errorf("Sam's open access not ended: %v", f.wf.got)
	}
	if n := f.audited(domain.ActionReviewMissed); n != 2 {
		t.Errorf("review.missed audited %d times, want 2", n)
	}
	// Reminders at half time and a day before the deadline, while items waited.
	if mail := f.mailTo("admin@partner.example"); countPrefix(mail, "review_request") != 1 || countPrefix(mail, "review_reminder") != 2 {
		t.Errorf("administrator's mail: %q", mail)
	}
}

func TestReviewMissedUnderReportOnlyReports(t *testing.T) {
	f := newReview(t, store.KindPartner, demo.Northwind, func(f *fixture) {
		if err := f.store.PutReviewSettings(context.Background(), store.ReviewSettings{OrgID: demo.Northwind, Every: 90 * 24 * time.Hour,
			DueIn: 10 * 24 * time.Hour, OnMissed: store.OnMissedReport}); err != nil {
			t.Fatal(err)
		}
		openAssignment(t, f, "a-solo", demo.Solo)
	})
	f.run()
	for _, id := range []string{demo.PartnerAdmin, demo.Agent, demo.Solo} {
		it := f.item(id)
		if it.Decision != store.DecisionMissed || !strings.HasPrefix(it.Outcome, "reported") || f.status(id) != store.StatusActive {
			t.Errorf("%s: %+v, %s", id, it, f.status(id))
		}
	}
	if len(f.wf.got) != 0 {
		t.Errorf("report only, yet unassigned %v", f.wf.got)
	}
	if n := f.audited(domain.ActionReviewMissed); n != 3 {
		t.Errorf("review.missed audited %d times", n)
	}
	if d := f.env.Now().Sub(f.review.StartedAt); d < 10*24*time.Hour || d > 11*24*time.Hour {
		t.Errorf("settled after %s, want its own due_in of 10 days", d)
	}
}

func TestReviewAdministratorSuspendedMidReviewDecidesNothing(t *testing.T) {
	f := newReview(t, store.KindPartner, demo.Northwind, func(f *fixture) {
		if err := f.store.SetUserRoles(context.Background(), demo.Agent, []string{store.RolePartnerAdmin}); err != nil {
			t.Fatal(err)
		}
	})
	f.at(time.Hour, func() {
		if _, err := f.store.SuspendUser(context.Background(), demo.Agent, f.env.Now()); err != nil {
			t.Error(err)
		}
	})
	f.decide(2*time.Hour, demo.Agent, demo.Solo, store.DecisionRemove) // signed while Alex could, arriving after
	f.decide(3*time.Hour, demo.PartnerAdmin, demo.PartnerAdmin, store.DecisionKeep)
	f.decide(4*time.Hour, demo.PartnerAdmin, demo.Solo, store.DecisionKeep)
	f.decide(5*time.Hour, demo.PartnerAdmin, demo.Agent, store.DecisionKeep)
	f.run()
	var st workflows.ReviewStatus
	if err := f.env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if it := f.item(demo.Solo); it.Decision != store.DecisionKeep || it.DecidedBy != demo.PartnerAdmin || f.status(demo.Solo) != store.StatusActive {
		t.Errorf("the suspended administrator's removal counted: %+v, %s", it, f.status(demo.Solo))
	}
	if len(st.Refused) != 1 || !strings.Contains(st.Refused[0], "no longer an active administrator") {
		t.Errorf("refused %q", st.Refused)
	}
}

func TestReviewForgedStartOrDecisionRemovesNothing(t *testing.T) {
	f := newReview(t, store.KindPartner, demo.Northwind, nil)
	// A decision with a MAC the server did not make.
	f.at(time.Hour, func() {
		sig := workflows.ReviewDecisionSignal{Item: f.item(demo.Solo).ID, Decision: store.DecisionRemove,
			By: person(t, f.store, demo.PartnerAdmin), Vouch: workflows.Vouch{ID: "forged", SentAt: f.env.Now(), MAC: "forged"}}
		f.env.SignalWorkflow(workflows.SignalReviewDecision, sig)
	})
	f.decide(2*time.Hour, demo.PartnerAdmin, demo.PartnerAdmin, store.DecisionKeep)
	f.decide(3*time.Hour, demo.PartnerAdmin, demo.Agent, store.DecisionKeep)
	f.decide(4*time.Hour, demo.PartnerAdmin, demo.Solo, store.DecisionKeep)
	f.run()
	if it := f.item(demo.Solo); it.Decision != store.DecisionKeep || f.status(demo.Solo) != store.StatusActive {
		t.Errorf("forged decision counted: %+v", it)
	}

	// A start from the Temporal frontend with a made-up vouch does nothing.
	g := newReview(t, store.KindPartner, demo.Northwind, nil)
	g.env.ExecuteWorkflow(workflows.Review, workflows.ReviewInput{ReviewID: g.review.ID,
		Vouch: workflows.Vouch{ID: "made-up", SentAt: g.env.Now(), MAC: "made-up"}})
	err := g.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("forged start ran: %v", err)
	}
	for _, id := range []string{demo.Agent, demo.Solo} {
		if it := g.item(id); it.Decision != "" || g.status(id) != store.StatusActive {
			t.Errorf("forged start changed %s: %+v", id, it)
		}
	}
	if mail := g.mailTo("admin@partner.example"); len(mail) != 0 {
		t.Errorf("forged start sent %q", mail)
	}
}

func TestReviewOfACustomerWithdrawsThePermissionAndEndsProfessionalAccess(t *testing.T) {
	f := newReview(t, store.KindCustomer, demo.Fabrikam, func(f *fixture) {
		ctx := context.Background()
		old := f.env.Now().Add(-100 * 24 * time.Hour)
		if err := f.store.CreateAssignment(ctx, store.Assignment{ID: "a-pro", WorkflowID: "assignment/a-pro", SiteID: demo.FabrikamSite,
			PartnerUserID: demo.Solo, Role: store.RolePartnerSupportAgent, Reason: "Case 99", Edition: domain.EditionProfessional,
			RequestedBy: demo.Solo, RequestedAt: old}); err != nil {
			t.Fatal(err)
		}
		if err := f.store.ApplyTransition(ctx, store.Transition{AssignmentID: "a-pro", Seq: 1, State: domain.StateActive, At: old,
			Actor: "test", Action: domain.ActionAccessProvisioned, ActivatedAt: &old}); err != nil {
			t.Fatal(err)
		}
	})
	kinds := map[string]string{}
	for _, it := range f.review.Items {
		kinds[it.Kind] = it.SubjectID
	}
	if kinds[store.ItemUser] != demo.FabrikamAdmin || kinds[store.ItemPermission] != demo.Northwind || kinds[store.ItemProfessionalAccess] != "a-pro" {
		t.Fatalf("items %+v", f.review.Items)
	}
	f.decide(time.Hour, demo.FabrikamAdmin, demo.FabrikamAdmin, store.DecisionKeep)
	f.decide(2*time.Hour, demo.FabrikamAdmin, "a-pro", store.DecisionRemove)
	f.decide(3*time.Hour, demo.FabrikamAdmin, demo.Northwind, store.DecisionRemove)
	f.run()
	if ok, err := f.store.PartnerPermitted(context.Background(), demo.Fabrikam, demo.Northwind); err != nil || ok {
		t.Errorf("permission still granted (%v)", err)
	}
	if len(f.wf.got) == 0 || f.wf.got[0] != "a-pro:" {
		t.Errorf("Professional access not ended by the decision (R7): %v", f.wf.got)
	}
	if mail := f.mailTo("admin@partner.example"); countPrefix(mail, "review_removed") != 1 {
		t.Errorf("partner administrator not told of the withdrawal: %q", mail)
	}
}
