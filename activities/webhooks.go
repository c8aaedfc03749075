package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/outbox"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/webhook"
)

// Webhooks (SPEC §15). Nothing a run of these workflows carries is
// trusted: a start names a webhook by its ID, and each activity reads the
// webhook (its organization, address and secret) and the events from the
// store. A forged start can at most send an organization's own events,
// once more, to the address its administrator registered.

// The webhook workflows' names, their IDs and the signal that wakes one
// (the dispatcher's activity starts them, so they are named here).
const (
	WebhookDispatchWorkflowName = "WebhookDispatch"
	WebhookDispatchWorkflowID   = "partner-access-webhooks"
	WebhookWorkflowName         = "WebhookEndpoint"
	SignalWebhookWake           = "wake"
)

// WebhookWorkflowID is the workflow of one webhook.
func WebhookWorkflowID(id string) string { return "partner-access-webhook-" + id }

// ErrTypeWebhookGone is a delivery to a webhook deleted or paused since:
// not retried, and nothing to pause.
const ErrTypeWebhookGone = "WebhookGone"

// WebhookConfig is what the webhook activities need.
type WebhookConfig struct {
	// HTTPClient sends the deliveries (nil: one that waits 10 s and
	// follows no redirect, since a redirect could lead anywhere).
	HTTPClient *http.Client
	// Starter signals-with-start a webhook's workflow (the Temporal
	// client; nil: the dispatcher stages events and wakes nobody).
	Starter WebhookStarter
	// Input is what each webhook's workflow is started with, but its ID.
	Input WebhookInput
	// Poll is how long one dispatcher activity waits for new entries
	// (0: 20 s); it looks every PollEvery (0: 250 ms).
	Poll, PollEvery time.Duration
	// Counted counts each attempt by outcome: delivered, failed, gave_up
	// (may be nil).
	Counted func(outcome string)
}

// WebhookStarter is the one call of the Temporal client the dispatcher uses.
type WebhookStarter interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID string, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
}

// WebhookInput starts one webhook's workflow.
type WebhookInput struct {
	WebhookID string
	// RetryFor is how long one event is retried before the webhook is
	// paused (WEBHOOK_RETRY_FOR); MaxInFlight how many deliveries go at
	// once, never two of one subject.
	RetryFor    time.Duration
	MaxInFlight int
}

// DispatchState is what one dispatcher activity leaves to the next.
type DispatchState struct {
	// Woken: the run has woken every webhook with deliveries pending once
	// (a new run does it again, so a start after a crash misses none).
	Woken bool
	// Paused are the webhooks paused at the last look: one resumed since
	// is woken.
	Paused []string `json:",omitempty"`
}

// stageBatch bounds the entries staged per webhook and pass.
const stageBatch = 1000

// StageWebhooks is the dispatcher's pass: it stages for each webhook the
// new entries of its organization, then wakes the workflow of each that
// got some (or was resumed). It waits for new entries up to Poll, so an
// idle dispatcher costs its history one activity per Poll.
func (a *Activities) StageWebhooks(ctx context.Context, in DispatchState) (DispatchState, error) {
	poll, every := a.Webhook.Poll, a.Webhook.PollEvery
	if poll == 0 {
		poll = 20 * time.Second
	}
	if every == 0 {
		every = 250 * time.Millisecond
	}
	deadline := time.Now().Add(poll)
	var seen int64 = -1
	for {
		newest, err := a.Store.NewestAuditID(ctx)
		if err != nil {
			return in, err
		}
		if newest != seen || !in.Woken {
			more, woke, next, err := a.stagePass(ctx, in)
			if err != nil {
				return in, err
			}
			in = next
			if !more {
				seen = newest
			}
			if woke {
				return in, nil
			}
		}
		activity.RecordHeartbeat(ctx)
		if time.Now().After(deadline) {
			return in, nil
		}
		select {
		case <-ctx.Done():
			return in, ctx.Err()
		case <-time.After(every):
		}
	}
}

// stagePass stages and wakes once; more is true when some webhook has more
// entries to stage than one batch.
func (a *Activities) stagePass(ctx context.Context, in DispatchState) (more, woke bool, out DispatchState, err error) {
	ws, err := a.Store.Webhooks(ctx, "", "")
	if err != nil {
		return false, false, in, err
	}
	wasPaused := map[string]bool{}
	for _, id := range in.Paused {
		wasPaused[id] = true
	}
	out = DispatchState{Woken: true}
	for _, w := range ws {
		types := w.EventTypes()
		n, err := a.Store.StageWebhook(ctx, w.ID, stageBatch, func(e store.AuditEntry) bool { return webhook.Wants(types, e.Action) }, time.Now())
		if err != nil {
			return false, woke, in, err
		}
		more = more || n == stageBatch
		if w.PausedAt != nil {
			out.Paused = append(out.Paused, w.ID)
			continue
		}
		wake := n > 0 || wasPaused[w.ID]
		if !in.Woken {
			pending, err := a.Store.PendingDeliveries(ctx, w.ID, 1)
			if err != nil {
				return false, woke, in, err
			}
			wake = wake || len(pending) > 0
		}
		if wake {
			if err := a.wakeWebhook(ctx, w.ID); err != nil {
				return false, woke, in, err
			}
			woke = true
		}
	}
	return more, woke, out, nil
}

