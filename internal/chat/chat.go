// Package chat is what the approval channels beside email have in common
// (SPEC §14): Microsoft Teams and Slack each implement Channel, the
// assignment workflow's activities deliver a Request to each approver
// through every channel the customer opted in to, and refresh what was
// sent once the request's State changes. A decision made in a chat reaches
// the workflow through a Decider, as the approval link's does.
package chat

import (
	"context"
	"errors"
	"time"
)

// The channels a decision can come through (decision.via in the audit log).
const (
	ViaEmail = "email"
	ViaPage  = "page"
	ViaTeams = "teams"
	ViaSlack = "slack"
)

// The customer's choice of what a chat button does (policy chat_decisions).
const (
	InChat = "in_chat" // the button decides, after the channel's own proof of who clicked
	SignIn = "sign_in" // the button opens the approval page behind login (the customer's MFA)
)

// Approver is the customer user asked.
type Approver struct {
	ID    string
	Name  string
	Email string
}

// Request is what one approver is asked: the same facts as the approval
// email (R9: the reason is always shown).
type Request struct {
	AssignmentID string
	Extension    int // 0: the assignment's first request; n: extension request n
	CustomerID   string
	Approver     Approver

	PartnerName      string
	PartnerUserName  string
	PartnerUserEmail string
	CustomerName     string
	SiteName         string
	Role             string
	Reason           string
	Duration         time.Duration // how long access lasts once active; 0: until unassigned
	StartsAt         time.Time     // zero: as soon as approved
	Deadline         time.Time     // when the request lapses undecided

	Approvals []string // who has approved so far (R10), by name
	Required  int      // approvals needed; 0 or 1: the first decision settles it

	// Decisions says what the buttons do (InChat or SignIn); PageURL is
	// the approval page behind login that SignIn buttons open.
	Decisions string
	PageURL   string
}

// State is how a request stands, for refreshing what was sent.
type State struct {
	Decided   bool   // no button works any more
	Decision  string // "approved", "denied", or "" while pending
	DecidedBy string // name of who settled it
	DecidedAt time.Time
	Approvals []string // approvals counted so far, by name
	Required  int
	Ended     string // a request ended without a decision: why ("withdrawn", "expired")
}

// Channel is one chat service.
type Channel interface {
	// Name is the channel's Via value.
	Name() string
	// Enabled reports whether the customer opted in to this channel.
	Enabled(customerID string) bool
	// Deliver sends the request to its approver, once: a retry after an
	// answered send does not send again. ErrUnreachable (wrapped) means
	// this approver cannot be reached here (not bound, not found), which
	// no retry changes.
	Deliver(ctx context.Context, r Request) (Delivery, error)
	// Refresh updates every message sent for the request to st.
	Refresh(ctx context.Context, assignmentID string, extension int, st State) error
}

// Delivery is where a request went.
type Delivery struct {
	Channel string
	Ref     string // the channel's own reference: conversation and activity, channel and ts
}

// ErrUnreachable: the approver has no address in this channel.
var ErrUnreachable = errors.New("approver not reachable in this channel")

// Decision is a button pressed in a chat by someone the channel has
// proven to be ApproverID of CustomerID.
type Decision struct {
	Via          string
	CustomerID   string
	ApproverID   string
	AssignmentID string
	Extension    int
	Approve      bool
}

// Outcome is what the chat answers the person who clicked.
type Outcome struct {
	Counted   bool   // the decision took effect (it settled the request or counted toward it)
	Awaiting  int    // approvals still needed after this one (R10)
	DecidedBy string // who settled it, when it was already settled
	Decision  string // "approved" or "denied" when settled
	DecidedAt time.Time
	Refusal   string // why it did not count, in words for the chat; "" when it counted
}

// Decider applies a chat decision exactly as an approval link does: the
// same rules (R4, R6, R10), the same vouched signal, audited with its Via.
type Decider interface {
	DecideInChat(ctx context.Context, d Decision) (Outcome, error)
}

// Registry is the channels a deployment has: the worker's activities
// deliver and refresh through it, and the service asks it which channels a
// customer opted in to. A new channel is one more entry.
type Registry []Channel

// Get is the channel named name, or nil.
func (r Registry) Get(name string) Channel {
	for _, c := range r {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

// Enabled names the channels the customer opted in to, in the registry's
// order (nil: none, the email alone).
func (r Registry) Enabled(customerID string) []string {
	var names []string
	for _, c := range r {
		if c.Enabled(customerID) {
			names = append(names, c.Name())
		}
	}
	return names
}
