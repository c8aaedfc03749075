package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/internal/webhook"
	"github.com/partneraccess/partneraccess/internal/webhook/receiver"
	"github.com/partneraccess/partneraccess/worker"
)

// outcomes counts the delivery metric's outcomes.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) count(outcome string) { o.mu.Lock(); o.n[outcome]++; o.mu.Unlock() }

func (o *outcomes) get(outcome string) int { o.mu.Lock(); defer o.mu.Unlock(); return o.n[outcome] }

// webhookEnv is the service with the webhooks' dispatcher running, events
// looked for every 50 ms, and each event retried for retryFor.
func webhookEnv(t *testing.T, retryFor time.Duration) (*testenv.Env, *outcomes) {
	t.Helper()
	e := testenv.New(t, testenv.Options{NoWorker: true})
	o := &outcomes{n: map[string]int{}}
	e.Acts.Webhook.Input = activities.WebhookInput{RetryFor: retryFor, MaxInFlight: 4}
	e.Acts.Webhook.Poll, e.Acts.Webhook.PollEvery = 2*time.Second, 50*time.Millisecond
	e.Acts.Webhook.Counted = o.count
	e.StartWorker()
	if err := worker.EnsureWebhookDispatcher(context.Background(), e.Client, testenv.TaskQueue); err != nil {
		t.Fatal(err)
	}
	return e, o
}

type createdWebhook struct {
	ID     string   `json:"id"`
	Secret string   `json:"secret"`
	State  string   `json:"state"`
	Events []string `json:"events"`
}

func registerWebhook(t *testing.T, s *testenv.Session, url string, events ...string) createdWebhook {
	t.Helper()
	code, body := s.Do("POST", "/api/v1/webhooks", map[string]any{"url": url, "events": events})
	if code != http.StatusCreated {
		t.Fatalf("register webhook: %d %s", code, body)
	}
	var w createdWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.Secret, webhook.SecretPrefix) {
		t.Fatalf("secret %q", w.Secret)
	}
	return w
}

// approved assigns user to the Contoso site and has Casey approve it.
func approved(t *testing.T, e *testenv.Env, user, reason string) store.Assignment {
	t.Helper()
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, user, store.RolePartnerSupportAgent, reason)
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	if code, _, _ := e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	return e.WaitState(a.ID, domain.StateActive, 20*time.Second)
}

