package topology_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail/sendgridfake"
	"github.com/partneraccess/partneraccess/internal/pgtest"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/webhook/receiver"
)

// TestWebhookWorkerKilledMidDeliveryLosesNothing runs `temporal`, a server
// and a worker as processes, with a webhook of Contoso's to a receiver of
// this test's that takes its time to answer. The worker is killed (-9)
// while deliveries are in flight; a second worker takes over. Every event
// of the assignments arrives, in order per assignment, and any event that
// came twice came with the same webhook-id and body.
func TestWebhookWorkerKilledMidDeliveryLosesNothing(t *testing.T) {
	pgURL := pgtest.NewDatabase(t)
	bin := build(t)
	fake := sendgridfake.New(t)
	dir := t.TempDir()
	frontend := freeAddr(t)
	addr := freeAddr(t)
	env := func(kv ...string) map[string]string {
		m := map[string]string{
			"TEMPORAL_ADDRESS": frontend, "DATABASE_URL": pgURL, "SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
			"SENDGRID_API_KEY": fake.Key(), "SENDGRID_BASE_URL": fake.URL(), "DEMO_DATA": "false", "LOG_LEVEL": "warn",
			"ACCESS_DURATION": "6s", "APPROVAL_TIMEOUT": "10m", "APPROVAL_REMINDER": "0", "READY_WAIT": "1s",
			"EXPIRY_WARNING": "0", "PROFESSIONAL_REMINDER": "0", "DATABASE_MAX_CONNS": "4", "WEBHOOK_RETRY_FOR": "10m",
			"DATA_DIR": t.TempDir(), "PUBLIC_URL": "http://" + addr,
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	temporal := start(t, bin, dir, "temporal", "temporal", map[string]string{
		"DATA_DIR": filepath.Join(dir, "temporal"), "TEMPORAL_FRONTEND_ADDR": frontend, "TEMPORAL_UI_ADDR": freeAddr(t), "LOG_LEVEL": "warn",
	})
	temporal.waitOutput(t, "Press Ctrl-C", time.Minute)
	w1 := start(t, bin, dir, "worker-1", "worker", env("METRICS_ADDR", freeAddr(t)))
	srv := start(t, bin, dir, "server", "server", env("HTTP_ADDR", addr))
	for _, p := range []*proc{w1, srv} {
		p.waitHTTP(t, "/healthz", 90*time.Second)
	}
	c := api{t, "http://" + addr}
	c.waitReady(30 * time.Second)
	st, err := store.OpenPostgres(context.Background(), pgURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	users := loadUsers(t, st)

	r := receiver.New()
	t.Cleanup(r.Close)
	r.Hold(700 * time.Millisecond)
	admin := c.login("admin@contoso.example")
	status, body, err := c.do("POST", "/api/v1/webhooks", admin, map[string]any{"url": r.URL()})
	var hook struct{ ID, Secret string }
	if status != http.StatusCreated || json.Unmarshal(body, &hook) != nil {
		t.Fatalf("register: %d %s %v", status, body, err)
	}
	r.SetSecret(hook.Secret)
	w, err := st.WebhookByID(context.Background(), hook.ID)
	if err != nil {
		t.Fatal(err)
	}

	agent := c.login("agent@partner.example")
	var ids []string
	for _, u := range users {
		id, status := c.assign(agent, u, "Case 9100: webhooks")
		if status != http.StatusCreated {
			t.Fatalf("assign %s: %d", u, status)
		}
		ids = append(ids, id)
	}
	waitAll(t, st, ids, domain.StatePendingApproval, 30*time.Second)
	for _, id := range ids {
		c.decide(admin, id)
	}
	// Kill the worker while deliveries are being answered.
	deadline := time.Now().Add(60 * time.Second)
	for r.Active() == 0 || len(r.Deliveries()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no delivery in flight (%d delivered)", len(r.Deliveries()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := len(r.Deliveries())
	w1.kill(t)
	w2 := start(t, bin, dir, "worker-2", "worker", env("METRICS_ADDR", freeAddr(t)))
	w2.waitHTTP(t, "/healthz", 90*time.Second)
	waitAll(t, st, ids, domain.StateExpired, 90*time.Second)

	var want []store.FeedEntry
	deadline = time.Now().Add(2 * time.Minute)
	for {
		if want, err = st.EventsAfter(context.Background(), store.OrgFilter{Kind: store.KindCustomer, ID: demo.Contoso}, w.Cursor, 100000); err != nil {
			t.Fatal(err)
		}
		bodies, err := receiver.Settled(r.Deliveries())
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, e := range want {
			if _, ok := bodies[strconv.FormatInt(e.ID, 10)]; !ok {
				missing++
			}
		}
		if missing == 0 && len(want) > 0 {
			t.Logf("FIGURE %d events, %d deliveries (%d before the kill, %d repeated with the same webhook-id)",
				len(want), len(r.Deliveries()), before, len(r.Deliveries())-len(bodies))
			if len(bodies) != len(want) {
				t.Fatalf("%d events received, %d in Contoso's log", len(bodies), len(want))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never delivered after the worker was killed", missing, len(want))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if refused, _ := r.Counts(); refused != 0 {
		t.Fatalf("the receiver refused %d deliveries", refused)
	}
}
