package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

func TestApprovalsCountOncePerApproverAndReadOldestFirst(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now().UTC().Truncate(time.Millisecond)
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
			Role: store.RolePartnerConsultant, Reason: "case 1", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}); err != nil {
			t.Fatal(err)
		}
		for _, a := range []store.Approval{
			{AssignmentID: "a1", ApproverID: demo.ContosoAdmin, At: now},
			{AssignmentID: "a1", ApproverID: demo.ContosoAdmin, At: now},                  // a retry
			{AssignmentID: "a1", ApproverID: demo.ContosoAdmin, At: now.Add(time.Minute)}, // the same approver again
			{AssignmentID: "a1", ApproverID: demo.ContosoOps, At: now.Add(2 * time.Minute)},
			{AssignmentID: "a1", Extension: 1, ApproverID: demo.ContosoAdmin, At: now.Add(time.Hour)},
		} {
			if err := s.PutApproval(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ApprovalsOf(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		type seen struct {
			ext      int
			approver string
			at       time.Time
		}
		var who []seen
		for _, a := range got {
			if a.ApproverName == "" || a.ApproverEmail == "" || a.At.Location() != time.UTC {
				t.Fatalf("approval %+v: want the approver's name and email, the time in UTC", a)
			}
			who = append(who, seen{a.Extension, a.ApproverID, a.At})
		}
		want := []seen{{0, demo.ContosoAdmin, now}, {0, demo.ContosoOps, now.Add(2 * time.Minute)}, {1, demo.ContosoAdmin, now.Add(time.Hour)}}
		if !slices.EqualFunc(who, want, func(a, b seen) bool { return a.ext == b.ext && a.approver == b.approver && a.at.Equal(b.at) }) {
			t.Fatalf("approvals = %+v, want %+v", who, want)
		}
		if none, err := s.ApprovalsOf(ctx, "missing"); err != nil || len(none) != 0 {
			t.Fatalf("approvals of an unknown assignment = %+v, %v; want none", none, err)
		}
	})
}

// A scheduled assignment is open (R8) and keeps what its policy asked: the
// approvals it needed and its start.
func TestScheduledAssignmentIsOpenAndKeepsItsStart(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now().UTC().Truncate(time.Millisecond)
		starts := now.Add(48 * time.Hour)
		a := store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
			Role: store.RolePartnerConsultant, Reason: "case 1", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}
		if err := s.CreateAssignment(ctx, a); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AssignmentByID(ctx, "a1"); err != nil || got.ApprovalsRequired != 1 || got.StartsAt != nil {
			t.Fatalf("a new assignment = %+v, %v; want 1 approval required and no start", got, err)
		}
		for _, tr := range []store.Transition{
			{AssignmentID: "a1", Seq: 2, State: domain.StatePendingApproval, At: now, Action: domain.ActionAssignmentRequested,
				ApprovalsRequired: 2, StartsAt: &starts},
			{AssignmentID: "a1", Seq: 3, State: domain.StateScheduled, At: now, Action: domain.ActionAssignmentScheduled,
				Decision: domain.DecisionApproved, DecidedBy: "admin@contoso.example"},
		} {
			if err := s.ApplyTransition(ctx, tr); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.AssignmentByID(ctx, "a1")
		if err != nil || got.State != domain.StateScheduled || got.ApprovalsRequired != 2 || got.StartsAt == nil || !got.StartsAt.Equal(starts) ||
			got.EndedAt != nil || !got.Open() {
			t.Fatalf("scheduled assignment = %+v, %v; want open, 2 approvals required, starting %v", got, err, starts)
		}
		if open, err := s.OpenAssignment(ctx, demo.ContosoSite, demo.Agent); err != nil || open.ID != "a1" {
			t.Fatalf("open assignment = %+v, %v; want the scheduled one", open, err)
		}
		b := a
		b.ID = "a2"
		if err := s.CreateAssignment(ctx, b); !store.IsConstraint(err) {
			t.Fatalf("a second assignment while one is scheduled: %v, want a constraint violation (R8)", err)
		}
	})
}

