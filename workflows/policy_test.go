package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

// R10: a customer's policy, as the start input carries it.

func (f *fixture) twoApprovals() workflows.Input {
	in := f.standardInput()
	in.Policy.Approvals = 2
	return in
}

// A request that needs two approvals stays pending after one, counts an
// approver once, and is active after the second distinct approval.
func TestR10TwoApprovalsThenActive(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(2*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true))) // the same approver again
	f.at(3*time.Hour-time.Minute, func() {
		st := f.query()
		if st.State != domain.StatePendingApproval || len(st.Approvals) != 1 || st.ApprovalsRequired != 2 {
			t.Errorf("after one approver approved (twice): %s, %d of %d", st.State, len(st.Approvals), st.ApprovalsRequired)
		}
		if f.hasAccess(f.env.Now()) {
			t.Error("access after one approval of two")
		}
	})
	f.at(3*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoOps, true)))
	f.at(3*time.Hour+time.Minute, func() {
		if st := f.query(); st.State != domain.StateActive || len(st.Approvals) != 2 {
			t.Errorf("after the second approval: %s with %d approvals", st.State, len(st.Approvals))
		}
	})
	st := f.run(f.twoApprovals())
	if st.State != domain.StateExpired {
		t.Fatalf("final %s, want expired", st.State)
	}
	approvals, err := f.store.ApprovalsOf(context.Background(), runID)
	if err != nil || len(approvals) != 2 || approvals[0].ApproverID != demo.ContosoAdmin || approvals[1].ApproverID != demo.ContosoOps {
		t.Fatalf("approvals kept %+v (%v), want the admin's then the ops agent's", approvals, err)
	}
	if a := f.assignment(); a.ApprovalsRequired != 2 {
		t.Fatalf("projection: %d approvals required", a.ApprovalsRequired)
	}
}

// The first denial denies, even after an approval.
func TestR10DeniedAfterOneApproval(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(2*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoOps, false)))
	st := f.run(f.twoApprovals())
	if st.State != domain.StateDenied || st.DecidedBy != "ops@contoso.example" || len(st.Approvals) != 1 {
		t.Fatalf("status %s by %s, %d approvals; want denied by the ops agent after one approval", st.State, st.DecidedBy, len(st.Approvals))
	}
	if f.hasAccess(f.env.Now()) {
		t.Fatal("access after a denial")
	}
}

// An approver suspended after the request began no longer counts: the
// request waits for another and lapses without one.
func TestR10SuspendedApproverDoesNotCount(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(2*time.Hour, func() {
		if _, err := f.store.SuspendUser(context.Background(), demo.ContosoOps, f.env.Now()); err != nil {
			t.Error(err)
		}
	})
	f.at(3*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoOps, true)))
	st := f.run(f.twoApprovals())
	if st.State != domain.StateApprovalExpired || len(st.Approvals) != 1 {
		t.Fatalf("status %s with %d approvals, want the request lapsed with one", st.State, len(st.Approvals))
	}
}

// A request the policy approves in advance is active without anyone
// deciding, says which rule approved it, and tells every customer user.
func TestR10AutoApprovedIsActiveAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	in := f.standardInput()
	in.Policy.AutoApproved = "auto_approve[0]: user northwind-solo"
	f.at(time.Minute, func() {
		if st := f.query(); st.State != domain.StateActive || st.DecidedBy != "policy" || st.AutoApproved != in.Policy.AutoApproved {
			t.Errorf("a minute in: %s by %q (%q)", st.State, st.DecidedBy, st.AutoApproved)
		}
	})
	st := f.run(in)
	if st.State != domain.StateExpired {
		t.Fatalf("final %s", st.State)
	}
	if a := f.assignment(); a.DecidedBy != "policy" || a.Decision != domain.DecisionApproved {
		t.Fatalf("projection decided by %q (%s)", a.DecidedBy, a.Decision)
	}
	for _, e := range f.emails() {
		if strings.HasPrefix(e, string(domain.EmailApprovalRequest)) {
			t.Fatalf("an approval request was sent: %s", e)
		}
	}
	want := map[string]bool{}
	for _, e := range f.emails() {
		want[e] = true
	}
	for _, e := range []string{"approval_confirmation admin@contoso.example", "approval_confirmation viewer@contoso.example", "access_granted solo@partner.example"} {
		if !want[e] {
			t.Fatalf("no %q in %v", e, f.emails())
		}
	}
}

