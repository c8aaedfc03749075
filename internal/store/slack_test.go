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

// A customer's Slack workspace is found by customer and by team, changed
// and removed; a team is one customer's.
func TestSlackWorkspaceByCustomerAndTeam(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		w := store.SlackWorkspace{TeamID: "T0CONTOSO", BotTokenEnv: "CONTOSO_SLACK_BOT", SigningSecretFile: "/run/secrets/contoso-slack"}
		if err := s.SetSlackWorkspace(ctx, demo.Contoso, &w); err != nil {
			t.Fatal(err)
		}
		got, err := s.SlackWorkspaceByTeam(ctx, "T0CONTOSO")
		if w.CustomerID = demo.Contoso; err != nil || got != w {
			t.Fatalf("by team: %+v, %v; want %+v", got, err, w)
		}
		if err := s.SetSlackWorkspace(ctx, demo.Fabrikam, &store.SlackWorkspace{TeamID: "T0CONTOSO", BotTokenEnv: "X"}); !store.IsConstraint(err) {
			t.Fatalf("a team given to a second customer: %v, want a constraint violation", err)
		}
		w.BotTokenEnv, w.BotTokenFile = "", "/run/secrets/contoso-bot"
		if err := s.SetSlackWorkspace(ctx, demo.Contoso, &w); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SlackWorkspaceOf(ctx, demo.Contoso); err != nil || got != w {
			t.Fatalf("changed: %+v, %v; want %+v", got, err, w)
		}
		if err := s.SetSlackWorkspace(ctx, demo.Contoso, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SlackWorkspaceOf(ctx, demo.Contoso); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removed: %v, want not found", err)
		}
	})
}

// A message once sent keeps its channel and ts: a later attempt's failure
// does not undo it; attempts before it are counted.
func TestSlackMessageSentStaysSent(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now().UTC().Truncate(time.Millisecond)
		if err := s.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Agent,
			Role: store.RolePartnerConsultant, Reason: "case 1", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: now}); err != nil {
			t.Fatal(err)
		}
		m := store.SlackMessage{AssignmentID: "a1", ApproverID: demo.ContosoAdmin, CustomerID: demo.Contoso, Decisions: "in_chat",
			State: store.SlackSending, Error: "connection refused", UpdatedAt: now}
		if err := s.PutSlackMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.State, m.Error, m.SlackUserID, m.ChannelID, m.TS, m.SentAt = store.SlackSent, "", "U1", "DU1", "1.000001", &now
		if err := s.PutSlackMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		late := store.SlackMessage{AssignmentID: "a1", ApproverID: demo.ContosoAdmin, CustomerID: demo.Contoso, Decisions: "in_chat",
			State: store.SlackSending, Error: "timeout", UpdatedAt: now.Add(time.Second)}
		if err := s.PutSlackMessage(ctx, late); err != nil {
			t.Fatal(err)
		}
		got, err := s.SlackMessageOf(ctx, "a1", 0, demo.ContosoAdmin)
		if err != nil || got.State != store.SlackSent || got.TS != "1.000001" || got.ChannelID != "DU1" || got.Attempts != 1 || got.Error != "" {
			t.Fatalf("after a late failure: %+v, %v; want sent at DU1/1.000001 after 1 retry", got, err)
		}
		if ms, err := s.SlackMessages(ctx, "a1", 0); err != nil || len(ms) != 1 {
			t.Fatalf("messages: %+v, %v", ms, err)
		}
		if _, err := s.SlackMessageOf(ctx, "a1", 1, demo.ContosoAdmin); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("extension 1: %v, want not found", err)
		}
	})
}

// A signed click is claimed once; its replay is told the first answer;
// claims older than the window are forgotten.
func TestSlackClickClaimedOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now()
		fresh, _, err := s.ClaimSlackClick(ctx, "sig1", "a1", demo.ContosoAdmin, now, now.Add(-10*time.Minute))
		if err != nil || !fresh {
			t.Fatalf("first claim: %v, %v", fresh, err)
		}
		if err := s.AnswerSlackClick(ctx, "sig1", "Approved by Casey Contoso"); err != nil {
			t.Fatal(err)
		}
		fresh, answer, err := s.ClaimSlackClick(ctx, "sig1", "a1", demo.ContosoAdmin, now, now.Add(-10*time.Minute))
		if err != nil || fresh || answer != "Approved by Casey Contoso" {
			t.Fatalf("replay: %v, %q, %v; want refused with the first answer", fresh, answer, err)
		}
		later := now.Add(11 * time.Minute)
		if fresh, _, err := s.ClaimSlackClick(ctx, "sig1", "a1", demo.ContosoAdmin, later, later.Add(-10*time.Minute)); err != nil || !fresh {
			t.Fatalf("after the window: %v, %v; want forgotten", fresh, err)
		}
	})
}