// Migration 11 makes SQLite's assignments table again: a store upgraded
// with rows in every table that references it keeps them, its foreign keys
// point at the new table and are enforced again afterwards.
func TestMigrationToScheduledKeepsAssignmentsAndWhatReferencesThem(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		if err := store.MigrateDownToForTest(ctx, s, 10); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		children := []string{"approval_tokens", "credentials", "access_grants", "extensions", "revocations_pending"}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO assignments (id, workflow_id, site_id, partner_user_id, role, reason, edition, state, seq,
				requested_by, requested_at, decided_by, decision, decided_at, activated_at, access_ends_at, updated_at, decision_signal)
				VALUES ('a1', 'w', ?, ?, 'Partner Consultant', 'case 1', 'standard', 'active', 3, ?, ?, 'admin@contoso.example',
				'approved', ?, ?, ?, ?, 'signal-1')`,
				[]any{demo.ContosoSite, demo.Agent, demo.Agent, at, at, at, at.Add(72 * time.Hour), at}},
			{`INSERT INTO approval_tokens (token_hash, assignment_id, approver_id, expires_at) VALUES (?, 'a1', ?, ?)`,
				[]any{[]byte{1}, demo.ContosoAdmin, at}},
			{`INSERT INTO credentials (assignment_id, login, ciphertext, created_at) VALUES ('a1', 'login', ?, ?)`, []any{[]byte{2}, at}},
			{`INSERT INTO access_grants (assignment_id, site_id, user_id, granted_at, expires_at) VALUES ('a1', ?, ?, ?, ?)`,
				[]any{demo.ContosoSite, demo.Agent, at, at.Add(72 * time.Hour)}},
			{`INSERT INTO extensions (assignment_id, n, duration, reason, requested_by, requested_at, approval_deadline, state, ends_before)
				VALUES ('a1', 1, '8h', 'more', ?, ?, ?, 'pending', ?)`, []any{demo.Agent, at, at.Add(time.Hour), at.Add(72 * time.Hour)}},
			{`INSERT INTO extension_tokens (token_hash, assignment_id, extension, approver_id, expires_at) VALUES (?, 'a1', 1, ?, ?)`,
				[]any{[]byte{3}, demo.ContosoAdmin, at}},
			{`INSERT INTO revocations_pending (assignment_id, since, last_error) VALUES ('a1', ?, 'throttled')`, []any{at}},
		} {
			if err := store.ExecForTest(ctx, s, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		s.Close()

		s = db.open(t)
		got, err := s.AssignmentByID(ctx, "a1")
		if err != nil || got.State != domain.StateActive || got.Seq != 3 || got.DecidedBy != "admin@contoso.example" ||
			got.AccessEndsAt == nil || !got.AccessEndsAt.Equal(at.Add(72*time.Hour)) || got.ApprovalsRequired != 1 || got.StartsAt != nil {
			t.Fatalf("assignment after the upgrade = %+v, %v", got, err)
		}
		if p, err := s.AssignmentProgress(ctx, "a1"); err != nil || p.DecisionSignal != "signal-1" {
			t.Fatalf("progress after the upgrade = %+v, %v; want the decision's signal kept", p, err)
		}
		for _, table := range append(children, "extension_tokens") {
			if n, err := store.CountForTest(ctx, s, `SELECT COUNT(*) FROM `+table+` WHERE assignment_id = 'a1'`); err != nil || n != 1 {
				t.Fatalf("%s after the upgrade: %d rows, %v; want 1", table, n, err)
			}
		}
		if db.dialect == store.SQLite {
			if n, err := store.CountForTest(ctx, s, `SELECT COUNT(*) FROM pragma_foreign_key_check`); err != nil || n != 0 {
				t.Fatalf("foreign_key_check: %d violations, %v", n, err)
			}
			for _, table := range append(children, "approvals") {
				if n, err := store.CountForTest(ctx, s, `SELECT COUNT(*) FROM pragma_foreign_key_list(?) WHERE "table" = 'assignments'`, table); err != nil || n != 1 {
					t.Fatalf("%s references assignments %d times, %v; want once", table, n, err)
				}
			}
		}
		// Foreign keys are enforced again: a row for no assignment is refused.
		if err := store.ExecForTest(ctx, s, `INSERT INTO access_grants (assignment_id, site_id, user_id, granted_at) VALUES ('missing', ?, ?, ?)`,
			demo.ContosoSite, demo.Agent, at); !store.IsConstraint(err) {
			t.Fatalf("a grant for no assignment after the upgrade: %v, want a constraint violation", err)
		}
		if err := s.PutApproval(ctx, store.Approval{AssignmentID: "missing", ApproverID: demo.ContosoAdmin, At: at}); !store.IsConstraint(err) {
			t.Fatalf("an approval of no assignment: %v, want a constraint violation", err)
		}
	})
}
