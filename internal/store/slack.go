package store

import (
	"context"
	"time"
)

// SlackWorkspace is a customer's own Slack app, in its own workspace
// (TeamID): its approvers are asked there. The bot token and the signing
// secret are never stored: the *Env or *File fields name where the worker
// and the server read them.
type SlackWorkspace struct {
	CustomerID        string `db:"customer_id"`
	TeamID            string `db:"team_id"`
	BotTokenEnv       string `db:"bot_token_env"`
	BotTokenFile      string `db:"bot_token_file"`
	SigningSecretEnv  string `db:"signing_secret_env"`
	SigningSecretFile string `db:"signing_secret_file"`
}

const slackWorkspaceColumns = `customer_id, team_id, bot_token_env, bot_token_file, signing_secret_env, signing_secret_file`

// SlackWorkspaceOf is the customer's Slack workspace; ErrNotFound when it
// has none.
func (s *Store) SlackWorkspaceOf(ctx context.Context, customerID string) (SlackWorkspace, error) {
	var w SlackWorkspace
	err := s.r.get(ctx, &w, `SELECT `+slackWorkspaceColumns+` FROM slack_workspaces WHERE customer_id = ?`, customerID)
	return w, notFound(err, "slack workspace of "+customerID)
}

// SlackWorkspaceByTeam is the customer's workspace with Slack team ID
// teamID; ErrNotFound when no customer names it.
func (s *Store) SlackWorkspaceByTeam(ctx context.Context, teamID string) (SlackWorkspace, error) {
	var w SlackWorkspace
	err := s.r.get(ctx, &w, `SELECT `+slackWorkspaceColumns+` FROM slack_workspaces WHERE team_id = ?`, teamID)
	return w, notFound(err, "slack workspace")
}

// SetSlackWorkspace sets the customer's Slack workspace; nil removes it.
// Messages already sent stay recorded.
func (s *Store) SetSlackWorkspace(ctx context.Context, customerID string, w *SlackWorkspace) error {
	if w == nil {
		_, err := s.w.exec(ctx, `DELETE FROM slack_workspaces WHERE customer_id = ?`, customerID)
		return wrap(err, "remove slack workspace of %s", customerID)
	}
	q := *w
	q.CustomerID = customerID
	_, err := s.w.namedExec(ctx, `INSERT INTO slack_workspaces (`+slackWorkspaceColumns+`)
		VALUES (:customer_id, :team_id, :bot_token_env, :bot_token_file, :signing_secret_env, :signing_secret_file)
		ON CONFLICT (customer_id) DO UPDATE SET team_id = excluded.team_id, bot_token_env = excluded.bot_token_env,
			bot_token_file = excluded.bot_token_file, signing_secret_env = excluded.signing_secret_env,
			signing_secret_file = excluded.signing_secret_file`, q)
	return wrap(err, "set slack workspace of %s", customerID)
}

// States of a Slack message.
const (
	SlackSending = "sending" // tried, not answered yet (Error says why)
	SlackSent    = "sent"
	SlackFailed  = "failed" // given up: the approver is not in the workspace
)

// SlackMessage is the direct message that asks one approver to decide a
// request (Extension 0) or an extension request.
type SlackMessage struct {
	AssignmentID string     `db:"assignment_id"`
	Extension    int        `db:"extension"`
	ApproverID   string     `db:"approver_id"`
	CustomerID   string     `db:"customer_id"`
	SlackUserID  string     `db:"slack_user_id"`
	ChannelID    string     `db:"channel_id"`
	TS           string     `db:"ts"`
	Decisions    string     `db:"decisions"` // chat.InChat or chat.SignIn
	Request      string     `db:"request"`   // the request as asked, JSON
	State        string     `db:"state"`
	Attempts     int        `db:"attempts"`
	Error        string     `db:"error"`
	SentAt       *time.Time `db:"sent_at"`
	UpdatedAt    time.Time  `db:"updated_at"`
}

