package mail_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/mail/sendgridfake"
)

func sample() mail.Data {
	return mail.Data{
		RecipientName: "Casey", PartnerName: "Northwind Partners", PartnerUserName: "Sam Solo", PartnerUserEmail: "solo@partner.example",
		CustomerName: "Contoso", SiteName: "Contoso Sage 200 Standard", Edition: "Standard", Role: "Partner Support Agent",
		Reason: "Case 4711", AssignmentURL: "http://127.0.0.1:8080/assignments/a1", ApprovalURL: "http://127.0.0.1:8080/approvals/TOKEN",
		CredentialURL: "http://127.0.0.1:8080/credentials/a1", AVDDownloadURL: "https://avd.example/download",
		Decision: "approved", DecidedBy: "admin@contoso.example", AccessEndsAt: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC),
		ApprovalDeadline: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), EndReason: "access expired after 3 days",
		ReadyAfter: 15 * time.Minute, ExtensionDuration: 24 * time.Hour, ExtensionReason: "more tests",
		ExtensionRequestedBy: "solo@partner.example", PreviousEndsAt: time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC),
		Remaining: 12 * time.Hour, ActiveFor: 7 * 24 * time.Hour, FailedRecipient: "admin@contoso.example", FailureReason: "invalid address",
		StartsAt: time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC), Approvals: "1 of 2 approvals: Casey Contoso",
	}
}

func TestEveryKindRendersTheReasonSiteAndItsOwnField(t *testing.T) {
	wants := map[domain.EmailKind]string{
		domain.EmailApprovalRequest:      "/approvals/TOKEN",
		domain.EmailApprovalReminder:     "/approvals/TOKEN",
		domain.EmailApprovalConfirmation: "approved",
		domain.EmailAccessGranted:        "Fri 27 Nov 2026 09:30 UTC",
		domain.EmailAccessDenied:         "denied",
		domain.EmailApprovalExpired:      "Tue 1 Dec 2026 09:00 UTC",
		domain.EmailRequestWithdrawn:     "withdrawn",
		domain.EmailAccessEnded:          "access expired after 3 days",
		domain.EmailProfessionalNotice:   "Professional",
		domain.EmailAVDInstructions:      "https://avd.example/download",
		domain.EmailCredentialLink:       "/credentials/a1",
		domain.EmailReadyToLogIn:         "set up",
		domain.EmailDeliveryFailed:       "invalid address",
		domain.EmailCustomerNotice:       "Tue 1 Dec 2026 09:00 UTC",
		domain.EmailRequestSent:          "approvers",
		domain.EmailExpiryWarning:        "12 hours",
		domain.EmailExtensionRequest:     "/approvals/TOKEN",
		domain.EmailExtensionGranted:     "Fri 27 Nov 2026 09:30 UTC",
		domain.EmailExtensionDenied:      "1 day",
		domain.EmailProfessionalReminder: "7 days",
		domain.EmailAccessFailed:         "invalid address",
		domain.EmailAccessScheduled:      "Sat 28 Nov 2026 06:00 UTC",
	}
	if len(wants)+len(userKinds) != len(domain.EmailKinds) {
		t.Fatalf("%d kinds tested, %d exist", len(wants)+len(userKinds), len(domain.EmailKinds))
	}
	for _, kind := range domain.EmailKinds {
		if _, ok := userKinds[kind]; ok {
			continue // no assignment: TestUserLifecycleEmailsSpeakToTheReader
		}
		t.Run(string(kind), func(t *testing.T) {
			r, err := mail.Render(kind, sample())
			if err != nil {
				t.Fatal(err)
			}
			for _, part := range []struct{ name, body string }{{"subject", r.Subject}, {"text", r.Text}, {"html", r.HTML}} {
				if !strings.Contains(part.body, "Case 4711") {
					t.Errorf("%s lacks the reason (R9): %s", part.name, part.body)
				}
			}
			for _, part := range []string{r.Text, r.HTML} {
				if !strings.Contains(part, "Contoso Sage 200 Standard") || !strings.Contains(part, wants[kind]) {
					t.Errorf("body lacks the site or %q:\n%s", wants[kind], part)
				}
			}
		})
	}
	if _, err := mail.Render("nonsense", sample()); err == nil {
		t.Fatal("unknown kind rendered")
	}
}