func (a *Activities) wakeWebhook(ctx context.Context, id string) error {
	if a.Webhook.Starter == nil {
		return nil
	}
	in := a.Webhook.Input
	in.WebhookID = id
	_, err := a.Webhook.Starter.SignalWithStartWorkflow(ctx, WebhookWorkflowID(id), SignalWebhookWake, nil,
		client.StartWorkflowOptions{ID: WebhookWorkflowID(id), TaskQueue: activity.GetInfo(ctx).TaskQueue},
		WebhookWorkflowName, in)
	if err != nil {
		return fmt.Errorf("wake the workflow of webhook %s: %w", id, err)
	}
	return nil
}

// PendingDelivery is one event a webhook's workflow is to send.
type PendingDelivery struct {
	AuditID int64
	Subject string
}

// WebhookPending is where a webhook stands and what it is to send.
type WebhookPending struct {
	Deleted, Paused bool
	Items           []PendingDelivery
}

// PendingWebhookDeliveries reads what a webhook is to send, oldest first.
func (a *Activities) PendingWebhookDeliveries(ctx context.Context, in WebhookInput) (WebhookPending, error) {
	w, err := a.Store.WebhookByID(ctx, in.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return WebhookPending{Deleted: true}, nil
	} else if err != nil {
		return WebhookPending{}, err
	}
	out := WebhookPending{Deleted: w.DeletedAt != nil, Paused: w.PausedAt != nil}
	if !w.Active() {
		return out, nil
	}
	ds, err := a.Store.PendingDeliveries(ctx, w.ID, 200)
	for _, d := range ds {
		out.Items = append(out.Items, PendingDelivery{AuditID: d.AuditID, Subject: d.Subject})
	}
	return out, err
}

// WebhookDelivery names one event of one webhook.
type WebhookDelivery struct {
	WebhookID string
	AuditID   int64
}

// DeliverWebhook sends one event, signed, to its webhook, and records the
// attempt. What is sent is read here: the webhook, its secret and the
// audit entry, which must be its organization's and staged for it.
// Delivered before (a retry after a crash) is done; any other answer than
// 2xx fails, for Temporal to retry with backoff.
func (a *Activities) DeliverWebhook(ctx context.Context, in WebhookDelivery) error {
	w, err := a.Store.WebhookByID(ctx, in.WebhookID)
	if err != nil {
		return webhookGone(in, err)
	}
	if !w.Active() {
		return webhookGone(in, errors.New("the webhook was deleted or paused"))
	}
	d, err := a.Store.DeliveryOf(ctx, w.ID, in.AuditID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return webhookGone(in, errors.New("the event was never staged for this webhook"))
	case err != nil:
		return err
	case d.Status == store.DeliveryDelivered:
		return nil
	}
	e, err := a.Store.AuditEntryByID(ctx, in.AuditID)
	if err != nil {
		return err
	}
	if !ofOrganization(w, e.AuditEntry) { // staged only from its organization's entries; checked again
		return webhookGone(in, errors.New("the event is not the webhook's organization's"))
	}
	body, err := json.Marshal(webhook.FromEntry(e, webhook.Source(a.Config.PublicURL)))
	if err != nil {
		return err
	}
	key, err := a.webhookSecret(w)
	if err == nil {
		err = a.post(ctx, w, e.ID, key, body)
	}
	status, why := 0, ""
	var se statusError
	if errors.As(err, &se) {
		status = int(se)
	}
	if err != nil {
		why = err.Error()
	}
	if rerr := a.Store.RecordAttempt(ctx, w.ID, in.AuditID, err == nil, status, why, time.Now()); rerr != nil {
		return errors.Join(err, rerr)
	}
	a.countWebhook(map[bool]string{true: "delivered", false: "failed"}[err == nil])
	return err
}

func ofOrganization(w store.Webhook, e store.AuditEntry) bool {
	if w.OrgKind == store.KindPartner {
		return e.PartnerID == w.OrgID
	}
	return e.CustomerID == w.OrgID
}

func webhookGone(in WebhookDelivery, err error) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("webhook %s, event %d: %v", in.WebhookID, in.AuditID, err),
		ErrTypeWebhookGone, err)
}

func (a *Activities) countWebhook(outcome string) {
	if a.Webhook.Counted != nil {
		a.Webhook.Counted(outcome)
	}
}

// webhookSecret opens the webhook's sealed secret, or reads the one the
// directory file names.
func (a *Activities) webhookSecret(w store.Webhook) (string, error) {
	if w.SecretSealed != nil {
		b, err := a.Keys.Open(w.SecretSealed, webhook.SecretOwner(w.ID))
		if err != nil {
			return "", errors.New("the webhook's secret does not open with the service's key")
		}
		return string(b), nil
	}
	s, err := secret.ReadNamed(w.SecretEnv, w.SecretFile, "the webhook's secret", "the worker")
	if err == nil {
		err = webhook.CheckSecret(s)
	}
	return s, err
}

