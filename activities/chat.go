package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The requests approvers get in a chat beside the email (SPEC §14): a
// delivery per approver and channel, and a refresh of every message sent
// once the request's state changes. Both are ordinary activities the
// workflow starts and never waits for, so a chat that is down never holds
// up the email or the decision.

// ErrTypeChatUnknown: the worker has no channel of that name (a setting
// removed while a request was out); retrying cannot help.
const ErrTypeChatUnknown = "ChatChannelUnknown"

// ChatDelivery asks one approver through one channel: the first request
// (Extension 0) or extension request n, with the same facts as its email.
type ChatDelivery struct {
	AssignmentID string
	Extension    int `json:",omitempty"`
	CustomerID   string
	Channel      string
	Approver     Recipient
	Data         EmailData
	// Duration is how long access lasts once approved (0: until
	// unassigned); Approvals who approved so far, by name, of Required.
	Duration  time.Duration
	Approvals []string `json:",omitempty"`
	Required  int      `json:",omitempty"`
}

// DeliverChat sends the request to its approver once: a delivery already
// sent, or settled otherwise, is not sent again. It re-reads the truth
// first, as a link's minting does: a request no longer waiting, or a
// person who no longer decides it, gets nothing (skipped). An approver the
// channel cannot reach is recorded as such, not retried; any other failure
// is retried over the request's window (the workflow records it failed).
func (a *Activities) DeliverChat(ctx context.Context, in ChatDelivery) error {
	ch := a.Chats.Get(in.Channel)
	if ch == nil {
		return temporal.NewNonRetryableApplicationError("no chat channel "+in.Channel+" on this worker", ErrTypeChatUnknown, nil)
	}
	row := store.ChatDelivery{AssignmentID: in.AssignmentID, Extension: in.Extension, ApproverID: in.Approver.ID,
		Channel: in.Channel, UpdatedAt: time.Now()}
	d, err := a.Store.TryChatDelivery(ctx, row)
	if err != nil || d.State != store.ChatSending {
		return err
	}
	decisions, why, err := a.chatJustified(ctx, in)
	if err != nil {
		return err
	}
	if why != "" {
		row.State, row.Detail = store.ChatSkipped, why
		return a.Store.SettleChatDelivery(ctx, row)
	}
	req := chat.Request{
		AssignmentID: in.AssignmentID, Extension: in.Extension, CustomerID: in.CustomerID,
		Approver:    chat.Approver{ID: in.Approver.ID, Name: in.Approver.Name, Email: in.Approver.Email},
		PartnerName: in.Data.PartnerName, PartnerUserName: in.Data.PartnerUserName, PartnerUserEmail: in.Data.PartnerUserEmail,
		CustomerName: in.Data.CustomerName, SiteName: in.Data.SiteName, Role: in.Data.Role, Reason: in.Data.Reason,
		Duration: in.Duration, StartsAt: in.Data.StartsAt, Deadline: in.Data.ApprovalDeadline,
		Approvals: in.Approvals, Required: in.Required, Decisions: decisions,
		PageURL: a.Config.PublicURL + "/assignments/" + in.AssignmentID,
	}
	if in.Extension > 0 {
		req.Reason, req.Duration = in.Data.ExtensionReason, in.Data.ExtensionDuration
	}
	sent, err := ch.Deliver(ctx, req)
	row.UpdatedAt = time.Now()
	switch {
	case errors.Is(err, chat.ErrUnreachable):
		row.State, row.Detail = store.ChatUnreachable, err.Error()
	case err != nil:
		row.State, row.Detail = store.ChatSending, "retrying: "+err.Error()
		if rerr := a.Store.SettleChatDelivery(ctx, row); rerr != nil {
			return errors.Join(err, rerr)
		}
		return fmt.Errorf("deliver in %s to %s: %w", in.Channel, in.Approver.Email, err)
	default:
		row.State, row.Ref = store.ChatSent, sent.Ref
	}
	return a.Store.SettleChatDelivery(ctx, row)
}