// expectedEvents are the Contoso entries a webhook of Contoso wants, after
// the entry from, as the store holds them.
func expectedEvents(t *testing.T, e *testenv.Env, from int64, types []string) []store.FeedEntry {
	t.Helper()
	es, err := e.Store.EventsAfter(context.Background(), store.OrgFilter{Kind: store.KindCustomer, ID: demo.Contoso}, from, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(es, func(x store.FeedEntry) bool { return !webhook.Wants(types, x.Action) })
}

// checkOncePerIDInOrder fails unless the receiver got each expected event,
// each ID with one body only (once, unless repeats are allowed), and each
// assignment's events in order.
func checkOncePerIDInOrder(t *testing.T, got []receiver.Delivery, want []store.FeedEntry, allowRepeats bool) {
	t.Helper()
	bodies, err := receiver.Settled(got)
	if err != nil {
		t.Fatal(err)
	}
	if !allowRepeats && len(got) != len(bodies) {
		t.Fatalf("%d deliveries of %d events: some came twice", len(got), len(bodies))
	}
	for _, w := range want {
		if _, ok := bodies[strconv.FormatInt(w.ID, 10)]; !ok {
			t.Fatalf("event %d (%s) never delivered; got %d", w.ID, w.Action, len(bodies))
		}
	}
	if len(bodies) != len(want) {
		t.Fatalf("%d events delivered, want %d", len(bodies), len(want))
	}
	for _, b := range bodies {
		var ev webhook.Event
		if err := json.Unmarshal(b, &ev); err != nil || ev.SpecVersion != "1.0" || !strings.HasPrefix(ev.Type, webhook.TypePrefix) {
			t.Fatalf("event %s: %v", b, err)
		}
	}
}

// contosoWebhook is a receiver of the test's and Contoso's webhook to it,
// with Contoso's administrator and the audit entry the webhook starts after.
func contosoWebhook(t *testing.T, e *testenv.Env) (*receiver.Receiver, createdWebhook, *testenv.Session, int64) {
	t.Helper()
	r := receiver.New()
	t.Cleanup(r.Close)
	admin := e.Login("admin@contoso.example")
	w := registerWebhook(t, admin, r.URL())
	r.SetSecret(w.Secret)
	return r, w, admin, w.cursor(t, e)
}

func TestWebhookSignedEveryEventOnceInOrderAfterAnOutage(t *testing.T) {
	e, o := webhookEnv(t, time.Minute)
	r, w, admin, from := contosoWebhook(t, e)

	// Down for a while: the first assignment's events wait, retried.
	r.Down(http.StatusServiceUnavailable)
	a1 := approved(t, e, demo.Solo, "Case 7001: outage")
	e.Eventually(20*time.Second, "failed attempts", func() bool { _, failed := r.Counts(); return failed >= 3 })
	r.Down(0)
	a2 := approved(t, e, demo.Agent, "Case 7002: after")
	e.WaitState(a1.ID, domain.StateExpired, 30*time.Second)
	e.WaitState(a2.ID, domain.StateExpired, 30*time.Second)
	e.WaitClosed(a1)
	e.WaitClosed(a2)

	var want []store.FeedEntry
	e.Eventually(30*time.Second, "every event delivered", func() bool {
		want = expectedEvents(t, e, from, nil)
		return len(r.Deliveries()) >= len(want) && len(want) > 0
	})
	checkOncePerIDInOrder(t, r.Deliveries(), want, false)
	if refused, _ := r.Counts(); refused != 0 {
		t.Fatalf("the receiver refused %d deliveries", refused)
	}
	// The receiver answers before the attempt is recorded and counted.
	e.Eventually(10*time.Second, "every delivery counted", func() bool { return o.get("delivered") == len(want) })
	if o.get("failed") < 3 || o.get("delivered") != len(want) {
		t.Fatalf("metric: %v, want ≥3 failed and %d delivered", o.n, len(want))
	}
	// Each assignment's whole story is there, requested to proven.
	for _, a := range []store.Assignment{a1, a2} {
		var actions []string
		for _, d := range r.Deliveries() {
			var ev webhook.Event
			json.Unmarshal(d.Body, &ev)
			if ev.Data.AssignmentID == a.ID {
				actions = append(actions, ev.Data.Action)
			}
		}
		for _, want := range []domain.Action{domain.ActionAssignmentRequested, domain.ActionAssignmentApproved, domain.ActionAccessExpired} {
			if !slices.Contains(actions, string(want)) {
				t.Fatalf("%s: no %s in %v", a.ID, want, actions)
			}
		}
	}

	// The deliveries are listed, with the failed attempts.
	code, body := admin.Do("GET", "/api/v1/webhooks/"+w.ID+"/deliveries", nil)
	var listed struct {
		Deliveries []struct {
			EventID  string `json:"event_id"`
			Status   string `json:"status"`
			Attempts int    `json:"attempts"`
		} `json:"deliveries"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &listed) != nil || len(listed.Deliveries) != len(want) {
		t.Fatalf("deliveries: %d %s", code, body)
	}
	retried := 0
	for _, d := range listed.Deliveries {
		if d.Status != store.DeliveryDelivered {
			t.Fatalf("delivery %s is %s", d.EventID, d.Status)
		}
		if d.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Fatal("no delivery lists the attempts of the outage")
	}
}

// cursor is the newest audit entry once the webhook is registered: it is
// sent what comes after.
func (w createdWebhook) cursor(t *testing.T, e *testenv.Env) int64 {
	t.Helper()
	h, err := e.Store.WebhookByID(context.Background(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	return h.Cursor
}

func TestWebhookSignatureTamperedOrStaleIsRefused(t *testing.T) {
	e, _ := webhookEnv(t, time.Minute)
	r := receiver.New()
	t.Cleanup(r.Close)
	w := registerWebhook(t, e.Login("admin@contoso.example"), r.URL(), "assignment.*")
	r.SetSecret(w.Secret)
	a := approved(t, e, demo.Solo, "Case 7010: signatures")
	e.Eventually(20*time.Second, "a delivery", func() bool { return len(r.Deliveries()) >= 2 })
	d := r.Deliveries()[0]
	h := http.Header{}
	h.Set("webhook-id", d.ID)
	h.Set("webhook-timestamp", d.Timestamp)
	sec, _ := strconv.ParseInt(d.Timestamp, 10, 64)
	at := time.Unix(sec, 0)
	signed, err := webhook.Headers(w.Secret, d.ID, at, d.Body)
	if err != nil {
		t.Fatal(err)
	}
	h.Set("webhook-signature", signed.Get("webhook-signature"))
	// The spec's own lines accept what was sent, and the library agrees.
	if err := receiver.Check(w.Secret, h, d.Body, at); err != nil {
		t.Fatalf("the delivery does not verify: %v", err)
	}
	if err := webhook.Verify(w.Secret, d.Body, h); err != nil && !strings.Contains(err.Error(), "too old") {
		t.Fatalf("library: %v", err)
	}
	tampered := []byte(strings.Replace(string(d.Body), a.ID, "someone-else", 1))
	if string(tampered) == string(d.Body) {
		t.Fatal("nothing to tamper with")
	}
	if err := receiver.Check(w.Secret, h, tampered, at); err == nil {
		t.Fatal("a tampered body passed the check")
	}
	if err := webhook.Verify(w.Secret, tampered, h); err == nil {
		t.Fatal("a tampered body passed the library's check")
	}
	if err := receiver.Check(w.Secret, h, d.Body, at.Add(receiver.Tolerance+time.Minute)); err == nil {
		t.Fatal("a stale delivery passed the check")
	}
	other := webhook.NewSecret()
	if err := receiver.Check(other, h, d.Body, at); err == nil {
		t.Fatal("another secret's check passed")
	}
	// Only assignment.* was asked for.
	for _, d := range r.Deliveries() {
		var ev webhook.Event
		json.Unmarshal(d.Body, &ev)
		if !strings.HasPrefix(ev.Type, "partneraccess.assignment.") {
			t.Fatalf("sent %s, not asked for", ev.Type)
		}
	}
}

func TestWebhookPausedAfterContinuedFailureThenResumed(t *testing.T) {
	e, o := webhookEnv(t, 3*time.Second)
	r, w, admin, from := contosoWebhook(t, e)
	r.Down(http.StatusInternalServerError)
	a := approved(t, e, demo.Solo, "Case 7020: pause")
	e.Eventually(30*time.Second, "the webhook paused", func() bool {
		h, err := e.Store.WebhookByID(context.Background(), w.ID)
		return err == nil && h.PausedAt != nil
	})
	if o.get("gave_up") != 1 {
		t.Fatalf("metric: %v", o.n)
	}
	// The organization's administrator is told; nobody else.
	e.Eventually(10*time.Second, "the administrator told", func() bool {
		return len(e.Mail("webhook:"+w.ID, domain.EmailWebhookPaused, "admin@contoso.example")) == 1
	})
	if n := len(e.Mail("webhook:"+w.ID, domain.EmailWebhookPaused, "")); n != 1 {
		t.Fatalf("%d pause emails, want 1 (Contoso has one administrator)", n)
	}
	code, body := admin.Do("GET", "/api/v1/webhooks", nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"state":"paused"`) {
		t.Fatalf("webhooks: %d %s", code, body)
	}
	// Mended and resumed, everything that waited goes, in order.
	r.Down(0)
	if code, body := admin.Do("POST", "/api/v1/webhooks/"+w.ID+"/resume", nil); code != http.StatusOK {
		t.Fatalf("resume: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateExpired, 30*time.Second)
	e.WaitClosed(a)
	var want []store.FeedEntry
	e.Eventually(30*time.Second, "every event after the resume", func() bool {
		want = expectedEvents(t, e, from, nil)
		return len(r.Deliveries()) >= len(want)
	})
	checkOncePerIDInOrder(t, r.Deliveries(), want, false)
}

func TestWebhookPayloadsHoldNoSecretAndNothingOfAnotherTenant(t *testing.T) {
	e, _ := webhookEnv(t, time.Minute)
	contoso, fabrikam := receiver.New(), receiver.New()
	t.Cleanup(contoso.Close)
	t.Cleanup(fabrikam.Close)
	cw := registerWebhook(t, e.Login("admin@contoso.example"), contoso.URL())
	contoso.SetSecret(cw.Secret)
	fw := registerWebhook(t, e.Login("admin@fabrikam.example"), fabrikam.URL())
	fabrikam.SetSecret(fw.Secret)
	approver := e.ApprovalPath // links with tokens go by email, never in an event
	a := approved(t, e, demo.Solo, "Case 7030: tenants")
	link := approver(a.ID, "admin@contoso.example")
	// A refused probe of Contoso's assignment by Fabrikam's administrator
	// lands in Fabrikam's log, naming no Contoso column.
	fab := e.Login("admin@fabrikam.example")
	if code, _ := fab.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "probe"}); code != http.StatusNotFound {
		t.Fatalf("probe: %d", code)
	}
	e.WaitState(a.ID, domain.StateExpired, 30*time.Second)
	e.WaitClosed(a)
	e.Eventually(30*time.Second, "Contoso's events", func() bool {
		return len(contoso.Deliveries()) >= len(expectedEvents(t, e, cw.cursor(t, e), nil))
	})
	e.Eventually(30*time.Second, "Fabrikam's refusal", func() bool { return len(fabrikam.Deliveries()) >= 1 })
	secrets := []string{cw.Secret, fw.Secret, strings.TrimPrefix(cw.Secret, webhook.SecretPrefix), demo.Password,
		link[strings.LastIndex(link, "/")+1:], testenv.GatewayToken}
	for name, r := range map[string]*receiver.Receiver{"contoso": contoso, "fabrikam": fabrikam} {
		for _, d := range r.Deliveries() {
			for _, s := range secrets {
				if strings.Contains(string(d.Body), s) {
					t.Fatalf("%s's event %s holds a secret: %s", name, d.ID, d.Body)
				}
			}
			var ev webhook.Event
			json.Unmarshal(d.Body, &ev)
			other := demo.Fabrikam
			if name == "fabrikam" {
				other = demo.Contoso
			}
			if ev.Data.CustomerID == other || (name == "fabrikam" && ev.Data.AssignmentID != "") {
				t.Fatalf("%s got another tenant's event: %s", name, d.Body)
			}
		}
	}
}