// userKinds are the emails of the user lifecycle, with what each must say.
var userKinds = map[domain.EmailKind][]string{
	domain.EmailInvitation:    {"Ada Admin has invited you", "Northwind Partners", "/register/TOKEN", "7 days", "Sun 1 Nov 2026 09:00 UTC", "ivy@partner.example", "Partner Support Agent"},
	domain.EmailWebhookPaused: {"https://siem.example/hook", "Northwind Partners", "7 days", "HTTP 503", "Nothing is lost", "/webhooks/TOKEN"},
	domain.EmailPasswordReset: {"reset the password", "/reset/TOKEN", "1 hour", "Sun 1 Nov 2026 09:00 UTC", "logs you out everywhere", "ignore this email"},
	// Reviews and a permission's end (SPEC §15): an organization's, not an assignment's.
	domain.EmailReviewRequest:    {"Northwind Partners", "/register/TOKEN", "Sun 1 Nov 2026 09:00 UTC", "3 to decide"},
	domain.EmailReviewReminder:   {"Northwind Partners", "/register/TOKEN", "Sun 1 Nov 2026 09:00 UTC", "3 to decide"},
	domain.EmailReviewRemoved:    {"Northwind Partners", "Your account was suspended", "nobody confirmed it"},
	domain.EmailPermissionEnding: {"Northwind Partners", "Contoso", "/register/TOKEN", "Sun 1 Nov 2026 09:00 UTC", "Renew"},
	domain.EmailPermissionLapsed: {"Northwind Partners", "Contoso", "Sun 1 Nov 2026 09:00 UTC", "has been ended (R1)"},
}

func TestUserLifecycleEmailsSpeakToTheReader(t *testing.T) {
	d := mail.Data{RecipientName: "Ivy", RecipientEmail: "ivy@partner.example", OrganizationName: "Northwind Partners",
		InvitedBy: "Ada Admin", Roles: "Partner Support Agent", LinkExpiresAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		PartnerName: "Northwind Partners", CustomerName: "Contoso", Pending: 3, Removed: "Your account was suspended", EndReason: "nobody confirmed it"}
	for kind, wants := range userKinds {
		t.Run(string(kind), func(t *testing.T) {
			d := d
			d.LinkURL, d.LinkValidFor = "http://127.0.0.1:8080/register/TOKEN", 168*time.Hour
			switch kind {
			case domain.EmailPasswordReset:
				d.LinkURL, d.LinkValidFor = "http://127.0.0.1:8080/reset/TOKEN", time.Hour
			case domain.EmailWebhookPaused:
				d.LinkURL, d.WebhookURL, d.FailureReason = "http://127.0.0.1:8080/api/v1/webhooks/TOKEN/deliveries", "https://siem.example/hook", "HTTP 503"
			}
			r, err := mail.Render(kind, d)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject == "" || !strings.HasPrefix(r.Text, "Hello Ivy,") || !strings.Contains(r.HTML, "Hello Ivy,") {
				t.Fatalf("subject %q, text %q", r.Subject, r.Text)
			}
			for _, want := range wants {
				if !strings.Contains(r.Text, want) || !strings.Contains(r.HTML, want) {
					t.Errorf("%s lacks %q:\n%s\n%s", kind, want, r.Text, r.HTML)
				}
			}
		})
	}
}