// A scheduled Standard request is approved now, scheduled until its
// start, active from then for its duration, then removed.
func TestR10ScheduledStandardStartsThenEnds(t *testing.T) {
	f := newFixture(t, nil)
	in := f.standardInput()
	starts := f.env.Now().Add(24 * time.Hour)
	in.Policy.StartsAt = &starts
	in.Timing.AccessDuration = 8 * time.Hour
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(2*time.Hour, func() {
		if st := f.query(); st.State != domain.StateScheduled || f.hasAccess(f.env.Now()) {
			t.Errorf("approved before the start: %s, access %v", st.State, f.hasAccess(f.env.Now()))
		}
	})
	f.at(24*time.Hour+time.Minute, func() {
		if st := f.query(); st.State != domain.StateActive || !f.hasAccess(f.env.Now()) {
			t.Errorf("after the start: %s, access %v", st.State, f.hasAccess(f.env.Now()))
		}
	})
	st := f.run(in)
	if st.State != domain.StateExpired || st.ActivatedAt == nil || st.ActivatedAt.Before(starts) {
		t.Fatalf("final %s, active from %v; want expired, active from %v", st.State, st.ActivatedAt, starts)
	}
	if got := st.EndedAt.Sub(starts); got < 8*time.Hour || got > 8*time.Hour+time.Minute {
		t.Fatalf("ended %v after the start, want its 8 h", got)
	}
	emails := strings.Join(f.emails(), "\n")
	for _, e := range []string{"access_scheduled solo@partner.example", "access_granted solo@partner.example"} {
		if !strings.Contains(emails, e) {
			t.Fatalf("no %q in\n%s", e, emails)
		}
	}
}

// Every end works while scheduled, and removes nothing that was never
// made: an unassign, and an R1 withdrawal.
func TestR10EndWhileScheduledGrantsNothing(t *testing.T) {
	for _, cause := range []string{"", workflows.CausePermissionWithdrawn} {
		t.Run("cause "+cause, func(t *testing.T) {
			f := newFixture(t, nil)
			in := f.standardInput()
			starts := f.env.Now().Add(24 * time.Hour)
			in.Policy.StartsAt = &starts
			f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
			f.at(2*time.Hour, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.ContosoAdmin), Cause: cause}))
			st := f.run(in)
			if st.State != domain.StateRevoked || !strings.Contains(st.EndReason, "admin@contoso.example") {
				t.Fatalf("final %s (%q), want revoked by the admin", st.State, st.EndReason)
			}
			if _, err := f.store.GrantByAssignment(context.Background(), runID); err == nil {
				t.Fatal("a grant was made")
			}
		})
	}
}

// A scheduled Professional request provisions at its start.
func TestR10ScheduledProfessionalProvisionsAtItsStart(t *testing.T) {
	f := newFixture(t, nil)
	in := f.professionalInput()
	starts := f.env.Now().Add(6 * time.Hour)
	in.Policy.StartsAt = &starts
	f.at(time.Hour, func() {
		if st := f.query(); st.State != domain.StateScheduled {
			t.Errorf("before its start: %s", st.State)
		}
		if _, err := f.store.GrantByAssignment(context.Background(), runID); err == nil {
			t.Error("granted before its start")
		}
	})
	f.at(7*time.Hour, func() {
		if st := f.query(); st.State != domain.StateActive || st.ActivatedAt == nil || st.ActivatedAt.Before(starts) {
			t.Errorf("after its start: %s from %v", st.State, st.ActivatedAt)
		}
	})
	f.at(8*time.Hour, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.Solo)}))
	if st := f.run(in); st.State != domain.StateRevoked {
		t.Fatalf("final %s", st.State)
	}
}

