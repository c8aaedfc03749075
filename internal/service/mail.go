package service

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/outbox"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The service sends the emails of the user lifecycle itself: they belong
// to no assignment workflow. Each goes through the outbox, the path the
// workflow's emails take.

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
func (s *Service) sendUserEmail(ctx context.Context, kind domain.EmailKind, u store.User, d mail.Data, key string) error {
	d.RecipientName, d.RecipientEmail = u.Name, u.Email
	body, err := mail.Render(kind, d)
	if err != nil {
		return fmt.Errorf("render %s email: %w", kind, err)
	}
	box := outbox.Outbox{Store: s.store, Sender: s.cfg.Mail, Now: s.now}
	msg := mail.Message{Kind: kind, From: s.cfg.MailFrom, To: mail.Address{Name: u.Name, Email: u.Email},
		Subject: body.Subject, Text: body.Text, HTML: body.HTML, Key: key}
	var rec store.Email
	var sendErr error
	for attempt := 0; attempt < sendAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return &errMailNotSent{Detail: "the request was cancelled"}
			case <-time.After(sendPause[attempt-1]):
			}
		}
		rec, sendErr, err = box.Send(ctx, msg, "")
		if errors.Is(err, outbox.ErrBusy) {
			return &errMailNotSent{Detail: "another request is sending it; try again in a minute"}
		} else if err != nil {
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
