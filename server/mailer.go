package server

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The server sends the emails of the user lifecycle itself: they belong to
// no assignment workflow. Each is recorded like the workflow's emails
// (kept with its body in the local mailbox, or its delivery state when
// sent through SendGrid).

// sendAttempts and sendPause bound the retries of a transient failure: the
// person who asked is waiting for the answer.
const sendAttempts = 3

var sendPause = []time.Duration{300 * time.Millisecond, time.Second}

// errMailNotSent is an email the provider did not take; Detail is safe to
// show (the provider's reason, never a key).
type errMailNotSent struct{ Detail string }

func (e *errMailNotSent) Error() string { return "email not sent: " + e.Detail }

// userEmailKey is the idempotency key of a lifecycle email: one per link.
func userEmailKey(kind domain.EmailKind, userID string, tokenHash []byte) string {
	return "user/" + userID + "/" + string(kind) + "/" + hex.EncodeToString(tokenHash[:8])
}

// sendUserEmail renders and delivers one email to u, and records it.
func (s *Server) sendUserEmail(ctx context.Context, kind domain.EmailKind, u store.User, d mail.Data, key string) error {
	d.RecipientName, d.RecipientEmail = u.Name, u.Email
	body, err := mail.Render(kind, d)
	if err != nil {
		return fmt.Errorf("render %s email: %w", kind, err)
	}
	rec := store.Email{Key: key, Kind: string(kind), To: u.Email, From: s.cfg.MailFrom.Email, Subject: body.Subject, UpdatedAt: s.now()}
	if s.cfg.Mail == nil {
		rec.Status, rec.Text, rec.HTML = store.EmailLocal, body.Text, body.HTML
		return s.store.RecordEmail(ctx, rec)
	}
	msg := mail.Message{Kind: kind, From: s.cfg.MailFrom, To: mail.Address{Name: u.Name, Email: u.Email},
		Subject: body.Subject, Text: body.Text, HTML: body.HTML, Key: key}
	var sendErr error
	for attempt := 0; attempt < sendAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return &errMailNotSent{Detail: "the request was cancelled"}
			case <-time.After(sendPause[attempt-1]):
			}
		}
		rec.Status, rec.Error, rec.UpdatedAt = store.EmailSending, "", s.now()
		if err := s.store.RecordEmail(ctx, rec); err != nil {
			return err
		}
		var id string
		id, sendErr = s.cfg.Mail.Send(ctx, msg)
		rec.UpdatedAt = s.now()
		switch {
		case sendErr == nil:
			rec.Status, rec.ProviderID = store.EmailSent, id
		case mail.IsPermanent(sendErr):
			rec.Status, rec.Error = store.EmailFailed, sendErr.Error()
		default:
			rec.Error = sendErr.Error()
		}
		if err := s.store.RecordEmail(context.WithoutCancel(ctx), rec); err != nil {
			return err
		}
		if sendErr == nil {
			return nil
		}
		s.log.Warn("lifecycle email not sent", "kind", kind, "user", u.ID, "attempt", attempt+1, "error", sendErr)
		if rec.Status == store.EmailFailed {
			break
		}
	}
	if rec.Status != store.EmailFailed {
		rec.Status, rec.UpdatedAt = store.EmailFailed, s.now()
		s.logAuditFailure(s.store.GiveUpEmail(context.WithoutCancel(ctx), rec))
	}
	return &errMailNotSent{Detail: sendErr.Error()}
}