// chatJustified re-reads what a delivery depends on: the request still
// waits, and the approver still decides it. It answers what the buttons do
// (the policy's chat_decisions in force now), or why nothing is sent.
func (a *Activities) chatJustified(ctx context.Context, in ChatDelivery) (decisions, why string, err error) {
	as, err := a.Store.AssignmentByID(ctx, in.AssignmentID)
	if err != nil {
		return "", "", err
	}
	waits := as.State == domain.StatePendingApproval
	if in.Extension > 0 {
		es, err := a.Store.Extensions(ctx, in.AssignmentID)
		if err != nil {
			return "", "", err
		}
		waits = false
		for _, e := range es {
			waits = waits || e.N == in.Extension && e.State == domain.ExtensionPending
		}
	}
	if !waits {
		return "", "the request was no longer waiting for a decision", nil
	}
	u, err := a.Store.UserByID(ctx, in.Approver.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !approves(u, in.CustomerID, nil) {
		return "", in.Approver.Email + " no longer decides this request", nil
	} else if err != nil {
		return "", "", err
	}
	site, err := a.Store.SiteByID(ctx, as.SiteID)
	if err != nil {
		return "", "", err
	}
	return chatDecisions(site), "", nil
}

// chatDecisions is the site's chat_decisions in force; a policy that
// cannot be read asks for the approval page (the safer of the two).
func chatDecisions(site store.Site) string {
	e := policy.Effective{ChatDecisions: chat.InChat}
	for _, text := range []string{site.CustomerPolicy, site.Policy} {
		w, err := policy.Decode(text)
		if err != nil {
			return chat.SignIn
		}
		p, err := policy.Parse(w)
		if err != nil {
			return chat.SignIn
		}
		e = e.With(p)
	}
	return e.ChatDecisions
}

// ChatFailure is a delivery that ran out of its retry window.
type ChatFailure struct {
	AssignmentID string
	Extension    int `json:",omitempty"`
	Channel      string
	ApproverID   string
	At           time.Time
	Reason       string
}

// GiveUpChat records a delivery that was not made within its window.
func (a *Activities) GiveUpChat(ctx context.Context, in ChatFailure) error {
	return a.Store.SettleChatDelivery(ctx, store.ChatDelivery{AssignmentID: in.AssignmentID, Extension: in.Extension,
		ApproverID: in.ApproverID, Channel: in.Channel, State: store.ChatFailed, Detail: in.Reason, UpdatedAt: in.At})
}

// ChatRefresh asks a channel to bring every message of a request up to
// date: after an approval that counted, the decision, or the request's end.
type ChatRefresh struct {
	AssignmentID string
	Extension    int `json:",omitempty"`
	Channel      string
}

// RefreshChat updates the request's messages in the channel to how the
// request stands in the store: what is shown is always the truth, whoever
// asked for the refresh.
func (a *Activities) RefreshChat(ctx context.Context, in ChatRefresh) error {
	ch := a.Chats.Get(in.Channel)
	if ch == nil {
		return temporal.NewNonRetryableApplicationError("no chat channel "+in.Channel+" on this worker", ErrTypeChatUnknown, nil)
	}
	st, err := a.chatState(ctx, in.AssignmentID, in.Extension)
	if err != nil {
		return err
	}
	return ch.Refresh(ctx, in.AssignmentID, in.Extension, st)
}

// chatState is how a request stands, from the store.
func (a *Activities) chatState(ctx context.Context, assignmentID string, extension int) (chat.State, error) {
	as, err := a.Store.AssignmentByID(ctx, assignmentID)
	if err != nil {
		return chat.State{}, err
	}
	approvals, err := a.Store.ApprovalsOf(ctx, assignmentID)
	if err != nil {
		return chat.State{}, err
	}
	st := chat.State{Required: as.ApprovalsRequired}
	for _, p := range approvals {
		if p.Extension == extension {
			st.Approvals = append(st.Approvals, p.ApproverName)
		}
	}
	decidedBy, decision, at := as.DecidedBy, as.Decision, as.DecidedAt
	if extension > 0 {
		es, err := a.Store.Extensions(ctx, assignmentID)
		if err != nil {
			return st, err
		}
		decidedBy, decision, at = "", "", nil
		for _, e := range es {
			if e.N == extension && e.State != domain.ExtensionPending {
				st.Decided = true
				switch e.State {
				case domain.ExtensionApproved, domain.ExtensionDenied:
					decidedBy, decision, at = e.DecidedBy, e.State, e.DecidedAt
				default:
					st.Ended = "expired"
				}
			}
		}
	} else if as.State != domain.StatePendingApproval {
		st.Decided = true
		if decision == "" {
			st.Ended = endedWords(as.State)
		}
	}
	if decision != "" && at != nil {
		st.Decision, st.DecidedAt = decision, *at
		st.DecidedBy = a.nameOf(ctx, decidedBy)
	}
	return st, nil
}

// endedWords says why a request ended undecided.
func endedWords(state string) string {
	switch state {
	case domain.StateApprovalExpired:
		return "expired"
	case domain.StateWithdrawn:
		return "withdrawn"
	case domain.StateFailed:
		return "failed"
	}
	return state
}

// nameOf is the name of who decided, recorded by email (or ID); the
// policy's approval names the policy.
func (a *Activities) nameOf(ctx context.Context, who string) string {
	if who == "policy" {
		return "the customer's policy"
	}
	if u, err := a.Store.UserByEmail(ctx, who); err == nil {
		return u.Name
	}
	if u, err := a.Store.UserByID(ctx, who); err == nil {
		return u.Name
	}
	return who
}
