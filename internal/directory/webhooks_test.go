package directory_test

import (
	"context"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/store"
)

const withWebhooks = `partners:
  - id: northwind
    name: Northwind Partners
    webhooks:
      - {url: "https://siem.northwind.example/hooks", secret_env: NORTHWIND_WEBHOOK_SECRET}
    customers:
      - id: contoso
        name: Contoso
        webhooks:
          - url: https://siem.contoso.example/partner-access
            secret_file: /run/secrets/contoso-webhook
            events: [partneraccess.assignment.approved, "access.*"]
        sites:
          - {id: contoso-standard, name: Contoso Sage 200 Standard, edition: standard}
`

func TestApplyWebhooksAddsKeepsChangesAndRemoves(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r, err := apply(t, st, withWebhooks, directory.Options{})
		if err != nil || r.Webhooks.Created != 2 {
			t.Fatalf("apply: %+v %v", r.Webhooks, err)
		}
		ws, _ := st.Webhooks(ctx, store.KindCustomer, "contoso")
		if len(ws) != 1 || ws[0].Events != "assignment.approved,access.*" || ws[0].SecretFile != "/run/secrets/contoso-webhook" ||
			ws[0].SecretSealed != nil || ws[0].Source != store.WebhookFromDirectory {
			t.Fatalf("contoso's webhooks: %+v", ws)
		}
		if r, err := apply(t, st, withWebhooks, directory.Options{}); err != nil || r.Webhooks.Unchanged != 2 || r.Webhooks.Created+r.Webhooks.Updated != 0 {
			t.Fatalf("again: %+v %v", r.Webhooks, err)
		}
		changed := strings.Replace(withWebhooks, `events: [partneraccess.assignment.approved, "access.*"]`, `events: ["*"]`, 1)
		changed = strings.Replace(changed, `      - {url: "https://siem.northwind.example/hooks", secret_env: NORTHWIND_WEBHOOK_SECRET}
`, "", 1)
		changed = strings.Replace(changed, "    webhooks:\n    customers:", "    customers:", 1)
		if r, err := apply(t, st, changed, directory.Options{}); err != nil || r.Webhooks.Updated != 2 {
			t.Fatalf("changed: %+v %v", r.Webhooks, err)
		}
		if ws, _ := st.Webhooks(ctx, store.KindPartner, "northwind"); len(ws) != 0 {
			t.Fatalf("the removed webhook stays: %+v", ws)
		}
		if ws, _ := st.Webhooks(ctx, store.KindCustomer, "contoso"); len(ws) != 1 || ws[0].Events != "" {
			t.Fatalf("contoso's webhook after the change: %+v", ws)
		}
		log, _ := st.AuditLog(ctx, store.AuditFilter{PartnerID: "northwind", Limit: 1000})
		for _, l := range log {
			if strings.Contains(l.Detail, "siem.contoso.example") {
				t.Fatalf("the partner's log holds the customer's webhook: %s", l.Detail)
			}
		}
	})
}

func TestBadWebhooksAreRefusedWithWhere(t *testing.T) {
	for _, tc := range []struct{ hook, want string }{
		{`{url: "http://siem.example/h", secret_env: S}`, "webhooks[0].url"},
		{`{url: "https://siem.example/h"}`, "names no secret"},
		{`{url: "https://siem.example/h", secret_env: S, secret_file: /s}`, "not both"},
		{`{url: "https://siem.example/h", secret_env: lower}`, "environment variable"},
		{`{url: "https://siem.example/h", secret_file: relative/s}`, "absolute path"},
		{`{url: "https://siem.example/h", secret_env: S, events: ["Approved!"]}`, "webhooks[0].events"},
	} {
		text := "partners:\n  - id: northwind\n    name: Northwind\n    webhooks:\n      - " + tc.hook + "\n"
		f, err := directory.Parse([]byte(text))
		if err == nil {
			err = f.Check()
			if len(f.Check()) == 0 {
				err = nil
			}
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.hook, err, tc.want)
		}
	}
}
