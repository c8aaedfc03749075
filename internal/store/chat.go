package store

import (
	"context"
	"time"
)

// The chat channels beside email (SPEC §14): the workspaces customers opted
// in to, each request delivered to an approver in a chat, and the Teams
// conversations bound to customer users.

// ChatWorkspace is a customer's workspace in a chat service: its Entra
// tenant for Teams, its team ID for Slack.
type ChatWorkspace struct {
	CustomerID  string `db:"customer_id"`
	Channel     string `db:"channel"`
	WorkspaceID string `db:"workspace_id"`
}

// SetChatWorkspace opts a customer in to a channel with its workspace
// ("" opts it out). A workspace of another customer is a constraint
// violation (IsConstraint).
func (s *Store) SetChatWorkspace(ctx context.Context, customerID, channel, workspaceID string) error {
	if workspaceID == "" {
		_, err := s.w.exec(ctx, `DELETE FROM chat_workspaces WHERE customer_id = ? AND channel = ?`, customerID, channel)
		return wrap(err, "opt customer %s out of %s", customerID, channel)
	}
	_, err := s.w.exec(ctx, `INSERT INTO chat_workspaces (customer_id, channel, workspace_id) VALUES (?, ?, ?)
		ON CONFLICT (customer_id, channel) DO UPDATE SET workspace_id = excluded.workspace_id`, customerID, channel, workspaceID)
	return wrap(err, "opt customer %s in to %s", customerID, channel)
}

// ChatWorkspace is the customer's workspace in a channel (ErrNotFound: the
// customer did not opt in).
func (s *Store) ChatWorkspace(ctx context.Context, customerID, channel string) (ChatWorkspace, error) {
	var w ChatWorkspace
	err := s.r.get(ctx, &w, `SELECT customer_id, channel, workspace_id FROM chat_workspaces
		WHERE customer_id = ? AND channel = ?`, customerID, channel)
	return w, notFound(err, "chat workspace")
}

// CustomerOfWorkspace is the customer whose workspace in channel is
// workspaceID (ErrNotFound: nobody's).
func (s *Store) CustomerOfWorkspace(ctx context.Context, channel, workspaceID string) (ChatWorkspace, error) {
	var w ChatWorkspace
	err := s.r.get(ctx, &w, `SELECT customer_id, channel, workspace_id FROM chat_workspaces
		WHERE channel = ? AND workspace_id = ?`, channel, workspaceID)
	return w, notFound(err, "chat workspace")
}

// States of a chat delivery.
const (
	ChatSending     = "sending"     // asked; not sent yet (retrying, or not tried)
	ChatSent        = "sent"        // in the approver's chat
	ChatUnreachable = "unreachable" // the approver has no address there (not bound, not found)
	ChatFailed      = "failed"      // not sent within the retry window
	ChatSkipped     = "skipped"     // not sent: the request was settled, or the person no longer decides
)

// ChatDelivery is one request delivered to one approver in one channel.
type ChatDelivery struct {
	AssignmentID string    `db:"assignment_id"`
	Extension    int       `db:"extension"`
	ApproverID   string    `db:"approver_id"`
	ApproverName string    `db:"approver_name"`
	Channel      string    `db:"channel"`
	State        string    `db:"state"`
	Ref          string    `db:"ref"` // the channel's own reference to the message
	Detail       string    `db:"detail"`
	Attempts     int       `db:"attempts"`
	UpdatedAt    time.Time `db:"updated_at"`
}

// ChatDeliveryOf is one delivery (ErrNotFound: none yet).
func (s *Store) ChatDeliveryOf(ctx context.Context, assignmentID string, extension int, approverID, channel string) (ChatDelivery, error) {
	var d ChatDelivery
	err := s.r.get(ctx, &d, `SELECT d.assignment_id, d.extension, d.approver_id, u.name AS approver_name, d.channel, d.state,
		d.ref, d.detail, d.attempts, d.updated_at
		FROM chat_deliveries d JOIN users u ON u.id = d.approver_id
		WHERE d.assignment_id = ? AND d.extension = ? AND d.approver_id = ? AND d.channel = ?`,
		assignmentID, extension, approverID, channel)
	return d, notFound(err, "chat delivery")
}

// ChatDeliveries lists an assignment's deliveries in every channel, by
// request, channel and approver.
func (s *Store) ChatDeliveries(ctx context.Context, assignmentID string) ([]ChatDelivery, error) {
	var ds []ChatDelivery
	err := s.r.sel(ctx, &ds, `SELECT d.assignment_id, d.extension, d.approver_id, u.name AS approver_name, d.channel, d.state,
		d.ref, d.detail, d.attempts, d.updated_at
		FROM chat_deliveries d JOIN users u ON u.id = d.approver_id
		WHERE d.assignment_id = ? ORDER BY d.extension, d.channel, u.name, d.approver_id`, assignmentID)
	return ds, wrap(err, "read chat deliveries of %s", assignmentID)
}