func TestHTMLEscapesWhatUsersTyped(t *testing.T) {
	d := sample()
	d.Reason = `<script>alert("x")</script>`
	r, err := mail.Render(domain.EmailApprovalRequest, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || !strings.Contains(r.HTML, "&lt;script&gt;") {
		t.Fatalf("reason not escaped in HTML:\n%s", r.HTML)
	}
}

// TestEmailsSpeakToTheReader: whoever did the thing an email reports, or is
// the subject of it, reads "you", not their own name or address.
func TestEmailsSpeakToTheReader(t *testing.T) {
	cases := []struct {
		name     string
		kind     domain.EmailKind
		edit     func(*mail.Data)
		want     string
		dontWant string
	}{
		{"the approver who decided", domain.EmailApprovalConfirmation, func(d *mail.Data) { d.ReaderDecided = true },
			"You have approved", "admin@contoso.example has approved"},
		{"another approver", domain.EmailApprovalConfirmation, func(d *mail.Data) { d.ForRequester = true },
			"admin@contoso.example has approved", "You have"},
		{"the partner user whose access ended", domain.EmailAccessEnded, func(*mail.Data) {},
			"You no longer have access", "Sam Solo no longer"},
		{"a customer user told of the end", domain.EmailAccessEnded, func(d *mail.Data) { d.ForRequester = true },
			"Sam Solo no longer has access", "You no longer"},
		{"the partner user whose request lapsed", domain.EmailApprovalExpired, func(*mail.Data) {},
			"the request for you to reach", "request for Sam Solo"},
		{"the partner user granted access, told how to connect", domain.EmailAccessGranted, func(*mail.Data) {},
			"You can connect now: open Azure Virtual Desktop", "Azure Active Directory"},
		{"the credential link names Entra ID", domain.EmailCredentialLink, func(*mail.Data) {},
			"Microsoft Entra ID", "Azure Active Directory"},
		{"AVD instructions give a human wait", domain.EmailAVDInstructions, func(*mail.Data) {},
			"about 15 minutes", "15m0s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := sample()
			tc.edit(&d)
			r, err := mail.Render(tc.kind, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, body := range []string{r.Text, r.HTML} {
				if !strings.Contains(body, tc.want) || strings.Contains(body, tc.dontWant) {
					t.Errorf("want %q and not %q in:\n%s", tc.want, tc.dontWant, body)
				}
			}
		})
	}
}

func TestInvitationByTheOperatorStartsWithACapital(t *testing.T) {
	d := sample()
	d.InvitedBy, d.OrganizationName = "the Partner Access operator", "Contoso"
	r, err := mail.Render(domain.EmailInvitation, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Subject, "The Partner Access operator invites you") || !strings.Contains(r.Text, "\nThe Partner Access operator has invited you") ||
		!strings.Contains(r.HTML, "<p>The Partner Access operator has invited you") || !strings.Contains(r.Text, "ask the Partner Access operator for a new one") {
		t.Fatalf("subject %q\n%s\n%s", r.Subject, r.Text, r.HTML)
	}
}

func msg() mail.Message {
	return mail.Message{Kind: domain.EmailAccessGranted, From: mail.Address{Name: "Partner Access", Email: "pa@example.com"},
		To: mail.Address{Name: "Sam", Email: "solo@partner.example"}, Subject: "Hi", Text: "text body", HTML: "<p>html body</p>", Key: "a1/access_granted/solo@partner.example"}
}

func TestSendGridRequestBodyAndAuth(t *testing.T) {
	fake := sendgridfake.New(t)
	id, err := mail.NewSendGrid(fake.Key(), fake.URL()).Send(context.Background(), msg())
	if err != nil {
		t.Fatal(err)
	}
	if id != "fake-1" {
		t.Fatalf("provider id %q, want the X-Message-Id", id)
	}
	got := fake.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	m := got[0]
	if m.From != "pa@example.com" || m.To != "solo@partner.example" || m.Subject != "Hi" || m.Text != "text body" || m.HTML != "<p>html body</p>" ||
		m.CustomArgs["idempotency_key"] != "a1/access_granted/solo@partner.example" || len(m.Categories) != 1 {
		t.Fatalf("message as received: %+v", m)
	}
	if _, err := mail.NewSendGrid("SG.wrong", fake.URL()).Send(context.Background(), msg()); !mail.IsPermanent(err) || strings.Contains(err.Error(), "SG.wrong") {
		t.Fatalf("wrong key: %v, want a permanent error without the key", err)
	}
}

func TestSendGridErrorMapping(t *testing.T) {
	cases := []struct {
		status    int
		permanent bool
	}{{400, true}, {401, true}, {403, true}, {413, true}, {429, false}, {500, false}, {502, false}, {503, false}}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			fake := sendgridfake.New(t)
			fake.FailNext(1, tc.status)
			_, err := mail.NewSendGrid(fake.Key(), fake.URL()).Send(context.Background(), msg())
			var d *mail.DeliveryError
			if !errors.As(err, &d) || d.Status != tc.status || d.Permanent != tc.permanent || mail.IsPermanent(err) != tc.permanent {
				t.Fatalf("got %#v, want status %d permanent %v", err, tc.status, tc.permanent)
			}
			if !strings.Contains(err.Error(), "scripted failure") || strings.Contains(err.Error(), fake.Key()) {
				t.Fatalf("message %q: want SendGrid's reason and no key", err)
			}
		})
	}
}

func TestSendGridHonoursCancellation(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-block
	}))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := mail.NewSendGrid("SG.key", srv.URL).Send(ctx, msg())
	if err == nil || mail.IsPermanent(err) || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %v, want a prompt retryable error", err, time.Since(start))
	}
}

func TestSendGridErrorBodyWithoutJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "plain failure")
	}))
	defer srv.Close()
	_, err := mail.NewSendGrid("SG.key", srv.URL).Send(context.Background(), msg())
	if !mail.IsPermanent(err) || !strings.Contains(err.Error(), "plain failure") {
		t.Fatalf("got %v", err)
	}
}

// A reminder of a request that needs several approvals says how far it has
// come (R10), in both bodies; one that needs one says nothing of it.
func TestReminderSaysTheApprovalsSoFar(t *testing.T) {
	d := sample()
	r, err := mail.Render(domain.EmailApprovalReminder, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "1 of 2 approvals: Casey Contoso") || !strings.Contains(r.HTML, "1 of 2 approvals: Casey Contoso") {
		t.Fatalf("reminder without the progress:\n%s", r.Text)
	}
	d.Approvals = ""
	if r, _ := mail.Render(domain.EmailApprovalReminder, d); strings.Contains(r.Text, "approvals:") {
		t.Fatalf("a one-approval reminder speaks of approvals:\n%s", r.Text)
	}
}