// An extension needs the same number of approvals.
func TestR10ExtensionNeedsTheSameApprovals(t *testing.T) {
	f := newFixture(t, nil)
	in := f.twoApprovals()
	in.Timing.MaxExtensions, in.Timing.ExpiryWarning = 1, time.Hour
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(2*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoOps, true)))
	f.at(3*time.Hour, f.signal(workflows.SignalExtension, workflows.ExtensionSignal{Duration: 24 * time.Hour, Reason: "more", By: person(t, f.store, demo.Solo)}))
	more := func(by string) workflows.ApprovalSignal {
		s := approve(f, by, true)
		s.Extension = 1
		return s
	}
	f.at(4*time.Hour, f.signal(workflows.SignalApproval, more(demo.ContosoAdmin)))
	f.at(5*time.Hour, func() {
		if e := f.query().Extensions; len(e) != 1 || e[0].State != domain.ExtensionPending || len(e[0].Approvals) != 1 {
			t.Errorf("after one approval of the extension: %+v", e)
		}
	})
	f.at(6*time.Hour, f.signal(workflows.SignalApproval, more(demo.ContosoOps)))
	st := f.run(in)
	if len(st.Extensions) != 1 || st.Extensions[0].State != domain.ExtensionApproved {
		t.Fatalf("extension %+v, want approved by two", st.Extensions)
	}
	if got := st.AccessEndsAt.Sub(*st.ActivatedAt); got != 96*time.Hour {
		t.Fatalf("access lasted %v, want 72 h + 24 h", got)
	}
	if a := f.assignment(); a.State != domain.StateExpired {
		t.Fatalf("projection %s", a.State)
	}
}

// A Professional site whose policy asks for approval provisions only once
// an approver approved.
func TestR10ProfessionalApprovalWaitsForTheApprover(t *testing.T) {
	f := newFixture(t, nil)
	in := f.professionalInput()
	in.Policy.ProfessionalApproval = true
	in.Approvers = []workflows.Person{person(t, f.store, demo.FabrikamAdmin)}
	f.at(time.Hour, func() {
		if st := f.query(); st.State != domain.StatePendingApproval {
			t.Errorf("before approval: %s", st.State)
		}
		if _, err := f.store.GrantByAssignment(context.Background(), runID); err == nil {
			t.Error("granted before approval")
		}
	})
	f.at(2*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.FabrikamAdmin, true)))
	f.at(3*time.Hour, func() {
		if st := f.query(); st.State != domain.StateActive || st.DecidedBy != "admin@fabrikam.example" {
			t.Errorf("after approval: %s by %s", st.State, st.DecidedBy)
		}
	})
	f.at(4*time.Hour, f.signal(workflows.SignalUnassign, workflows.UnassignSignal{By: person(t, f.store, demo.Solo)}))
	if st := f.run(in); st.State != domain.StateRevoked {
		t.Fatalf("final %s", st.State)
	}
}

// N distinct *current* approvers: an approval whose approver was suspended
// before the last one came no longer counts, and the request waits.
func TestR10ApprovalOfANoLongerCurrentApproverStopsCounting(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoOps, true)))
	f.at(2*time.Hour, func() {
		if _, err := f.store.SuspendUser(context.Background(), demo.ContosoOps, f.env.Now()); err != nil {
			t.Error(err)
		}
	})
	f.at(3*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	f.at(4*time.Hour, func() {
		if st := f.query(); st.State != domain.StatePendingApproval || len(st.Approvals) != 1 || st.Approvals[0].ByID != demo.ContosoAdmin {
			t.Errorf("after a suspended approver's approval and another: %s with %+v", st.State, st.Approvals)
		}
	})
	if st := f.run(f.twoApprovals()); st.State != domain.StateApprovalExpired {
		t.Fatalf("final %s, want the request lapsed", st.State)
	}
}

// The policy names who decides: with approver_roles [Customer
// Administrator] an operations agent's decision does not count.
func TestR10OnlyThePolicysRolesDecide(t *testing.T) {
	f := newFixture(t, nil)
	in := f.standardInput()
	in.Policy.ApproverRoles = []string{store.RoleCustomerAdmin}
	in.Approvers = []workflows.Person{person(t, f.store, demo.ContosoAdmin)}
	f.at(time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoOps, true)))
	f.at(2*time.Hour, func() {
		if st := f.query(); st.State != domain.StatePendingApproval {
			t.Errorf("after the ops agent's approval: %s", st.State)
		}
	})
	f.at(3*time.Hour, f.signal(workflows.SignalApproval, approve(f, demo.ContosoAdmin, true)))
	if st := f.run(in); st.State != domain.StateExpired || st.DecidedBy != "admin@contoso.example" {
		t.Fatalf("final %s by %s, want expired after the admin's approval", st.State, st.DecidedBy)
	}
}
