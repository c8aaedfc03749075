package record

import (
	"context"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/chat/chattest"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/workflows"
)

// chatChannel is the channel Contoso opted in to for the chat paths (v10,
// chat-approvals): a stand-in that keeps what it is asked, under the Teams
// channel's name, so the histories are those of a chat delivery, whatever
// the chat service.
var chatChannel = chattest.New(chat.ViaTeams, demo.Contoso)

// chatPaths ask Contoso's approvers in a chat beside the email (v10).
var chatPaths = []path{
	{"chat-standard-approved-in-chat-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		chatSent(t, e, a, 2)
		decideInChat(t, e, a, demo.ContosoAdmin, true)
		return a
	}},
	{"chat-policy-two-approvals-chat-then-email-denied", domain.StateDenied, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := policyStart(t, e, demo.ContosoSite, func(in *workflows.Input) {
			in.Policy.Approvals = 2
			in.Chats = []string{chat.ViaTeams}
		})
		chatSent(t, e, a, 2)
		decideInChat(t, e, a, demo.ContosoOps, true)
		decide(t, e, a, "admin@contoso.example", "deny")
		return a
	}},
	{"chat-standard-one-unreachable-withdrawn", domain.StateWithdrawn, func(t *testing.T, e *testenv.Env) store.Assignment {
		chatChannel.Unreachable(demo.ContosoOps)
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		chatSettled(t, e, a, store.ChatUnreachable, 1)
		chatSent(t, e, a, 1)
		unassign(t, e, a)
		return a
	}},
}

// chatSent waits until n deliveries of the assignment's request are sent.
func chatSent(t *testing.T, e *testenv.Env, a store.Assignment, n int) {
	t.Helper()
	chatSettled(t, e, a, store.ChatSent, n)
}

func chatSettled(t *testing.T, e *testenv.Env, a store.Assignment, state string, n int) {
	t.Helper()
	e.Eventually(10*time.Second, "chat deliveries "+state, func() bool {
		ds, err := e.Store.ChatDeliveries(context.Background(), a.ID)
		got := 0
		for _, d := range ds {
			if d.State == state {
				got++
			}
		}
		return err == nil && got == n
	})
}

// decideInChat decides as the chat's endpoint does once it has proven who
// clicked.
func decideInChat(t *testing.T, e *testenv.Env, a store.Assignment, approver string, approve bool) {
	t.Helper()
	o, err := e.Service.DecideInChat(context.Background(), chat.Decision{Via: chat.ViaTeams, CustomerID: demo.Contoso,
		ApproverID: approver, AssignmentID: a.ID, Approve: approve})
	if err != nil || !o.Counted {
		t.Fatalf("decision in the chat by %s: %+v, %v", approver, o, err)
	}
}
