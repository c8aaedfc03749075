package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// endedAssignment records an assignment of user to site, approved by
// approver at requested+1m and expired at requested+1h, its revocation
// proven a second later.
func endedAssignment(t *testing.T, s *store.Store, id, site, user, approver string, requested time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateAssignment(ctx, store.Assignment{ID: id, WorkflowID: "w-" + id, SiteID: site, PartnerUserID: user,
		Role: store.RolePartnerSupportAgent, Reason: "Case " + id, Edition: domain.EditionStandard,
		RequestedBy: demo.Agent, RequestedAt: requested}); err != nil {
		t.Fatal(err)
	}
	active, ends := requested.Add(time.Minute), requested.Add(time.Hour)
	for _, tr := range []store.Transition{
		{AssignmentID: id, Seq: 1, State: domain.StateActive, At: active, Actor: approver, Action: domain.ActionAssignmentApproved,
			Decision: domain.DecisionApproved, DecidedBy: approver, ActivatedAt: &active, AccessEndsAt: &ends},
		{AssignmentID: id, Seq: 2, State: domain.StateExpired, At: ends, Actor: "system", Action: domain.ActionAccessExpired,
			EndedBy: "system", EndReason: "its time ran out"},
	} {
		if err := s.ApplyTransition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	key := "proven/" + id
	if err := s.Audit(ctx, store.AuditEntry{At: ends.Add(time.Second), ActorID: "system", Action: domain.ActionRevocationProven,
		Outcome: store.OutcomeOK, AssignmentID: id, Detail: "proven in 850ms", EventKey: &key}); err != nil {
		t.Fatal(err)
	}
}

func TestReportPagesEventsAndStagingOnBothDatabases(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		for i := range 5 { // the same request time for two, so the ID breaks the tie
			endedAssignment(t, s, fmt.Sprintf("c%d", i), demo.ContosoSite, demo.Solo, demo.ContosoAdmin, t0.Add(time.Duration(i/2)*time.Hour*2))
		}
		endedAssignment(t, s, "f0", demo.FabrikamSite, demo.Solo, demo.FabrikamAdmin, t0)
		contoso := store.ReportFilter{Org: store.OrgFilter{Kind: store.KindCustomer, ID: demo.Contoso}, From: t0, To: t0.Add(24 * time.Hour)}
		var got []string
		var after *store.ReportCursor
		for {
			rows, err := s.ReportPage(ctx, contoso, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				got = append(got, r.AssignmentID)
				if len(r.Decisions) != 1 || r.Decisions[0].ActorName != "Casey Contoso" || r.Proof == nil ||
					r.Proof.Detail != "proven in 850ms" || r.PartnerName != "Northwind Partners" || r.RequestedByName != "Alex Agent" {
					t.Fatalf("row %+v", r)
				}
			}
			if len(rows) < 2 {
				break
			}
			last := rows[len(rows)-1]
			after = &store.ReportCursor{RequestedAt: last.RequestedAt, ID: last.AssignmentID}
		}
		if fmt.Sprint(got) != "[c0 c1 c2 c3 c4]" {
			t.Fatalf("pages: %v", got)
		}
		var streamed []string
		for r, err := range s.Report(ctx, contoso) {
			if err != nil {
				t.Fatal(err)
			}
			streamed = append(streamed, r.AssignmentID)
		}
		if fmt.Sprint(streamed) != fmt.Sprint(got) {
			t.Fatalf("streamed %v, paged %v", streamed, got)
		}
		// The period: c4 was requested at +4h and ended at +5h.
		late := contoso
		late.From = t0.Add(4*time.Hour + 30*time.Minute)
		if rows, _ := s.ReportPage(ctx, late, nil, 10); len(rows) != 1 || rows[0].AssignmentID != "c4" {
			t.Fatalf("late period: %v", rows)
		}
		partner := store.ReportFilter{Org: store.OrgFilter{Kind: store.KindPartner, ID: demo.Northwind}, From: t0, To: t0.Add(24 * time.Hour)}
		if rows, _ := s.ReportPage(ctx, partner, nil, 10); len(rows) != 6 {
			t.Fatalf("the partner's report: %d rows", len(rows))
		}
		tailspin := store.ReportFilter{Org: store.OrgFilter{Kind: store.KindPartner, ID: demo.Tailspin}, From: t0, To: t0.Add(24 * time.Hour)}
		if rows, _ := s.ReportPage(ctx, tailspin, nil, 10); len(rows) != 0 {
			t.Fatalf("another partner's report: %d rows", len(rows))
		}

		// Events: Fabrikam's feed holds f0's entries only, in order.
		es, err := s.EventsAfter(ctx, store.OrgFilter{Kind: store.KindCustomer, ID: demo.Fabrikam}, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			if e.CustomerID != demo.Fabrikam || (i > 0 && e.ID <= es[i-1].ID) {
				t.Fatalf("fabrikam's events: %+v", es)
			}
		}

		// Staging: a webhook made now gets what follows, once.
		w := store.Webhook{ID: "wh1", OrgKind: store.KindCustomer, OrgID: demo.Contoso, URL: "https://siem.example/hook",
			SecretEnv: "HOOK_SECRET", Source: store.WebhookFromDirectory, CreatedBy: "directory", CreatedAt: t0}
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		all := func(store.AuditEntry) bool { return true }
		if n, err := s.StageWebhook(ctx, "wh1", 100, all, t0); err != nil || n != 0 {
			t.Fatalf("staged the past: %d %v", n, err)
		}
		endedAssignment(t, s, "c9", demo.ContosoSite, demo.Agent, demo.ContosoAdmin, t0.Add(8*time.Hour))
		endedAssignment(t, s, "f9", demo.FabrikamSite, demo.Agent, demo.FabrikamAdmin, t0.Add(8*time.Hour))
		n, err := s.StageWebhook(ctx, "wh1", 2, all, t0)
		if err != nil || n != 2 {
			t.Fatalf("staged %d %v", n, err)
		}
		m, _ := s.StageWebhook(ctx, "wh1", 100, all, t0)
		if again, _ := s.StageWebhook(ctx, "wh1", 100, all, t0); n+m != 3 || again != 0 {
			t.Fatalf("staged %d then %d then %d, want 3 in all (c9's approval, end and proof), once", n, m, again)
		}
		ds, err := s.PendingDeliveries(ctx, "wh1", 100)
		if err != nil || len(ds) != 3 || ds[0].Subject != "assignments/c9" {
			t.Fatalf("pending: %+v %v", ds, err)
		}
		if err := s.RecordAttempt(ctx, "wh1", ds[0].AuditID, false, 503, "down", t0); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordAttempt(ctx, "wh1", ds[0].AuditID, true, 204, "", t0); err != nil {
			t.Fatal(err)
		}
		d, _ := s.DeliveryOf(ctx, "wh1", ds[0].AuditID)
		if d.Status != store.DeliveryDelivered || d.Attempts != 2 {
			t.Fatalf("delivery %+v", d)
		}
		if paused, err := s.PauseWebhook(ctx, "wh1", ds[1].AuditID, "kept failing", t0); err != nil || !paused {
			t.Fatalf("pause: %v %v", paused, err)
		}
		if resumed, err := s.ResumeWebhook(ctx, "wh1"); err != nil || !resumed {
			t.Fatalf("resume: %v %v", resumed, err)
		}
		if ds, _ := s.PendingDeliveries(ctx, "wh1", 100); len(ds) != 2 {
			t.Fatalf("after resume %d pending, want 2", len(ds))
		}
	})
}
