package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/mail/sendgridfake"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// approvalLinkSent finds the approval link SendGrid accepted for an approver.
func approvalLinkSent(t *testing.T, e *testenv.Env, fake *sendgridfake.Fake, to string) string {
	t.Helper()
	var path string
	e.Eventually(30*time.Second, "approval request accepted for "+to, func() bool {
		for _, m := range fake.Messages() {
			if m.To == to && strings.Contains(m.Subject, "Approve access") {
				p, err := testenv.Link(store.Email{Text: m.Text}, "/approvals/")
				path = p
				return err == nil
			}
		}
		return false
	})
	return path
}

// sentOnce fails if SendGrid accepted any (kind, recipient) twice.
func sentOnce(t *testing.T, fake *sendgridfake.Fake) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, m := range fake.Messages() {
		key := m.CustomArgs["idempotency_key"]
		seen[key]++
		if seen[key] > 1 {
			t.Fatalf("%s sent twice", key)
		}
	}
	return seen
}

func hasAccess(t *testing.T, e *testenv.Env, site, user string) bool {
	t.Helper()
	_, err := e.Store.ActiveGrant(context.Background(), site, user, time.Now())
	return err == nil
}

func TestFaultSendGrid500And429ForAWhileThenEachEmailGoesOutOnce(t *testing.T) {
	fake := sendgridfake.New(t)
	fake.FailNext(3, http.StatusInternalServerError)
	fake.FailNext(3, http.StatusTooManyRequests)
	e := testenv.New(t, testenv.Options{Sender: mail.NewSendGrid(fake.Key(), fake.URL())})
	agent := e.Login("agent@partner.example")
	_, a, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 500")
	if a.ID == "" {
		t.Fatalf("assign: %s", body)
	}
	path := approvalLinkSent(t, e, fake, "admin@contoso.example")
	// Both requests out before the decision: a request still retrying once
	// the request is decided is no longer sent (its link would be dead).
	approvalLinkSent(t, e, fake, "ops@contoso.example")
	if code, _, _ := e.Anonymous().Form(path, map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	e.WaitState(a.ID, domain.StateExpired, 60*time.Second)
	e.WaitClosed(a)

	seen := sentOnce(t, fake)
	// 2 requests, the viewer's notice, the requester's copy, 2 confirmations,
	// granted to the partner user and the requester, and access ended to
	// both of them and the 3 customer users.
	if len(seen) != 13 {
		t.Fatalf("%d distinct emails accepted, want 13: %v", len(seen), seen)
	}
	if fake.Requests() != 13+6 {
		t.Fatalf("%d requests to SendGrid, want 19 (6 refused, then 13 accepted)", fake.Requests())
	}
	recs, _ := e.Store.Emails(context.Background(), store.EmailFilter{AssignmentID: a.ID})
	retried := 0
	for _, r := range recs {
		if r.Status != store.EmailSent || r.Error != "" {
			t.Fatalf("email record %s to %s: %s %q, want sent", r.Kind, r.To, r.Status, r.Error)
		}
		if r.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Fatal("no email record shows its retries")
	}
}

func TestFaultSendGrid400IsRecordedThePartnerToldAndNotRetried(t *testing.T) {
	fake := sendgridfake.New(t)
	fake.FailFor("admin@contoso.example", http.StatusBadRequest)
	fake.FailFor("ops@contoso.example", http.StatusBadRequest)
	e := testenv.New(t, testenv.Options{Sender: mail.NewSendGrid(fake.Key(), fake.URL())})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 400")
	got := e.WaitState(a.ID, domain.StateFailed, 30*time.Second)
	e.WaitClosed(a)
	if !strings.Contains(got.Failure, "could not be delivered") {
		t.Fatalf("failure %q", got.Failure)
	}
	var toPartner []sendgridfake.Message
	for _, m := range fake.Messages() {
		if m.To == "solo@partner.example" {
			toPartner = append(toPartner, m)
		}
	}
	if len(toPartner) != 1 || !strings.Contains(toPartner[0].Text, "admin@contoso.example") {
		t.Fatalf("the partner user got %+v, want one email naming the approvers not reached", toPartner)
	}
	requests := fake.Requests()
	time.Sleep(3 * time.Second) // longer than the first retry interval: nothing more may come
	// 2 refused requests, the viewer's notice, the requester's copy, the partner told.
	if fake.Requests() != requests || requests != 5 {
		t.Fatalf("%d then %d requests, want 5 and no retry of a 400", requests, fake.Requests())
	}
	failed, _ := e.Store.Emails(context.Background(), store.EmailFilter{AssignmentID: a.ID, Status: store.EmailFailed})
	if len(failed) != 2 || !strings.Contains(failed[0].Error, "400") {
		t.Fatalf("failed records %+v", failed)
	}
	if hasAccess(t, e, demo.ContosoSite, demo.Solo) {
		t.Fatal("a failed request has access")
	}
	code, page := agent.Page("/assignments/" + a.ID)
	if code != http.StatusOK || !strings.Contains(page, "could not be delivered") || !strings.Contains(page, "delivery-failed") {
		t.Fatalf("assignment page does not show the failed deliveries: %d", code)
	}
}

func TestFaultWorkerGoneDuringTheApprovalWaitLosesNothing(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case worker down")
	path := e.ApprovalPath(a.ID, "ops@contoso.example")
	e.ApprovalPath(a.ID, "admin@contoso.example")

	e.StopWorker()
	// The approval is accepted by Temporal while no worker runs...
	if code, page, _ := e.Anonymous().Form(path, map[string]string{"decision": "approve"}); code != http.StatusOK ||
		!strings.Contains(string(page), "decision was sent") {
		t.Fatalf("approve with the worker down: %d\n%s", code, page)
	}
	time.Sleep(time.Second)
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.State != domain.StatePendingApproval {
		t.Fatalf("state %s with no worker, want pending_approval", got.State)
	}
	// ...and acted on when a worker is back.
	e.StartWorker()
	active := e.WaitState(a.ID, domain.StateActive, 30*time.Second)
	if active.DecidedBy != "ops@contoso.example" {
		t.Fatalf("decided by %q", active.DecidedBy)
	}
	e.WaitState(a.ID, domain.StateExpired, 30*time.Second)
	e.WaitClosed(a)
	for _, kind := range []domain.EmailKind{domain.EmailApprovalRequest, domain.EmailApprovalConfirmation} {
		for _, to := range []string{"admin@contoso.example", "ops@contoso.example"} {
			if n := len(e.Mail(a.ID, kind, to)); n != 1 {
				t.Fatalf("%d %s emails to %s, want 1", n, kind, to)
			}
		}
	}
}

func TestFaultWorkerGoneWhenAccessEndsStillRevokesOnTime(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case worker down at expiry")
	path := e.ApprovalPath(a.ID, "admin@contoso.example")
	e.Anonymous().Form(path, map[string]string{"decision": "approve"})
	active := e.WaitState(a.ID, domain.StateActive, 30*time.Second)
	e.Eventually(10*time.Second, "granted email", func() bool { return len(e.Mail(a.ID, domain.EmailAccessGranted, "solo@partner.example")) == 1 })

	e.StopWorker()
	time.Sleep(time.Until(*active.AccessEndsAt) + 200*time.Millisecond)
	// The gateway's answer follows the grant's end even before the workflow revokes it.
	if hasAccess(t, e, demo.ContosoSite, demo.Solo) {
		t.Fatal("access still allowed after its end while the worker is down")
	}
	e.StartWorker()
	ended := e.WaitState(a.ID, domain.StateExpired, 30*time.Second)
	e.WaitClosed(a)
	g, err := e.Store.GrantByAssignment(context.Background(), a.ID)
	if err != nil || g.RevokedAt == nil {
		t.Fatalf("grant %+v %v, want revoked", g, err)
	}
	if ended.EndReason == "" || !strings.Contains(ended.EndReason, "expired") {
		t.Fatalf("end reason %q", ended.EndReason)
	}
	for _, to := range []string{"solo@partner.example", "admin@contoso.example", "ops@contoso.example", "viewer@contoso.example"} {
		if n := len(e.Mail(a.ID, domain.EmailAccessEnded, to)); n != 1 {
			t.Fatalf("%d access-ended emails to %s, want 1", n, to)
		}
	}
	if n := len(e.Mail(a.ID, domain.EmailAccessGranted, "solo@partner.example")); n != 1 {
		t.Fatalf("%d access-granted emails, want 1", n)
	}
}
