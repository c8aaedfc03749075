package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/store"
)

func TestReviewsAreKeptWithTheirItemsAndDecidedOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		r := store.Review{ID: "northwind-1", OrgKind: store.KindPartner, OrgID: demo.Northwind, StartedBy: demo.PartnerAdmin,
			StartedAt: now, DueAt: now.Add(time.Hour), OnMissed: store.OnMissedSuspend, Items: []store.ReviewItem{
				{ID: "1", Kind: store.ItemUser, SubjectID: demo.Agent, Subject: "Alex"},
				{ID: "2", Kind: store.ItemUser, SubjectID: demo.Solo, Subject: "Sam"},
				{ID: "10", Kind: store.ItemUser, SubjectID: demo.PartnerAdmin, Subject: "Ada"},
			}}
		if err := s.CreateReview(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateReview(ctx, r); !errors.Is(err, store.ErrReviewExists) {
			t.Fatalf("the same review again: %v", err)
		}
		r2 := r
		r2.ID = "northwind-2"
		if err := s.CreateReview(ctx, r2); !errors.Is(err, store.ErrReviewOpen) {
			t.Fatalf("a second open review: %v", err)
		}
		if ok, err := s.DecideReviewItem(ctx, r.ID, "2", store.DecisionRemove, demo.PartnerAdmin, now); err != nil || !ok {
			t.Fatalf("decide: %v %v", ok, err)
		}
		if ok, _ := s.DecideReviewItem(ctx, r.ID, "2", store.DecisionKeep, demo.Agent, now); ok {
			t.Fatal("an item decided twice")
		}
		if err := s.SetReviewItemOutcome(ctx, r.ID, "2", "suspended"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishReview(ctx, r.ID, now); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.DecideReviewItem(ctx, r.ID, "1", store.DecisionKeep, demo.PartnerAdmin, now); ok {
			t.Fatal("an item of a finished review decided")
		}
		got, err := s.ReviewByID(ctx, r.ID)
		if err != nil || got.State != store.ReviewFinished || len(got.Items) != 3 || got.Items[2].ID != "10" ||
			got.Items[1].Decision != store.DecisionRemove || got.Items[1].Outcome != "suspended" || got.Items[0].Decision != "" {
			t.Fatalf("report %+v %v", got, err)
		}
		if err := s.CreateReview(ctx, r2); err != nil { // the first is finished
			t.Fatal(err)
		}
		if last, err := s.LastReviewStart(ctx, demo.Northwind); err != nil || last == nil || !last.Equal(now) {
			t.Fatalf("last start %v %v", last, err)
		}
		if rs, err := s.Reviews(ctx, demo.Northwind); err != nil || len(rs) != 2 {
			t.Fatalf("reviews %d %v", len(rs), err)
		}
	})
}

func TestPermissionEndsAndStopsCounting(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		if err := s.GrantPermissionUntil(ctx, demo.Contoso, demo.Northwind, now.Add(-time.Second), demo.ContosoAdmin, now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.PartnerPermitted(ctx, demo.Contoso, demo.Northwind); ok {
			t.Error("R1: a permission counts past its end")
		}
		if err := s.GrantPermissionUntil(ctx, demo.Fabrikam, demo.Northwind, now.Add(10*24*time.Hour), demo.FabrikamAdmin, now); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.PartnerPermitted(ctx, demo.Fabrikam, demo.Northwind); !ok {
			t.Error("a permission before its end does not count")
		}
		ending, err := s.PermissionsEndingBy(ctx, now.Add(14*24*time.Hour))
		if err != nil || len(ending) != 2 || ending[0].CustomerID != demo.Contoso {
			t.Fatalf("ending %+v %v", ending, err)
		}
		if err := s.SetPartnerPermission(ctx, demo.Fabrikam, demo.Northwind, true, demo.FabrikamAdmin, now); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.PermissionOf(ctx, demo.Fabrikam, demo.Northwind); p.GrantedUntil != nil {
			t.Errorf("a grant without end kept %v", p.GrantedUntil)
		}
		rs := store.ReviewSettings{OrgID: demo.Contoso, Every: 720 * time.Hour, DueIn: 48 * time.Hour, OnMissed: store.OnMissedReport}
		if err := s.PutReviewSettings(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.ReviewSettingsOf(ctx, demo.Contoso); err != nil || !ok || got.Every != rs.Every || got.DueIn != rs.DueIn || got.OnMissed != rs.OnMissed {
			t.Fatalf("settings %+v %v %v", got, ok, err)
		}
	})
}