// TryChatDelivery counts an attempt at a delivery, making its row the
// first time; a delivery already settled (sent, unreachable, failed,
// skipped) is returned as it is, uncounted.
func (s *Store) TryChatDelivery(ctx context.Context, d ChatDelivery) (ChatDelivery, error) {
	d.UpdatedAt = utc(d.UpdatedAt)
	_, err := s.w.namedExec(ctx, `INSERT INTO chat_deliveries
		(assignment_id, extension, approver_id, channel, state, attempts, updated_at)
		VALUES (:assignment_id, :extension, :approver_id, :channel, 'sending', 1, :updated_at)
		ON CONFLICT (assignment_id, extension, approver_id, channel) DO UPDATE
		SET attempts = chat_deliveries.attempts + 1, updated_at = excluded.updated_at
		WHERE chat_deliveries.state = 'sending'`, d)
	if err != nil {
		return d, wrap(err, "count chat delivery of %s", d.AssignmentID)
	}
	return s.ChatDeliveryOf(ctx, d.AssignmentID, d.Extension, d.ApproverID, d.Channel)
}

// SettleChatDelivery records how a delivery stands (state, ref, detail);
// a delivery sent stays sent.
func (s *Store) SettleChatDelivery(ctx context.Context, d ChatDelivery) error {
	d.UpdatedAt = utc(d.UpdatedAt)
	_, err := s.w.namedExec(ctx, `INSERT INTO chat_deliveries
		(assignment_id, extension, approver_id, channel, state, ref, detail, attempts, updated_at)
		VALUES (:assignment_id, :extension, :approver_id, :channel, :state, :ref, :detail, 0, :updated_at)
		ON CONFLICT (assignment_id, extension, approver_id, channel) DO UPDATE
		SET state = excluded.state, ref = CASE WHEN excluded.ref <> '' THEN excluded.ref ELSE chat_deliveries.ref END,
			detail = excluded.detail, updated_at = excluded.updated_at
		WHERE chat_deliveries.state <> 'sent'`, d)
	return wrap(err, "record chat delivery of %s to %s", d.AssignmentID, d.ApproverID)
}

// TeamsBinding is a customer user's Teams 1:1 conversation with the bot.
type TeamsBinding struct {
	UserID         string    `db:"user_id"`
	CustomerID     string    `db:"customer_id"`
	TenantID       string    `db:"tenant_id"`
	AADObjectID    string    `db:"aad_object_id"`
	ConversationID string    `db:"conversation_id"`
	ServiceURL     string    `db:"service_url"`
	BoundAt        time.Time `db:"bound_at"`
}

// BindTeams binds a user's conversation, replacing an earlier one of the
// user or of the same Teams member.
func (s *Store) BindTeams(ctx context.Context, b TeamsBinding) error {
	b.BoundAt = utc(b.BoundAt)
	return wrap(s.inTx(ctx, func(tx conn) error {
		if _, err := tx.exec(ctx, `DELETE FROM teams_bindings WHERE user_id = ? OR (tenant_id = ? AND aad_object_id = ?)`,
			b.UserID, b.TenantID, b.AADObjectID); err != nil {
			return err
		}
		_, err := tx.namedExec(ctx, `INSERT INTO teams_bindings
			(user_id, customer_id, tenant_id, aad_object_id, conversation_id, service_url, bound_at)
			VALUES (:user_id, :customer_id, :tenant_id, :aad_object_id, :conversation_id, :service_url, :bound_at)`, b)
		return err
	}), "bind Teams conversation of %s", b.UserID)
}

// TeamsBindingOf is a user's binding (ErrNotFound: none).
func (s *Store) TeamsBindingOf(ctx context.Context, userID string) (TeamsBinding, error) {
	var b TeamsBinding
	err := s.r.get(ctx, &b, `SELECT user_id, customer_id, tenant_id, aad_object_id, conversation_id, service_url, bound_at
		FROM teams_bindings WHERE user_id = ?`, userID)
	return b, notFound(err, "Teams binding")
}

// UnbindTeams removes a user's binding; it reports whether there was one.
func (s *Store) UnbindTeams(ctx context.Context, userID string) (bool, error) {
	res, err := s.w.exec(ctx, `DELETE FROM teams_bindings WHERE user_id = ?`, userID)
	if err != nil {
		return false, wrap(err, "unbind Teams conversation of %s", userID)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// TeamsBindingOfMember is the binding of a Teams member of a tenant, by
// the member's Entra object ID (ErrNotFound: none).
func (s *Store) TeamsBindingOfMember(ctx context.Context, tenantID, aadObjectID string) (TeamsBinding, error) {
	var b TeamsBinding
	err := s.r.get(ctx, &b, `SELECT user_id, customer_id, tenant_id, aad_object_id, conversation_id, service_url, bound_at
		FROM teams_bindings WHERE tenant_id = ? AND aad_object_id = ?`, tenantID, aadObjectID)
	return b, notFound(err, "Teams binding")
}

// TeamsBindings lists a customer's bindings, by user.
func (s *Store) TeamsBindings(ctx context.Context, customerID string) ([]TeamsBinding, error) {
	var bs []TeamsBinding
	err := s.r.sel(ctx, &bs, `SELECT user_id, customer_id, tenant_id, aad_object_id, conversation_id, service_url, bound_at
		FROM teams_bindings WHERE customer_id = ? ORDER BY user_id`, customerID)
	return bs, wrap(err, "read Teams bindings of %s", customerID)
}
