package store

import (
	"context"
	"strings"
	"time"
)

// Webhook is an organization's endpoint for its events (SPEC §15). Its
// secret is sealed (made through the API) or named (directory file).
type Webhook struct {
	ID           string     `db:"id"`
	OrgKind      string     `db:"org_kind"` // KindPartner or KindCustomer
	OrgID        string     `db:"org_id"`
	URL          string     `db:"url"`
	Events       string     `db:"events"` // event types, comma-separated; "" for every one
	SecretSealed []byte     `db:"secret_sealed"`
	SecretEnv    string     `db:"secret_env"`
	SecretFile   string     `db:"secret_file"`
	Source       string     `db:"source"` // WebhookFromAPI or WebhookFromDirectory
	CreatedBy    string     `db:"created_by"`
	CreatedAt    time.Time  `db:"created_at"`
	Cursor       int64      `db:"cursor"`
	PausedAt     *time.Time `db:"paused_at"`
	PausedReason string     `db:"paused_reason"`
	DeletedAt    *time.Time `db:"deleted_at"`
}

// Where a webhook was registered.
const (
	WebhookFromAPI       = "api"
	WebhookFromDirectory = "directory"
)

// EventTypes are the webhook's event types ("" for every one).
func (w Webhook) EventTypes() []string {
	if w.Events == "" {
		return nil
	}
	return strings.Split(w.Events, ",")
}

// Active reports whether the webhook is neither deleted nor paused.
func (w Webhook) Active() bool { return w.DeletedAt == nil && w.PausedAt == nil }

const webhookColumns = `id, org_kind, org_id, url, events, secret_sealed, secret_env, secret_file, source,
	created_by, created_at, cursor, paused_at, paused_reason, deleted_at FROM webhooks`

// CreateWebhook records a webhook. Its cursor starts at the newest audit
// entry: it is sent what happens from now on, not the past (the pull feed
// has that).
func (s *Store) CreateWebhook(ctx context.Context, w Webhook) error {
	w.CreatedAt = utc(w.CreatedAt)
	return wrap(s.inTx(ctx, func(tx conn) error {
		if err := tx.get(ctx, &w.Cursor, `SELECT COALESCE(MAX(id), 0) FROM audit_log`); err != nil {
			return err
		}
		_, err := tx.namedExec(ctx, `INSERT INTO webhooks (id, org_kind, org_id, url, events, secret_sealed, secret_env,
			secret_file, source, created_by, created_at, cursor)
			VALUES (:id, :org_kind, :org_id, :url, :events, :secret_sealed, :secret_env, :secret_file, :source,
			:created_by, :created_at, :cursor)`, w)
		return err
	}), "create webhook for %s %s", w.OrgKind, w.OrgID)
}

// UpdateDirectoryWebhook sets what the directory file says of one of its
// webhooks (its events and where its secret is read), and lifts a pause.
func (s *Store) UpdateDirectoryWebhook(ctx context.Context, w Webhook) error {
	_, err := s.w.namedExec(ctx, `UPDATE webhooks SET events = :events, secret_env = :secret_env,
		secret_file = :secret_file, paused_at = NULL, paused_reason = '' WHERE id = :id AND source = 'directory'`, w)
	return wrap(err, "update webhook %s", w.ID)
}

// WebhookByID returns a webhook, deleted or not.
func (s *Store) WebhookByID(ctx context.Context, id string) (Webhook, error) {
	var w Webhook
	err := s.r.get(ctx, &w, `SELECT `+webhookColumns+` WHERE id = ?`, id)
	return w, notFound(err, "webhook")
}

// Webhooks lists an organization's webhooks not deleted, oldest first;
// orgKind "" lists every organization's.
func (s *Store) Webhooks(ctx context.Context, orgKind, orgID string) ([]Webhook, error) {
	var ws []Webhook
	err := s.r.sel(ctx, &ws, `SELECT `+webhookColumns+` WHERE deleted_at IS NULL
		AND (? = '' OR (org_kind = ? AND org_id = ?)) ORDER BY created_at, id`, orgKind, orgKind, orgID)
	return ws, wrap(err, "list webhooks")
}

// DeleteWebhook marks a webhook deleted; its deliveries stay listed. It
// reports whether this call deleted it.
func (s *Store) DeleteWebhook(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := s.w.exec(ctx, `UPDATE webhooks SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, utc(at), id)
	if err != nil {
		return false, wrap(err, "delete webhook %s", id)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// PauseWebhook pauses a webhook that keeps failing, and marks the delivery
// that gave up as failed. It reports whether this call paused it.
func (s *Store) PauseWebhook(ctx context.Context, id string, auditID int64, reason string, at time.Time) (bool, error) {
	var paused bool
	err := s.inTx(ctx, func(tx conn) error {
		if _, err := tx.exec(ctx, `UPDATE webhook_deliveries SET status = 'failed'
			WHERE webhook_id = ? AND audit_id = ? AND status = 'pending'`, id, auditID); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE webhooks SET paused_at = ?, paused_reason = ?
			WHERE id = ? AND paused_at IS NULL AND deleted_at IS NULL`, utc(at), reason, id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		paused = n == 1
		return nil
	})
	return paused, wrap(err, "pause webhook %s", id)
}

