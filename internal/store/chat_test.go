package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// TestChatDeliveryIsCountedUntilSettledAndSentStaysSent: attempts count
// while a delivery is being sent; once sent, neither a retry nor a late
// failure changes it.
func TestChatDeliveryIsCountedUntilSettledAndSentStaysSent(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now().UTC().Truncate(time.Millisecond)
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
			Role: store.RolePartnerConsultant, Reason: "case 1", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}); err != nil {
			t.Fatal(err)
		}
		d := store.ChatDelivery{AssignmentID: "a1", ApproverID: demo.ContosoAdmin, Channel: "teams", UpdatedAt: now}
		for i := 1; i <= 2; i++ {
			got, err := s.TryChatDelivery(ctx, d)
			if err != nil || got.State != store.ChatSending || got.Attempts != i {
				t.Fatalf("attempt %d: %+v %v", i, got, err)
			}
		}
		sent := d
		sent.State, sent.Ref = store.ChatSent, "ref-1"
		if err := s.SettleChatDelivery(ctx, sent); err != nil {
			t.Fatal(err)
		}
		late := d
		late.State, late.Detail = store.ChatFailed, "late"
		if err := s.SettleChatDelivery(ctx, late); err != nil {
			t.Fatal(err)
		}
		got, err := s.TryChatDelivery(ctx, d)
		if err != nil || got.State != store.ChatSent || got.Ref != "ref-1" || got.Attempts != 2 || got.ApproverName != "Casey Contoso" {
			t.Fatalf("after sent: %+v %v", got, err)
		}
	})
}

// TestTeamsBindingIsOnePerUserAndMember: binding again replaces; a tenant
// is one customer's workspace; unbinding says whether there was one.
func TestTeamsBindingIsOnePerUserAndMember(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		if err := s.SetChatWorkspace(ctx, demo.Contoso, "teams", "tenant-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetChatWorkspace(ctx, demo.Fabrikam, "teams", "tenant-1"); err == nil || !store.IsConstraint(err) {
			t.Fatalf("a second customer took tenant-1: %v", err)
		}
		b := store.TeamsBinding{UserID: demo.ContosoAdmin, CustomerID: demo.Contoso, TenantID: "tenant-1", AADObjectID: "aad-1",
			ConversationID: "c1", ServiceURL: "https://smba.example", BoundAt: time.Now()}
		if err := s.BindTeams(ctx, b); err != nil {
			t.Fatal(err)
		}
		b.ConversationID = "c2"
		if err := s.BindTeams(ctx, b); err != nil {
			t.Fatal(err)
		}
		got, err := s.TeamsBindingOfMember(ctx, "tenant-1", "aad-1")
		if err != nil || got.UserID != demo.ContosoAdmin || got.ConversationID != "c2" {
			t.Fatalf("binding %+v %v", got, err)
		}
		if gone, err := s.UnbindTeams(ctx, demo.ContosoAdmin); err != nil || !gone {
			t.Fatalf("unbind: %v %v", gone, err)
		}
		if _, err := s.TeamsBindingOf(ctx, demo.ContosoAdmin); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("still bound: %v", err)
		}
		if gone, _ := s.UnbindTeams(ctx, demo.ContosoAdmin); gone {
			t.Fatal("unbound twice")
		}
	})
}