const slackMessageColumns = `assignment_id, extension, approver_id, customer_id, slack_user_id, channel_id, ts, decisions, request,
	state, attempts, error, sent_at, updated_at`

// SlackMessageOf is the message of one approver of a request; ErrNotFound
// when none was tried.
func (s *Store) SlackMessageOf(ctx context.Context, assignmentID string, extension int, approverID string) (SlackMessage, error) {
	var m SlackMessage
	err := s.w.get(ctx, &m, `SELECT `+slackMessageColumns+` FROM slack_messages
		WHERE assignment_id = ? AND extension = ? AND approver_id = ?`, assignmentID, extension, approverID)
	return m, notFound(err, "slack message")
}

// SlackMessages lists the messages of a request, sent or not.
func (s *Store) SlackMessages(ctx context.Context, assignmentID string, extension int) ([]SlackMessage, error) {
	var ms []SlackMessage
	err := s.r.sel(ctx, &ms, `SELECT `+slackMessageColumns+` FROM slack_messages
		WHERE assignment_id = ? AND extension = ? ORDER BY approver_id`, assignmentID, extension)
	return ms, wrap(err, "list slack messages of assignment %s", assignmentID)
}

// PutSlackMessage records an attempt at a message or its outcome. A
// message once sent stays sent, with its channel and ts: a late retry's
// failure does not undo it.
func (s *Store) PutSlackMessage(ctx context.Context, m SlackMessage) error {
	m.UpdatedAt = utc(m.UpdatedAt)
	m.SentAt = utcPtr(m.SentAt)
	_, err := s.w.namedExec(ctx, `INSERT INTO slack_messages (`+slackMessageColumns+`)
		VALUES (:assignment_id, :extension, :approver_id, :customer_id, :slack_user_id, :channel_id, :ts, :decisions, :request,
			:state, :attempts, :error, :sent_at, :updated_at)
		ON CONFLICT (assignment_id, extension, approver_id) DO UPDATE SET
			slack_user_id = excluded.slack_user_id, channel_id = excluded.channel_id, ts = excluded.ts,
			decisions = excluded.decisions, request = excluded.request, state = excluded.state, attempts = slack_messages.attempts + 1,
			error = excluded.error, sent_at = excluded.sent_at, updated_at = excluded.updated_at
		WHERE slack_messages.state <> 'sent'`, m)
	return wrap(err, "record slack message of assignment %s to %s", m.AssignmentID, m.ApproverID)
}

// ClaimSlackClick records a signed click before it is acted on. It
// reports false, with the answer given (empty while the first is still
// being answered), when the same signed click came before: a replay.
// Claims older than the signatures' window are forgotten on the way.
func (s *Store) ClaimSlackClick(ctx context.Context, signatureHash, assignmentID, approverID string, now, forgetBefore time.Time) (bool, string, error) {
	var fresh bool
	var answer string
	err := s.inTx(ctx, func(tx conn) error {
		if _, err := tx.exec(ctx, `DELETE FROM slack_clicks WHERE at < ?`, utc(forgetBefore)); err != nil {
			return err
		}
		r, err := tx.exec(ctx, `INSERT INTO slack_clicks (signature_hash, assignment_id, approver_id, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (signature_hash) DO NOTHING`, signatureHash, assignmentID, approverID, utc(now))
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n == 1 {
			fresh = n == 1
			return err
		}
		return tx.get(ctx, &answer, `SELECT answer FROM slack_clicks WHERE signature_hash = ?`, signatureHash)
	})
	return fresh, answer, wrap(err, "record slack click on assignment %s", assignmentID)
}

// AnswerSlackClick records what a click was answered, for its replays.
func (s *Store) AnswerSlackClick(ctx context.Context, signatureHash, answer string) error {
	_, err := s.w.exec(ctx, `UPDATE slack_clicks SET answer = ? WHERE signature_hash = ?`, answer, signatureHash)
	return wrap(err, "record the answer of a slack click")
}
