package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

// extending is the default timing of the configuration, extensions included.
func extending(in workflows.Input) workflows.Input {
	in.Timing.ExpiryWarning = 12 * time.Hour
	in.Timing.MaxExtensions = 2
	in.Timing.ProfessionalReminder = 168 * time.Hour
	return in
}

func (f *fixture) askMore(d time.Duration, reason string) func() {
	return f.signal(workflows.SignalExtension, workflows.ExtensionSignal{Duration: d, Reason: reason, By: person(f.t, f.store, demo.Solo)})
}

func (f *fixture) decideExtension(n int, by string, yes bool) func() {
	s := approve(f, by, yes)
	s.Extension = n
	return f.signal(workflows.SignalApproval, s)
}

func (f *fixture) audit() []string {
	f.t.Helper()
	log, err := f.store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: runID})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range log {
		out = append(out, string(e.Action))
	}
	return out
}

func count(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// Approved at 1h, access to 73h; warned at 61h; 24h more asked at 62h and
// approved at 63h: access ends at 97h, with a second warning at 85h.
func TestR4ExtensionApprovedAfterTheWarningMovesTheEnd(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(61*time.Hour-time.Minute, func() {
		if n := count(f.emails(), "expiry_warning"); n != 0 {
			t.Errorf("%d warnings before 12h before the end", n)
		}
	})
	f.at(61*time.Hour+time.Minute, func() {
		if got := count(f.emails(), "expiry_warning"); got != 2 {
			t.Errorf("warnings at 61h: %v, want to the partner user and the requester", f.emails())
		}
	})
	f.at(62*time.Hour, f.askMore(24*time.Hour, "upgrade overran"))
	f.at(62*time.Hour+time.Minute, func() {
		st := f.query()
		if len(st.Extensions) != 1 || st.Extensions[0].State != domain.ExtensionPending || !st.Extensible {
			t.Errorf("after the request: %+v", st.Extensions)
		}
		if want := start.Add(73 * time.Hour); !st.Extensions[0].ApprovalDeadline.Equal(want) {
			t.Errorf("extension deadline %v, want the end of access %v (the window does not outlive access)", st.Extensions[0].ApprovalDeadline, want)
		}
		tok, err := f.store.ApprovalTokenByHash(context.Background(), secret.HashToken(f.keys.ApprovalToken(activities.ApprovalSubject(runID, 1), demo.ContosoOps)))
		if err != nil || tok.Extension != 1 || tok.VoidedAt != nil {
			t.Errorf("extension token %+v %v", tok, err)
		}
	})
	f.at(63*time.Hour, f.decideExtension(1, demo.ContosoOps, true))
	f.at(63*time.Hour+time.Minute, func() {
		st := f.query()
		if want := start.Add(97 * time.Hour); st.AccessEndsAt == nil || !st.AccessEndsAt.Equal(want) {
			t.Errorf("access ends %v after approval, want %v", st.AccessEndsAt, want)
		}
		if a := f.assignment(); a.AccessEndsAt == nil || !a.AccessEndsAt.Equal(start.Add(97*time.Hour)) {
			t.Errorf("projection ends %v, want 97h", a.AccessEndsAt)
		}
	})
	f.at(96*time.Hour, func() {
		if !f.hasAccess(f.env.Now()) || f.query().State != domain.StateActive {
			t.Error("no access between the old and the new end")
		}
		if got := count(f.emails(), "expiry_warning"); got != 4 {
			t.Errorf("warnings by 96h: %d, want 2 before each end", got)
		}
	})
	st := f.run(extending(f.standardInput()))
	if st.State != domain.StateExpired || !st.EndedAt.Equal(start.Add(97*time.Hour)) {
		t.Fatalf("ended %s at %v, want expired at 97h", st.State, st.EndedAt.Sub(start))
	}
	if e := st.Extensions[0]; e.State != domain.ExtensionApproved || e.DecidedBy != "ops@contoso.example" || e.EndsAfter == nil {
		t.Fatalf("extension %+v", e)
	}
	if f.hasAccess(*st.EndedAt) {
		t.Fatal("access after the new end")
	}
	got := f.emails()
	for kind, n := range map[string]int{"expiry_warning": 4, "extension_request": 2, "extension_granted": 5, "extension_denied": 0} {
		if count(got, kind) != n {
			t.Errorf("%d %s emails, want %d: %v", count(got, kind), kind, n, got)
		}
	}
	audit := strings.Join(f.audit(), " ")
	if !strings.Contains(audit, "extension.requested extension.approved") || !strings.Contains(audit, "access.expired") {
		t.Fatalf("audit %s", audit)
	}
	es, _ := f.store.Extensions(context.Background(), runID)
	if len(es) != 1 || es[0].State != domain.ExtensionApproved || es[0].Duration != "24h0m0s" {
		t.Fatalf("stored extensions %+v", es)
	}
}

func TestR4ExtensionDeniedKeepsTheOldEndAndALateDecisionIsAnswered(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(10*time.Hour, f.askMore(24*time.Hour, "need another day"))
	f.at(11*time.Hour, f.decideExtension(1, demo.ContosoAdmin, false))
	f.at(12*time.Hour, f.decideExtension(1, demo.ContosoOps, true)) // too late: denied already
	st := f.run(extending(f.standardInput()))
	if st.State != domain.StateExpired || !st.EndedAt.Equal(start.Add(73*time.Hour)) {
		t.Fatalf("ended %s at %v, want expired at the old end, 73h", st.State, st.EndedAt.Sub(start))
	}
	if e := st.Extensions[0]; e.State != domain.ExtensionDenied || e.DecidedBy != "admin@contoso.example" {
		t.Fatalf("extension %+v", e)
	}
	got := f.emails()
	if count(got, "extension_denied") != 4 || count(got, "extension_granted") != 0 {
		t.Fatalf("emails %v: want the denial to both partner side and approvers", got)
	}
	log, _ := f.store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: runID})
	late := false
	for _, e := range log {
		late = late || (e.Action == "approval.refused" && strings.Contains(e.Detail, "already denied by admin@contoso.example"))
	}
	if !late {
		t.Fatalf("late decision not answered: %v", f.audit())
	}
}

