package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/webhook"
)

// webhookAdmin lets only an active administrator of the user's own
// organization manage its webhooks.
func webhookAdmin(u store.User) error {
	role := store.AdminRole(u.Kind)
	if u.Status != store.StatusActive || !u.HasRole(role) {
		return problem.Forbidden("R6", "only an active %s can manage the organization's webhooks", role)
	}
	return nil
}

// MaxWebhooks bounds an organization's webhooks.
const MaxWebhooks = 10

// NewWebhook is a webhook just registered, with its secret, which is
// shown this once.
type NewWebhook struct {
	store.Webhook
	Secret string
}

// CreateWebhook registers a webhook of the administrator's organization:
// url (https, or http to loopback) and the event types it is sent (none:
// every one). The secret is made here and kept only sealed.
func (s *Service) CreateWebhook(ctx context.Context, u store.User, rawURL string, events []string) (NewWebhook, error) {
	refused := func(err error) (NewWebhook, error) {
		return NewWebhook{}, s.refuse(ctx, refusal{Actor: &u, Action: domain.ActionWebhookRefused}, err)
	}
	if err := webhookAdmin(u); err != nil {
		return refused(err)
	}
	if err := webhook.CheckURL(rawURL); err != nil {
		return refused(problem.Invalid("url", "%s", err))
	}
	types, err := webhook.ParseTypes(events)
	if err != nil {
		return refused(problem.Invalid("events", "%s", err))
	}
	org := orgOf(u)
	existing, err := s.store.Webhooks(ctx, org.Kind, org.ID)
	if err != nil {
		return NewWebhook{}, err
	}
	if len(existing) >= MaxWebhooks {
		return refused(problem.Conflict("an organization may have at most %d webhooks; delete one first", MaxWebhooks))
	}
	w := NewWebhook{Secret: webhook.NewSecret()}
	w.Webhook = store.Webhook{ID: "wh_" + secret.NewToken()[:20], OrgKind: org.Kind, OrgID: org.ID, URL: rawURL,
		Events: strings.Join(types, ","), Source: store.WebhookFromAPI, CreatedBy: u.ID, CreatedAt: s.now()}
	w.SecretSealed = s.keys.Seal([]byte(w.Secret), webhook.SecretOwner(w.ID))
	if err := s.store.CreateWebhook(ctx, w.Webhook); err != nil {
		return NewWebhook{}, err
	}
	s.auditWebhook(ctx, u, domain.ActionWebhookCreated, w.Webhook)
	return w, nil
}

// auditWebhook records a change to a webhook in its organization's log;
// the address without its query, which may hold a receiver's token.
func (s *Service) auditWebhook(ctx context.Context, u store.User, action domain.Action, w store.Webhook) {
	e := store.AuditEntry{At: s.now(), ActorID: u.ID, Action: action, Outcome: store.OutcomeOK,
		Detail: "webhook " + w.ID + " to " + webhook.Redact(w.URL)}
	e.InOrganization(w.OrgKind, w.OrgID)
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), e))
}

// Webhooks lists the administrator's organization's webhooks.
func (s *Service) Webhooks(ctx context.Context, u store.User) ([]store.Webhook, error) {
	if err := webhookAdmin(u); err != nil {
		return nil, s.refuse(ctx, refusal{Actor: &u, Action: domain.ActionWebhookRefused}, err)
	}
	org := orgOf(u)
	return s.store.Webhooks(ctx, org.Kind, org.ID)
}

// visibleWebhook is a webhook of the administrator's organization, else
// not found (another tenant's is not there for it).
func (s *Service) visibleWebhook(ctx context.Context, u store.User, id string) (store.Webhook, error) {
	err := webhookAdmin(u)
	var w store.Webhook
	if err == nil {
		w, err = s.store.WebhookByID(ctx, id)
		org := orgOf(u)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (w.OrgKind != org.Kind || w.OrgID != org.ID || w.DeletedAt != nil)) {
			err = problem.NotFound("id", "no webhook %q", id)
		}
	}
	if err != nil {
		return w, s.refuse(ctx, refusal{Actor: &u, Action: domain.ActionWebhookRefused, Hidden: fmt.Sprintf("webhook %q", clip(id))}, err)
	}
	return w, nil
}

// DeleteWebhook stops a webhook; its deliveries stay listed. One from the
// directory file is changed there.
func (s *Service) DeleteWebhook(ctx context.Context, u store.User, id string) error {
	w, err := s.visibleWebhook(ctx, u, id)
	if err != nil {
		return err
	}
	if w.Source == store.WebhookFromDirectory {
		return s.refuse(ctx, refusal{Actor: &u, Action: domain.ActionWebhookRefused},
			problem.Conflict("webhook %s comes from the directory file; remove it there and apply the file", w.ID))
	}
	deleted, err := s.store.DeleteWebhook(ctx, w.ID, s.now())
	if err == nil && deleted {
		s.auditWebhook(ctx, u, domain.ActionWebhookDeleted, w)
	}
	return err
}

// ResumeWebhook lifts the pause of a webhook that kept failing; what is
// pending goes out again.
func (s *Service) ResumeWebhook(ctx context.Context, u store.User, id string) (store.Webhook, error) {
	w, err := s.visibleWebhook(ctx, u, id)
	if err != nil {
		return w, err
	}
	resumed, err := s.store.ResumeWebhook(ctx, w.ID)
	if err != nil {
		return w, err
	}
	if resumed {
		s.auditWebhook(ctx, u, domain.ActionWebhookResumed, w)
	}
	return s.store.WebhookByID(ctx, w.ID)
}

// WebhookDeliveries lists a webhook's deliveries, newest first, before the
// event before (0: from the newest).
func (s *Service) WebhookDeliveries(ctx context.Context, u store.User, id string, before int64, limit int) (store.Webhook, []store.Delivery, error) {
	w, err := s.visibleWebhook(ctx, u, id)
	if err != nil {
		return w, nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	ds, err := s.store.Deliveries(ctx, w.ID, before, limit)
	return w, ds, err
}
