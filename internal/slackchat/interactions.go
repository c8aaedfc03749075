package slackchat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// SignatureWindow is how old a signed request may be (Slack's own advice,
// and what slack.NewSecretsVerifier checks): a replay within it is caught
// by the clicks recorded, one after it by the timestamp.
const SignatureWindow = 5 * time.Minute

// Auditor records a refused click (every click is audited, R6), sampled
// as the service samples refusals of people not logged in.
type Auditor interface {
	RefusedInChat(ctx context.Context, via, assignmentID, detail string)
}

// Users names the approver who clicked, for the answer.
type Users interface {
	UserByID(ctx context.Context, id string) (store.User, error)
}

// Interactions answers the Slack apps' interactivity URL
// (POST /integrations/slack/interactions).
type Interactions struct {
	store   Store
	users   Users
	decider chat.Decider
	audit   Auditor
	channel *Channel
	cfg     Config
	log     *slog.Logger
}

// NewInteractions returns the interactivity endpoint's logic; decisions go
// to decider, refusals to audit.
func NewInteractions(st Store, users Users, decider chat.Decider, audit Auditor, cfg Config, log *slog.Logger) *Interactions {
	cfg = cfg.withDefaults()
	return &Interactions{store: st, users: users, decider: decider, audit: audit, channel: NewChannel(st, cfg), cfg: cfg, log: log}
}

// Handle answers one request of Slack's: header and the raw body, as
// signed. It returns nil when the request is answered (a click decided,
// a link followed, a replay answered again), and a *problem.Error,
// audited, when it is refused: Unauthorized when Slack's signature does
// not prove the request, Forbidden when it does but the click may not
// decide, Invalid when it is not a click at all. Nothing changed then.
// Any other error is a failure here.
func (in *Interactions) Handle(ctx context.Context, header http.Header, body []byte) error {
	cb, err := parsePayload(body)
	if err != nil {
		return in.refuse(ctx, "", problem.Invalid("", "not a Slack interaction: %v", err))
	}
	// Which workspace's secret signs the request is read from the
	// payload before it is proven: a payload that names another
	// workspace fails that workspace's signature.
	w, err := in.store.SlackWorkspaceByTeam(ctx, cb.Team.ID)
	if errors.Is(err, store.ErrNotFound) {
		return in.refuse(ctx, "", problem.Unauthorized("Slack workspace %q is no customer's", cb.Team.ID))
	} else if err != nil {
		return err
	}
	key, err := in.verify(w, header, body)
	if err != nil {
		return in.refuse(ctx, "", err)
	}
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 {
		return in.refuse(ctx, "", problem.Invalid("", "a %q interaction is not a click on a request's button", cb.Type))
	}
	act := cb.ActionCallback.BlockActions[0]
	assignmentID, extension, approverID, ok := parseButtonValue(act.Value)
	if !ok {
		return in.refuse(ctx, "", problem.Forbidden("", "the button is not one of a request's"))
	}
	m, err := in.message(ctx, w, cb, assignmentID, extension, approverID)
	if err != nil {
		return in.refuse(ctx, assignmentID, err)
	}
	var approve bool
	switch act.ActionID {
	case actionOpen: // a link to the approval page: the page decides
		return nil
	case actionApprove, actionDeny:
		approve = act.ActionID == actionApprove
	default:
		return in.refuse(ctx, assignmentID, problem.Forbidden("", "unknown button %q", act.ActionID))
	}
	if m.Decisions == chat.SignIn {
		return in.refuse(ctx, assignmentID, problem.Forbidden("",
			"customer %s decides its requests on the approval page after signing in (chat_decisions: sign_in), not in Slack", w.CustomerID))
	}
	now := in.cfg.Now()
	fresh, answer, err := in.store.ClaimSlackClick(ctx, key, assignmentID, approverID, now, now.Add(-2*SignatureWindow))
	if err != nil {
		return err
	}
	if !fresh {
		in.audit.RefusedInChat(ctx, chat.ViaSlack, assignmentID, fmt.Sprintf("a replayed click of %s (answered %q before): it decides nothing again", cb.User.ID, answer))
		return nil
	}
	return in.decide(ctx, m, key, chat.Decision{Via: chat.ViaSlack, CustomerID: w.CustomerID, ApproverID: approverID,
		AssignmentID: assignmentID, Extension: extension, Approve: approve})
}

// verify checks Slack's signature over the raw body with the workspace's
// signing secret, and the timestamp's age. It returns the key of the
// signed request, by which a replay is known.
func (in *Interactions) verify(w store.SlackWorkspace, header http.Header, body []byte) (string, error) {
	secret, err := in.cfg.signingSecret(w)
	if err != nil {
		return "", err
	}
	v, err := slack.NewSecretsVerifier(header, secret)
	switch {
	case errors.Is(err, slack.ErrExpiredTimestamp):
		return "", problem.Unauthorized("the request's timestamp is more than %s from now: a stale or replayed request", SignatureWindow)
	case err != nil:
		return "", problem.Unauthorized("the request is not signed with customer %s's Slack signing secret", w.CustomerID)
	}
	v.Write(body)
	if v.Ensure() != nil {
		return "", problem.Unauthorized("the request is not signed with customer %s's Slack signing secret", w.CustomerID)
	}
	sum := sha256.Sum256([]byte(header.Get("X-Slack-Request-Timestamp") + "\x00" + header.Get("X-Slack-Signature")))
	return hex.EncodeToString(sum[:]), nil
}

