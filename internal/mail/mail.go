// Package mail renders the service's emails from templates and sends them
// through SendGrid (docs/workflow.md lists them). Without an API key the activities keep emails
// in the store's local mailbox instead.
package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"
)

// Address is a named email address.
type Address struct{ Name, Email string }

// Message is one rendered email to one recipient.
type Message struct {
	Kind    Kind
	From    Address
	To      Address
	Subject string
	Text    string
	HTML    string
	// Key is the idempotency key (assignment, kind, recipient); it goes to
	// SendGrid as a custom arg so deliveries can be correlated.
	Key string
}

// Sender delivers a message and returns the provider's message ID.
type Sender interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
}

// DeliveryError is a message the provider did not accept.
type DeliveryError struct {
	Status    int  // HTTP status, 0 for a network error
	Permanent bool // retrying will not help (4xx except 429)
	Message   string
}

func (e *DeliveryError) Error() string {
	if e.Status == 0 {
		return "email provider unreachable: " + e.Message
	}
	return fmt.Sprintf("email provider answered %d: %s", e.Status, e.Message)
}

// IsPermanent reports whether err is a delivery refusal that retrying will not change.
func IsPermanent(err error) bool {
	var d *DeliveryError
	return errors.As(err, &d) && d.Permanent
}

// SendGrid sends through the SendGrid v3 mail/send API.
type SendGrid struct {
	key    string
	host   string
	client *rest.Client
}

// NewSendGrid returns a sender for apiKey; baseURL "" is SendGrid's API.
func NewSendGrid(apiKey, baseURL string) *SendGrid {
	return &SendGrid{
		key: apiKey, host: strings.TrimRight(baseURL, "/"),
		client: &rest.Client{HTTPClient: &http.Client{Timeout: 20 * time.Second}},
	}
}

// Send posts one message. 4xx answers other than 429 are permanent; 429,
// 5xx and network errors are not, so the caller retries them.
func (s *SendGrid) Send(ctx context.Context, m Message) (string, error) {
	msg := sgmail.NewV3Mail()
	msg.SetFrom(sgmail.NewEmail(m.From.Name, m.From.Email))
	msg.Subject = m.Subject
	p := sgmail.NewPersonalization()
	p.AddTos(sgmail.NewEmail(m.To.Name, m.To.Email))
	msg.AddPersonalizations(p)
	msg.AddContent(sgmail.NewContent("text/plain", m.Text), sgmail.NewContent("text/html", m.HTML))
	if m.Key != "" {
		msg.SetCustomArg("idempotency_key", m.Key)
	}
	if m.Kind != "" {
		msg.AddCategories(string(m.Kind))
	}
	req := sendgrid.GetRequest(s.key, "/v3/mail/send", s.host)
	req.Method = rest.Post
	req.Body = sgmail.GetRequestBody(msg)
	resp, err := s.client.SendWithContext(ctx, req)
	if err != nil { // network, timeout or cancellation: worth retrying
		return "", &DeliveryError{Message: redact(err.Error(), s.key)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return firstHeader(resp.Headers, "X-Message-Id"), nil
	}
	return "", &DeliveryError{
		Status:    resp.StatusCode,
		Permanent: resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests,
		Message:   redact(errorText(resp.Body), s.key),
	}
}

// errorText pulls SendGrid's messages out of its error body.
func errorText(body string) string {
	var doc struct {
		Errors []struct {
			Message string  `json:"message"`
			Field   *string `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &doc) != nil || len(doc.Errors) == 0 {
		if len(body) > 200 {
			body = body[:200]
		}
		return strings.TrimSpace(body)
	}
	var parts []string
	for _, e := range doc.Errors {
		if e.Field != nil && *e.Field != "" {
			parts = append(parts, *e.Field+": "+e.Message)
		} else {
			parts = append(parts, e.Message)
		}
	}
	return strings.Join(parts, "; ")
}

func redact(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[redacted]")
}

func firstHeader(h map[string][]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