// statusError is a receiver's answer other than 2xx.
type statusError int

func (e statusError) Error() string { return fmt.Sprintf("the receiver answered HTTP %d", int(e)) }

func (a *Activities) post(ctx context.Context, w store.Webhook, id int64, key string, body []byte) error {
	if err := webhook.CheckURL(w.URL); err != nil {
		return err
	}
	h, err := webhook.Headers(key, fmt.Sprint(id), time.Now(), body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h
	req.Header.Set("User-Agent", "Partner Access webhooks")
	res, err := a.webhookClient().Do(req)
	if err != nil {
		return fmt.Errorf("post to the receiver: %s", strings.ReplaceAll(err.Error(), w.URL, "the webhook's url"))
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return statusError(res.StatusCode)
	}
	return nil
}

func (a *Activities) webhookClient() *http.Client {
	if a.Webhook.HTTPClient != nil {
		return a.Webhook.HTTPClient
	}
	return defaultWebhookClient
}

var defaultWebhookClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// WebhookPause pauses a webhook whose event could not be delivered for
// RetryFor.
type WebhookPause struct {
	WebhookID string
	AuditID   int64
	RetryFor  time.Duration
}

// PauseWebhook pauses a webhook that kept failing, audits it, and tells
// its organization's administrators, once.
func (a *Activities) PauseWebhook(ctx context.Context, in WebhookPause) error {
	w, err := a.Store.WebhookByID(ctx, in.WebhookID)
	if err != nil {
		return err
	}
	d, err := a.Store.DeliveryOf(ctx, w.ID, in.AuditID)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("event %d not delivered for %s: %s", in.AuditID, in.RetryFor, d.LastError)
	paused, err := a.Store.PauseWebhook(ctx, w.ID, in.AuditID, reason, time.Now())
	if err != nil {
		return err
	}
	if paused {
		a.countWebhook("gave_up")
	}
	key := fmt.Sprintf("webhook/paused/%s/%d", w.ID, in.AuditID)
	e := store.AuditEntry{At: time.Now(), ActorID: "system", Action: domain.ActionWebhookPaused, Outcome: store.OutcomeOK,
		Detail: "webhook " + w.ID + " paused: " + reason, EventKey: &key}
	e.InOrganization(w.OrgKind, w.OrgID)
	if err := a.Store.Audit(ctx, e); err != nil {
		return err
	}
	return a.tellWebhookPaused(ctx, w, d, in.RetryFor)
}

// tellWebhookPaused emails each active administrator of the webhook's
// organization, once per pause (the outbox's key).
func (a *Activities) tellWebhookPaused(ctx context.Context, w store.Webhook, d store.Delivery, retryFor time.Duration) error {
	org, users, err := a.organization(ctx, w.OrgKind, w.OrgID)
	if err != nil {
		return err
	}
	role := store.AdminRole(w.OrgKind)
	for _, u := range users {
		if u.Status != store.StatusActive || !u.HasRole(role) {
			continue
		}
		body, err := mail.Render(domain.EmailWebhookPaused, mail.Data{RecipientName: u.Name, OrganizationName: org,
			WebhookURL: webhook.Redact(w.URL), FailureReason: d.LastError, LinkValidFor: retryFor,
			LinkURL: strings.TrimRight(a.Config.PublicURL, "/") + "/api/v1/webhooks/" + w.ID + "/deliveries"})
		if err != nil {
			return temporal.NewNonRetryableApplicationError("render email", "RenderFailed", err)
		}
		key := fmt.Sprintf("webhook:%s/%s/%d/%s", w.ID, domain.EmailWebhookPaused, d.AuditID, strings.ToLower(u.Email))
		_, sendErr, err := outbox.Outbox{Store: a.Store, Sender: a.Mail}.Send(ctx, mail.Message{
			Kind: domain.EmailWebhookPaused, From: a.Config.MailFrom, To: mail.Address{Name: u.Name, Email: u.Email},
			Subject: body.Subject, Text: body.Text, HTML: body.HTML, Key: key,
		}, "webhook:"+w.ID)
		if err != nil && !errors.Is(err, outbox.ErrBusy) {
			return err
		}
		if sendErr != nil {
			return sendErr
		}
	}
	return nil
}

// organization is a partner's or a customer's name and users.
func (a *Activities) organization(ctx context.Context, kind, id string) (string, []store.User, error) {
	if kind == store.KindPartner {
		p, err := a.Store.PartnerByID(ctx, id)
		if err != nil {
			return "", nil, err
		}
		us, err := a.Store.PartnerUsers(ctx, id)
		return p.Name, us, err
	}
	c, err := a.Store.CustomerByID(ctx, id)
	if err != nil {
		return "", nil, err
	}
	us, err := a.Store.CustomerUsers(ctx, id)
	return c.Name, us, err
}
