package store

import (
	"context"
	"time"
)

// Email delivery states.
const (
	EmailSending = "sending" // handed to the provider; outcome not yet known
	EmailSent    = "sent"    // accepted by the provider
	EmailLocal   = "local"   // delivered to the local dev mailbox
	EmailFailed  = "failed"  // refused for good; not retried
)

// Email is the record of one email, keyed for idempotency.
type Email struct {
	Key          string    `db:"idem_key"`
	AssignmentID string    `db:"assignment_id"`
	Kind         string    `db:"kind"`
	To           string    `db:"to_addr"`
	From         string    `db:"from_addr"`
	Subject      string    `db:"subject"`
	Text         string    `db:"text_body"`
	HTML         string    `db:"html_body"`
	Status       string    `db:"status"`
	ProviderID   string    `db:"provider_id"`
	Error        string    `db:"error"`
	Attempts     int       `db:"attempts"`
	CreatedAt    time.Time `db:"created_at"`
	UpdatedAt    time.Time `db:"updated_at"`
}

const emailColumns = `idem_key, assignment_id, kind, to_addr, from_addr, subject, text_body, html_body,
	status, provider_id, error, attempts, created_at, updated_at`

// EmailByKey returns the record of an email.
func (s *Store) EmailByKey(ctx context.Context, key string) (Email, error) {
	var e Email
	err := s.r.get(ctx, &e, `SELECT `+emailColumns+` FROM emails WHERE idem_key = ?`, key)
	return e, notFound(err, "email")
}

// ClaimEmail records that this attempt is sending e (status sending), unless
// another attempt holds it: one that is sending and has neither failed nor
// gone quiet for longer than lease. Only the attempt that claims an email
// sends it, so two attempts never both send it.
func (s *Store) ClaimEmail(ctx context.Context, e Email, lease time.Duration) (bool, error) {
	e.UpdatedAt = utc(e.UpdatedAt)
	e.CreatedAt = e.UpdatedAt
	stale := e.UpdatedAt.Add(-lease)
	res, err := s.w.exec(ctx, `INSERT INTO emails
		(idem_key, assignment_id, kind, to_addr, from_addr, subject, text_body, html_body, status, provider_id,
		 error, attempts, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, '', '', 'sending', '', '', 1, ?, ?)
		ON CONFLICT (idem_key) DO UPDATE SET status = 'sending', error = '', attempts = emails.attempts + 1,
			updated_at = excluded.updated_at
		WHERE emails.status = 'sending' AND (emails.error <> '' OR emails.updated_at < ?)`,
		e.Key, e.AssignmentID, e.Kind, e.To, e.From, e.Subject, e.CreatedAt, e.UpdatedAt, stale)
	if err != nil {
		return false, wrap(err, "claim email %s", e.Kind)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap(err, "claim email %s", e.Kind)
}

// RecordEmail writes an email's delivery state, counting attempts. The
// creation time is that of the first attempt.
func (s *Store) RecordEmail(ctx context.Context, e Email) error {
	e.UpdatedAt = utc(e.UpdatedAt)
	e.CreatedAt = e.UpdatedAt
	_, err := s.w.namedExec(ctx, `INSERT INTO emails
		(idem_key, assignment_id, kind, to_addr, from_addr, subject, text_body, html_body, status, provider_id,
		 error, attempts, created_at, updated_at)
		VALUES (:idem_key, :assignment_id, :kind, :to_addr, :from_addr, :subject, :text_body, :html_body, :status,
		 :provider_id, :error, 1, :created_at, :updated_at)
		ON CONFLICT (idem_key) DO UPDATE SET status = excluded.status, provider_id = excluded.provider_id,
			error = excluded.error, text_body = excluded.text_body, html_body = excluded.html_body,
			attempts = emails.attempts + CASE WHEN excluded.status = 'sending' THEN 1 ELSE 0 END,
			updated_at = excluded.updated_at`, e)
	return wrap(err, "record email %s", e.Kind)
}

// EmailFilter selects emails; empty fields match everything.
type EmailFilter struct {
	AssignmentID string `db:"assignment_id"`
	Status       string `db:"status"`
	To           string `db:"to_addr"`
	// PartnerID or CustomerID keep only mail to that organization's users.
	PartnerID  string `db:"partner_id"`
	CustomerID string `db:"customer_id"`
	Limit      int    `db:"limit"`
}

// Emails lists email records, oldest first.
func (s *Store) Emails(ctx context.Context, f EmailFilter) ([]Email, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	var es []Email
	err := s.r.namedSel(ctx, &es, `SELECT `+emailColumns+` FROM emails
		WHERE (:assignment_id = '' OR assignment_id = :assignment_id) AND (:status = '' OR status = :status)
		AND (:to_addr = '' OR lower(to_addr) = lower(:to_addr))
		AND (:partner_id = '' OR lower(to_addr) IN (SELECT lower(email) FROM users WHERE partner_id = :partner_id))
		AND (:customer_id = '' OR lower(to_addr) IN (SELECT lower(email) FROM users WHERE customer_id = :customer_id))
		ORDER BY created_at, idem_key LIMIT :limit`, f)
	return es, wrap(err, "list emails")
}

// GiveUpEmail records that an email was not delivered within its retry
// window. An email the provider accepted meanwhile stays sent.
func (s *Store) GiveUpEmail(ctx context.Context, e Email) error {
	e.UpdatedAt = utc(e.UpdatedAt)
	e.CreatedAt, e.Status = e.UpdatedAt, EmailFailed
	_, err := s.w.namedExec(ctx, `INSERT INTO emails
		(idem_key, assignment_id, kind, to_addr, from_addr, subject, text_body, html_body, status, provider_id,
		 error, attempts, created_at, updated_at)
		VALUES (:idem_key, :assignment_id, :kind, :to_addr, '', '', '', '', :status, '', :error, 0, :created_at, :updated_at)
		ON CONFLICT (idem_key) DO UPDATE SET status = excluded.status, error = excluded.error, updated_at = excluded.updated_at
		WHERE emails.status NOT IN ('sent', 'local')`, e)
	return wrap(err, "give up email %s", e.Kind)
}