func TestR4ExtensionRefusedWhenTooLongOrBeyondTheLimit(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(2*time.Hour, f.askMore(73*time.Hour, "too long"))
	f.at(3*time.Hour, f.askMore(time.Hour, "first"))
	f.at(3*time.Hour+time.Minute, f.askMore(time.Hour, "while one waits"))
	f.at(4*time.Hour, f.decideExtension(1, demo.ContosoAdmin, true))
	f.at(5*time.Hour, f.askMore(time.Hour, "second"))
	f.at(6*time.Hour, f.decideExtension(2, demo.ContosoAdmin, true))
	f.at(7*time.Hour, f.askMore(time.Hour, "third: one too many"))
	// A forged request (no voucher) changes nothing either.
	f.at(8*time.Hour, func() {
		f.env.SignalWorkflow(workflows.SignalExtension, workflows.ExtensionSignal{Duration: time.Hour, By: person(t, f.store, demo.Solo)})
	})
	st := f.run(extending(f.standardInput()))
	if len(st.Extensions) != 2 || !st.EndedAt.Equal(start.Add(75*time.Hour)) {
		t.Fatalf("extensions %+v, ended at %v: want two of an hour each, ending at 75h", st.Extensions, st.EndedAt.Sub(start))
	}
	log, _ := f.store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: runID})
	var refused []string
	for _, e := range log {
		if e.Action == "extension.refused" || e.Action == "signal.forged" {
			refused = append(refused, e.Detail)
		}
	}
	want := []string{"at most the access duration", "already waiting", "at most 2 are allowed", "not sent by a Partner Access server"}
	if len(refused) != len(want) {
		t.Fatalf("refusals %q, want %d", refused, len(want))
	}
	for i, w := range want {
		if !strings.Contains(refused[i], w) {
			t.Errorf("refusal %d: %q, want %q", i, refused[i], w)
		}
	}
}

func TestR4ExtensionLapsesWhenNobodyDecidesBeforeTheEnd(t *testing.T) {
	f := newFixture(t, nil)
	start := f.env.Now()
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(70*time.Hour, f.askMore(24*time.Hour, "late ask"))
	st := f.run(extending(f.standardInput()))
	if st.State != domain.StateExpired || !st.EndedAt.Equal(start.Add(73*time.Hour)) || st.Extensions[0].State != domain.ExtensionLapsed {
		t.Fatalf("status %+v", st)
	}
	tok, err := f.store.ApprovalTokenByHash(context.Background(), secret.HashToken(f.keys.ApprovalToken(activities.ApprovalSubject(runID, 1), demo.ContosoAdmin)))
	if err != nil || tok.VoidedAt == nil {
		t.Fatalf("extension link after access ended: %+v %v, want voided", tok, err)
	}
}

func TestR5ProfessionalReminderRepeatsUntilUnassigned(t *testing.T) {
	f := newFixture(t, nil)
	f.at(3*168*time.Hour+time.Hour, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.Solo)}))
	f.at(2*168*time.Hour+time.Hour, f.askMore(time.Hour, "no such thing")) // Professional: refused
	st := f.run(extending(f.professionalInput()))
	if st.State != domain.StateRevoked {
		t.Fatalf("state %s", st.State)
	}
	if n := count(f.emails(), "professional_reminder solo@partner.example"); n != 3 {
		t.Fatalf("%d reminders in three weeks, want 3: %v", n, f.emails())
	}
	es, _ := f.store.Emails(context.Background(), store.EmailFilter{AssignmentID: runID})
	for _, e := range es {
		if e.Kind == string(domain.EmailProfessionalReminder) && !strings.Contains(e.Text, "/assignments/") {
			t.Fatalf("reminder without the assignment link: %s", e.Text)
		}
	}
	if !strings.Contains(strings.Join(f.audit(), " "), "extension.refused") {
		t.Fatal("extension of Professional access not refused")
	}
}
