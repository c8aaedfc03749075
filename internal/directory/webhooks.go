package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/webhook"
)

// Webhook is an address of the organization's to which its events are
// sent (SPEC §15). The secret is never in the file: SecretEnv or
// SecretFile names where the worker reads it (whsec_ and base64).
type Webhook struct {
	URL        string   `yaml:"url"`
	SecretEnv  string   `yaml:"secret_env"`
	SecretFile string   `yaml:"secret_file"`
	Events     []string `yaml:"events"`
}

const kindWebhook = "webhook"

// webhooks checks an organization's webhooks: each an https address (http
// only to loopback) listed once, one place to read its secret, and event
// types that exist in form.
func (c *checker) webhooks(path string, ws []Webhook) {
	seen := map[string]bool{}
	for i, w := range ws {
		wp := fmt.Sprintf("%s.webhooks[%d]", path, i)
		if err := webhook.CheckURL(w.URL); err != nil {
			c.bad(wp+".url", "%s", err)
		} else if seen[w.URL] {
			c.bad(wp+".url", "%s is listed twice", w.URL)
		}
		seen[w.URL] = true
		c.namedSecret(wp, secretNames{what: "secret (whsec_ and base64)", field: "secret", process: "worker", itself: "secret",
			example: "CONTOSO_WEBHOOK_SECRET"}, w.SecretEnv, w.SecretFile)
		if _, err := webhook.ParseTypes(w.Events); err != nil {
			c.bad(wp+".events", "%s", err)
		}
	}
}

// directoryWebhookID is the ID of a webhook of the file: the same for
// the same organization and address, so applying again finds it.
func directoryWebhookID(kind, orgID, url string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + orgID + "\x00" + url))
	return "wh_dir_" + hex.EncodeToString(h[:10])
}

// webhooks plans an organization's webhooks from the file: added, changed
// (events or where the secret is read, which lifts a pause) or removed
// when no longer listed. Those made through the API are left alone.
func (pl *plan) webhooks(ctx context.Context, st Reader, kind, orgID string, ws []Webhook, partnerID, customerID string) error {
	old, err := st.Webhooks(ctx, kind, orgID)
	if err != nil {
		return err
	}
	had := map[string]store.Webhook{}
	for _, w := range old {
		if w.Source == store.WebhookFromDirectory {
			had[w.ID] = w
		}
	}
	for _, w := range ws {
		types, _ := webhook.ParseTypes(w.Events)
		want := store.Webhook{ID: directoryWebhookID(kind, orgID, w.URL), OrgKind: kind, OrgID: orgID, URL: w.URL,
			Events: strings.Join(types, ","), SecretEnv: w.SecretEnv, SecretFile: w.SecretFile, Source: store.WebhookFromDirectory,
			CreatedBy: Actor}
		prev, exists := had[want.ID]
		delete(had, want.ID)
		if exists && prev.Events == want.Events && prev.SecretEnv == want.SecretEnv && prev.SecretFile == want.SecretFile && prev.PausedAt == nil {
			pl.keep(kindWebhook)
			continue
		}
		pl.add(func(ctx context.Context, a *applier) error {
			detail := fmt.Sprintf("%s %s: webhook %s to %s, secret from %s", kind, orgID, want.ID, webhook.Redact(want.URL),
				secretSource(store.Target{SecretEnv: want.SecretEnv, SecretFile: want.SecretFile}))
			if exists {
				a.report.Webhooks.Updated++
				if err := a.st.UpdateDirectoryWebhook(ctx, want); err != nil {
					return err
				}
				return a.audit(ctx, domain.ActionWebhookCreated, partnerID, customerID, "", detail+" (changed)")
			}
			a.report.Webhooks.Created++
			want.CreatedAt = a.now()
			if err := a.st.CreateWebhook(ctx, want); err != nil {
				return err
			}
			return a.audit(ctx, domain.ActionWebhookCreated, partnerID, customerID, "", detail)
		})
	}
	gone := make([]store.Webhook, 0, len(had))
	for _, w := range had {
		gone = append(gone, w)
	}
	slices.SortFunc(gone, func(a, b store.Webhook) int { return strings.Compare(a.ID, b.ID) })
	for _, w := range gone {
		pl.add(func(ctx context.Context, a *applier) error {
			a.report.Webhooks.Updated++
			if _, err := a.st.DeleteWebhook(ctx, w.ID, a.now()); err != nil {
				return err
			}
			return a.audit(ctx, domain.ActionWebhookDeleted, partnerID, customerID, "",
				fmt.Sprintf("%s %s: webhook %s to %s, no longer in the file", kind, orgID, w.ID, webhook.Redact(w.URL)))
		})
	}
	return nil
}
