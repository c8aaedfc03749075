package slackchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Channel is Slack as a chat.Channel: a direct message from the
// customer's own app to each approver, found by email.
type Channel struct {
	store Store
	cfg   Config
}

// NewChannel returns the Slack channel over st.
func NewChannel(st Store, cfg Config) *Channel {
	return &Channel{store: st, cfg: cfg.withDefaults()}
}

var _ chat.Channel = (*Channel)(nil)

// Name is chat.ViaSlack.
func (c *Channel) Name() string { return chat.ViaSlack }

// Enabled reports whether the customer has a Slack workspace.
func (c *Channel) Enabled(customerID string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.store.SlackWorkspaceOf(ctx, customerID)
	return err == nil
}

// unreachable is the approver has no address here: no retry changes it.
func unreachable(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), chat.ErrUnreachable)
}

// Deliver sends the approver the request, once: a message Slack answered
// is recorded with its channel and ts before Deliver returns, and a retry
// finds it and sends nothing.
func (c *Channel) Deliver(ctx context.Context, r chat.Request) (chat.Delivery, error) {
	prior, err := c.store.SlackMessageOf(ctx, r.AssignmentID, r.Extension, r.Approver.ID)
	switch {
	case err == nil && prior.State == store.SlackSent:
		return delivery(prior), nil
	case err == nil && prior.State == store.SlackFailed:
		return chat.Delivery{}, unreachable("%s", prior.Error)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return chat.Delivery{}, err
	}
	w, err := c.store.SlackWorkspaceOf(ctx, r.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return chat.Delivery{}, unreachable("customer %s has no Slack workspace", r.CustomerID)
	} else if err != nil {
		return chat.Delivery{}, err
	}
	asked, err := json.Marshal(r)
	if err != nil {
		return chat.Delivery{}, err
	}
	decisions := r.Decisions
	if decisions != chat.SignIn {
		decisions = chat.InChat
	}
	m := store.SlackMessage{AssignmentID: r.AssignmentID, Extension: r.Extension, ApproverID: r.Approver.ID,
		CustomerID: r.CustomerID, Decisions: decisions, Request: string(asked), State: store.SlackSending}
	sent, err := c.post(ctx, w, r, &m)
	m.UpdatedAt = c.cfg.Now()
	var give *givenUp
	switch {
	case errors.As(err, &give):
		m.State, m.Error = store.SlackFailed, give.why
	case err != nil:
		m.Error = err.Error()
	default:
		m.State, m.SentAt = store.SlackSent, &m.UpdatedAt
	}
	if perr := c.store.PutSlackMessage(ctx, m); perr != nil {
		return chat.Delivery{}, errors.Join(err, perr)
	}
	if give != nil {
		return chat.Delivery{}, unreachable("%s", give.why)
	}
	if !sent {
		return chat.Delivery{}, fmt.Errorf("slack message to %s: %w", r.Approver.Email, err)
	}
	return delivery(m), nil
}

// givenUp: Slack answered that the approver cannot be reached.
type givenUp struct{ why string }

func (g *givenUp) Error() string { return g.why }

// post finds the approver in the workspace, opens the direct message and
// posts the request, filling m's address as it learns it.
func (c *Channel) post(ctx context.Context, w store.SlackWorkspace, r chat.Request, m *store.SlackMessage) (bool, error) {
	token, err := c.cfg.botToken(w)
	if err != nil {
		return false, err
	}
	api := c.cfg.client(token)
	u, err := api.GetUserByEmailContext(ctx, r.Approver.Email)
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se) && se.Err == "users_not_found":
		return false, &givenUp{fmt.Sprintf("%s is not a member of Slack workspace %s", r.Approver.Email, w.TeamID)}
	case err != nil:
		return false, fmt.Errorf("users.lookupByEmail: %w", api.scrub(err))
	case u.Deleted || u.IsBot:
		return false, &givenUp{fmt.Sprintf("%s is a deactivated or bot account in Slack workspace %s", r.Approver.Email, w.TeamID)}
	case u.TeamID != "" && u.TeamID != w.TeamID:
		return false, &givenUp{fmt.Sprintf("%s is a member of another Slack workspace than %s", r.Approver.Email, w.TeamID)}
	}
	m.SlackUserID = u.ID
	ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{u.ID}})
	if err != nil {
		return false, fmt.Errorf("conversations.open: %w", api.scrub(err))
	}
	m.ChannelID = ch.ID
	text, blocks := message(r, nil)
	_, ts, err := api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return false, fmt.Errorf("chat.postMessage: %w", api.scrub(err))
	}
	m.TS = ts
	return true, nil
}

func delivery(m store.SlackMessage) chat.Delivery {
	return chat.Delivery{Channel: chat.ViaSlack, Ref: m.ChannelID + "/" + m.TS}
}

// Refresh redraws every approver's message of the request as st says. It
// tries each one and returns what failed.
func (c *Channel) Refresh(ctx context.Context, assignmentID string, extension int, st chat.State) error {
	ms, err := c.store.SlackMessages(ctx, assignmentID, extension)
	if err != nil || len(ms) == 0 {
		return err
	}
	return c.redraw(ctx, ms, func(r chat.Request) []slack.Block {
		_, blocks := message(r, &st)
		return blocks
	})
}

// redraw updates each sent message of ms with the blocks draw makes of its
// request (chat.update).
func (c *Channel) redraw(ctx context.Context, ms []store.SlackMessage, draw func(chat.Request) []slack.Block) error {
	apis := map[string]*api{}
	var errs []error
	for _, m := range ms {
		if m.State != store.SlackSent {
			continue
		}
		a, ok := apis[m.CustomerID]
		if !ok {
			w, err := c.store.SlackWorkspaceOf(ctx, m.CustomerID)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			token, err := c.cfg.botToken(w)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			a = c.cfg.client(token)
			apis[m.CustomerID] = a
		}
		var r chat.Request
		if err := json.Unmarshal([]byte(m.Request), &r); err != nil {
			errs = append(errs, fmt.Errorf("slack message of %s: %w", m.ApproverID, err))
			continue
		}
		blocks := draw(r)
		if _, _, _, err := a.UpdateMessageContext(ctx, m.ChannelID, m.TS, slack.MsgOptionText(fallbackText(blocks), false),
			slack.MsgOptionBlocks(blocks...)); err != nil {
			errs = append(errs, fmt.Errorf("chat.update of the message to %s: %w", m.ApproverID, a.scrub(err)))
		}
	}
	return errors.Join(errs...)
}

// fallbackText is the notification text of a redrawn message: its last
// context line.
func fallbackText(blocks []slack.Block) string {
	for i := len(blocks) - 1; i >= 0; i-- {
		if cb, ok := blocks[i].(*slack.ContextBlock); ok && len(cb.ContextElements.Elements) > 0 {
			if t, ok := cb.ContextElements.Elements[0].(*slack.TextBlockObject); ok {
				return t.Text
			}
		}
	}
	return "Access request"
}