// message is the recorded message that a proven click came from: it must
// be the customer's, sent to the Slack user who clicked, in the direct
// message it was posted in.
func (in *Interactions) message(ctx context.Context, w store.SlackWorkspace, cb slack.InteractionCallback, assignmentID string, extension int, approverID string) (store.SlackMessage, error) {
	m, err := in.store.SlackMessageOf(ctx, assignmentID, extension, approverID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return m, problem.Forbidden("", "no request of assignment %s was sent to that approver in Slack", assignmentID)
	case err != nil:
		return m, err
	case m.State != store.SlackSent:
		return m, problem.Forbidden("", "the request of assignment %s was not sent to that approver in Slack", assignmentID)
	case m.CustomerID != w.CustomerID:
		return m, problem.Forbidden("", "a click in Slack workspace %s (customer %s) on a request of another customer", w.TeamID, w.CustomerID)
	case cb.User.ID != m.SlackUserID:
		return m, problem.Forbidden("", "Slack user %s clicked a request sent to Slack user %s: only the approver asked decides", cb.User.ID, m.SlackUserID)
	case channelOf(cb) != m.ChannelID || messageTS(cb) != m.TS:
		return m, problem.Forbidden("", "the click is not on the message sent to that approver")
	}
	return m, nil
}

func channelOf(cb slack.InteractionCallback) string {
	if cb.Container.ChannelID != "" {
		return cb.Container.ChannelID
	}
	return cb.Channel.ID
}

func messageTS(cb slack.InteractionCallback) string {
	if cb.Container.MessageTs != "" {
		return cb.Container.MessageTs
	}
	return cb.Message.Timestamp
}

// decide hands a proven click to the decider and answers it in Slack: the
// clicker's message says what came of it, and when the request is settled
// every approver's message says who settled it.
func (in *Interactions) decide(ctx context.Context, m store.SlackMessage, key string, d chat.Decision) error {
	ctx = context.WithoutCancel(ctx) // Slack may stop waiting; the decision is made and answered all the same
	o, err := in.decider.DecideInChat(ctx, d)
	if err != nil {
		in.store.AnswerSlackClick(ctx, key, "failed: "+err.Error())
		return fmt.Errorf("decide in slack: %w", err)
	}
	var r chat.Request
	if err := json.Unmarshal([]byte(m.Request), &r); err != nil {
		return fmt.Errorf("slack message of %s: %w", m.ApproverID, err)
	}
	name := r.Approver.Name
	if u, err := in.users.UserByID(ctx, d.ApproverID); err == nil {
		name = u.Name
	}
	decision := "denied"
	if d.Approve {
		decision = "approved"
	}
	var line string
	var settled *chat.State
	switch {
	case o.Counted && o.Awaiting > 0:
		line = fmt.Sprintf("You approved at %s; the request waits for %s.", when(in.cfg.Now(), "15:04 UTC", "{time}"), plural(o.Awaiting, "more approval"))
	case o.Counted:
		at := o.DecidedAt
		if at.IsZero() {
			at = in.cfg.Now()
		}
		settled = &chat.State{Decided: true, Decision: decision, DecidedBy: name, DecidedAt: at}
		line = outcomeLine(decision, name, at)
	case o.Decision != "":
		settled = &chat.State{Decided: true, Decision: o.Decision, DecidedBy: o.DecidedBy, DecidedAt: o.DecidedAt}
		line = "Already decided: " + outcomeLine(o.Decision, o.DecidedBy, o.DecidedAt) + "."
	default:
		line = escape(sentence(o.Refusal)) // not counted: the service says why, or that it is on its way
	}
	in.store.AnswerSlackClick(ctx, key, line)
	var errs []error
	if settled != nil {
		errs = append(errs, in.channel.Refresh(ctx, d.AssignmentID, d.Extension, *settled))
	}
	errs = append(errs, in.channel.redraw(ctx, []store.SlackMessage{m}, func(r chat.Request) []slack.Block {
		return answerBlocks(r, settled, line)
	}))
	if err := errors.Join(errs...); err != nil {
		// The decision stands; the messages catch up at the workflow's next refresh.
		in.log.Warn("slack messages not updated after a decision", "assignment", d.AssignmentID, "error", err)
	}
	return nil
}

// refuse audits a refusal and returns it.
func (in *Interactions) refuse(ctx context.Context, assignmentID string, err error) error {
	if p := problem.As(err); p != nil {
		in.audit.RefusedInChat(ctx, chat.ViaSlack, assignmentID, p.Detail)
	}
	return err
}

// parsePayload reads the form Slack posts: one field, payload, of JSON.
func parsePayload(body []byte) (slack.InteractionCallback, error) {
	var cb slack.InteractionCallback
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return cb, errors.New("the body is not a form")
	}
	p := form.Get("payload")
	if p == "" {
		return cb, errors.New("the form has no payload")
	}
	if err := json.Unmarshal([]byte(p), &cb); err != nil {
		return cb, errors.New("the payload is not JSON of an interaction")
	}
	return cb, nil
}

// sentence is s with a capital first letter and a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "Your decision did not count."
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