// ResumeWebhook lifts a webhook's pause; the deliveries still pending go
// out again, and the one that failed is tried anew.
func (s *Store) ResumeWebhook(ctx context.Context, id string) (bool, error) {
	var resumed bool
	err := s.inTx(ctx, func(tx conn) error {
		res, err := tx.exec(ctx, `UPDATE webhooks SET paused_at = NULL, paused_reason = ''
			WHERE id = ? AND paused_at IS NOT NULL AND deleted_at IS NULL`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		resumed = true
		_, err = tx.exec(ctx, `UPDATE webhook_deliveries SET status = 'pending' WHERE webhook_id = ? AND status = 'failed'`, id)
		return err
	})
	return resumed, wrap(err, "resume webhook %s", id)
}

// Delivery is one event staged for a webhook, and how sending it went.
type Delivery struct {
	WebhookID     string     `db:"webhook_id"`
	AuditID       int64      `db:"audit_id"`
	Subject       string     `db:"subject"`
	Type          string     `db:"type"`
	Status        string     `db:"status"`
	Attempts      int        `db:"attempts"`
	LastStatus    int        `db:"last_status"` // the receiver's last HTTP status (0: no answer)
	LastError     string     `db:"last_error"`
	StagedAt      time.Time  `db:"staged_at"`
	LastAttemptAt *time.Time `db:"last_attempt_at"`
	DeliveredAt   *time.Time `db:"delivered_at"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

const deliveryColumns = `webhook_id, audit_id, subject, type, status, attempts, last_status, last_error, staged_at,
	last_attempt_at, delivered_at FROM webhook_deliveries`

// StageWebhook stages for the webhook the audit entries of its organization
// after its cursor, up to limit, that pick selects (its event types), and
// moves the cursor past every entry read, in one transaction: an entry is
// staged once and none is skipped. It returns how many it staged.
func (s *Store) StageWebhook(ctx context.Context, id string, limit int, pick func(AuditEntry) bool, at time.Time) (int, error) {
	staged := 0
	err := s.inTx(ctx, func(tx conn) error {
		var w Webhook
		// Take the row first (PostgreSQL runs stagings side by side).
		if _, err := tx.exec(ctx, `UPDATE webhooks SET cursor = cursor WHERE id = ?`, id); err != nil {
			return err
		}
		if err := tx.get(ctx, &w, `SELECT `+webhookColumns+` WHERE id = ?`, id); err != nil {
			return notFound(err, "webhook")
		}
		if w.DeletedAt != nil {
			return nil
		}
		es, err := eventsAfter(ctx, tx, OrgFilter{Kind: w.OrgKind, ID: w.OrgID}, w.Cursor, limit)
		if err != nil || len(es) == 0 {
			return err
		}
		for _, e := range es {
			if !pick(e.AuditEntry) {
				continue
			}
			if _, err := tx.exec(ctx, `INSERT INTO webhook_deliveries (webhook_id, audit_id, subject, type, status, staged_at)
				VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING`, id, e.ID, Subject(e.AuditEntry), string(e.Action), utc(at)); err != nil {
				return err
			}
			staged++
		}
		_, err = tx.exec(ctx, `UPDATE webhooks SET cursor = ? WHERE id = ?`, es[len(es)-1].ID, id)
		return err
	})
	return staged, wrap(err, "stage events for webhook %s", id)
}

// Subject is what orders an entry's events: its assignment, else its
// organization's other events share one order.
func Subject(e AuditEntry) string {
	if e.AssignmentID != "" {
		return "assignments/" + e.AssignmentID
	}
	return ""
}

// PendingDeliveries are the webhook's deliveries not yet made, oldest
// first, up to limit.
func (s *Store) PendingDeliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	var ds []Delivery
	err := s.r.sel(ctx, &ds, `SELECT `+deliveryColumns+` WHERE webhook_id = ? AND status = 'pending'
		ORDER BY audit_id LIMIT ?`, id, limit)
	return ds, wrap(err, "list pending deliveries of webhook %s", id)
}

// Deliveries lists the webhook's deliveries, newest first, before the audit
// ID before (0: from the newest), up to limit.
func (s *Store) Deliveries(ctx context.Context, id string, before int64, limit int) ([]Delivery, error) {
	var ds []Delivery
	err := s.r.sel(ctx, &ds, `SELECT `+deliveryColumns+` WHERE webhook_id = ? AND (? = 0 OR audit_id < ?)
		ORDER BY audit_id DESC LIMIT ?`, id, before, before, limit)
	return ds, wrap(err, "list deliveries of webhook %s", id)
}

// DeliveryOf is one delivery.
func (s *Store) DeliveryOf(ctx context.Context, id string, auditID int64) (Delivery, error) {
	var d Delivery
	err := s.r.get(ctx, &d, `SELECT `+deliveryColumns+` WHERE webhook_id = ? AND audit_id = ?`, id, auditID)
	return d, notFound(err, "delivery")
}

// RecordAttempt records one attempt to send a delivery: delivered, or why
// not (the receiver's status, 0 when it did not answer, and the error).
func (s *Store) RecordAttempt(ctx context.Context, id string, auditID int64, delivered bool, status int, why string, at time.Time) error {
	_, err := s.w.exec(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?,
		last_attempt_at = ?, delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END,
		status = CASE WHEN ? THEN 'delivered' ELSE status END
		WHERE webhook_id = ? AND audit_id = ?`, status, why, utc(at), delivered, utc(at), delivered, id, auditID)
	return wrap(err, "record a delivery attempt of webhook %s", id)
}

// NewestAuditID is the ID of the newest audit entry (0: none).
func (s *Store) NewestAuditID(ctx context.Context) (int64, error) {
	var id int64
	err := s.r.get(ctx, &id, `SELECT COALESCE(MAX(id), 0) FROM audit_log`)
	return id, wrap(err, "read the newest audit entry")
}
