// Package outbox is the one path an email takes once rendered, for the
// workflow's activities and the service's own emails alike: kept in the
// store's mailbox when no provider is configured, else claimed, sent
// through the provider, and its outcome recorded.
package outbox

import (
	"context"
	"errors"
	"time"

	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Lease is how long an attempt that started sending an email owns it:
// another attempt takes it over only after this long without an outcome,
// the workflow's StartToCloseTimeout of an email.
const Lease = 30 * time.Second

// ErrBusy: another attempt is sending the email now.
var ErrBusy = errors.New("the email is being sent by another attempt")

// Outbox delivers emails and records them.
type Outbox struct {
	Store  *store.Store
	Sender mail.Sender // nil: the store's mailbox
	Now    func() time.Time
}

// Send delivers msg once, under its idempotency key msg.Key, and records
// it with the assignment it belongs to ("" for none). sendErr is the
// provider's refusal (mail.IsPermanent tells whether to try again; the
// record says failed or sending with the error); err is a failure to
// record, or ErrBusy.
func (o Outbox) Send(ctx context.Context, msg mail.Message, assignmentID string) (rec store.Email, sendErr, err error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	rec = store.Email{Key: msg.Key, AssignmentID: assignmentID, Kind: string(msg.Kind), To: msg.To.Email, From: msg.From.Email,
		Subject: msg.Subject, UpdatedAt: now()}
	if o.Sender == nil {
		rec.Status, rec.Text, rec.HTML = store.EmailLocal, msg.Text, msg.HTML
		return rec, nil, o.Store.RecordEmail(ctx, rec)
	}
	rec.Status = store.EmailSending
	if claimed, err := o.Store.ClaimEmail(ctx, rec, Lease); err != nil {
		return rec, nil, err
	} else if !claimed {
		return rec, nil, ErrBusy
	}
	id, sendErr := o.Sender.Send(ctx, msg)
	rec.UpdatedAt = now()
	switch {
	case sendErr == nil:
		rec.Status, rec.ProviderID = store.EmailSent, id
	case mail.IsPermanent(sendErr):
		rec.Status, rec.Error = store.EmailFailed, sendErr.Error()
	default:
		rec.Error = sendErr.Error()
	}
	// Recorded even when the caller has gone: the provider has the email.
	return rec, sendErr, o.Store.RecordEmail(context.WithoutCancel(ctx), rec)
}
