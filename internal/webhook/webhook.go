// Package webhook is what the events feed and the webhooks share (SPEC
// §15): an audit entry as a CloudEvents 1.0 event, the event types an
// endpoint asks for, the endpoints' addresses and secrets, and the
// signature of the Standard Webhooks specification.
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// TypePrefix starts every event type: partneraccess.assignment.approved.
const TypePrefix = "partneraccess."

// Event is one audit entry as a CloudEvents 1.0 event, in its JSON form.
type Event struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Time            string `json:"time"`
	Subject         string `json:"subject,omitempty"`
	DataContentType string `json:"datacontenttype"`
	Data            Data   `json:"data"`
}

// Data is what an event says: the audit entry's own columns, which hold
// only what its organization may see (the store puts an attempt on
// another tenant in the attempter's rows, naming it only in the detail),
// and never a password, token or secret: no writer puts one in the log.
type Data struct {
	Action       string `json:"action"`
	Outcome      string `json:"outcome"`
	ActorID      string `json:"actor_id"`
	ActorName    string `json:"actor_name,omitempty"`
	AssignmentID string `json:"assignment_id,omitempty"`
	SiteID       string `json:"site_id,omitempty"`
	CustomerID   string `json:"customer_id,omitempty"`
	PartnerID    string `json:"partner_id,omitempty"`
	Detail       string `json:"detail,omitempty"`
	// Via is the channel a decision came through (email, page, teams, slack).
	Via string `json:"via,omitempty"`
}

// Source is the events' source: the service's public address.
func Source(publicURL string) string { return strings.TrimRight(publicURL, "/") + "/api/v1/events" }

// FromEntry is the event of an audit entry. Its ID is the entry's, the
// cursor of the feed and the webhook-id of every delivery of it.
func FromEntry(e store.FeedEntry, source string) Event {
	return Event{
		SpecVersion: "1.0", ID: strconv.FormatInt(e.ID, 10), Source: source, Type: Type(e.Action),
		Time: e.At.UTC().Format(time.RFC3339Nano), Subject: store.Subject(e.AuditEntry), DataContentType: "application/json",
		Data: Data{Action: string(e.Action), Outcome: e.Outcome, ActorID: e.ActorID, ActorName: e.ActorName,
			AssignmentID: e.AssignmentID, SiteID: e.SiteID, CustomerID: e.CustomerID, PartnerID: e.PartnerID, Detail: e.Detail, Via: e.Via},
	}
}

// Type is an action's event type.
func Type(a domain.Action) string { return TypePrefix + string(a) }

// ParseTypes checks the event types an endpoint asks for and returns them
// without the prefix, as the store keeps them: an action
// ("assignment.approved", with or without "partneraccess."), every action
// of a kind ("assignment.*"), or "*" for all (as is an empty list).
func ParseTypes(types []string) ([]string, error) {
	out := make([]string, 0, len(types))
	for _, t := range types {
		t = strings.TrimPrefix(strings.TrimSpace(t), TypePrefix)
		if t == "*" {
			return nil, nil
		}
		kind, rest, ok := strings.Cut(t, ".")
		if !ok || !validName(kind) || (rest != "*" && !validName(rest)) {
			return nil, fmt.Errorf("event type %q is not an action such as assignment.approved, a kind such as assignment.*, or *", t)
		}
		out = append(out, t)
	}
	return out, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}

// Wants reports whether an endpoint asking for types (ParseTypes; none is
// every one) is sent action.
func Wants(types []string, a domain.Action) bool {
	if len(types) == 0 {
		return true
	}
	kind, _, _ := strings.Cut(string(a), ".")
	for _, t := range types {
		if t == string(a) || t == kind+".*" {
			return true
		}
	}
	return false
}

// CheckURL refuses an endpoint that is not https, or http to loopback
// (a receiver on the same host, for tests and development).
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return errors.New("the url must be an absolute https:// address")
	case u.User != nil:
		return errors.New("the url must not carry a user or password: the signature proves the sender")
	case u.Fragment != "":
		return errors.New("the url must not have a #fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	}
	return errors.New("the url must be https:// (http:// only to a loopback address such as 127.0.0.1)")
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SecretPrefix starts every secret, as the Standard Webhooks specification
// writes them; the base64 after it is the signing key.
const SecretPrefix = "whsec_"

// NewSecret is a new endpoint's secret: 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// CheckSecret refuses a secret (read from the directory file's variable
// or file) that is not whsec_ and base64 of at least 24 bytes.
func CheckSecret(s string) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if !strings.HasPrefix(s, SecretPrefix) || err != nil || len(key) < 24 {
		return errors.New("a webhook secret is whsec_ followed by the base64 of at least 24 random bytes")
	}
	return nil
}

// Headers are the Standard Webhooks headers of one delivery: its ID (the
// event's, the same on every retry), when it was signed, and the signature
// v1,<base64 of HMAC-SHA256 over "id.timestamp.body">.
func Headers(secret, id string, at time.Time, body []byte) (http.Header, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, errors.New("the webhook's secret is not whsec_ and base64")
	}
	sig, err := wh.Sign(id, at, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/cloudevents+json")
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return h, nil
}

// Verify is the receiver's check: the signature matches and was made in
// the last five minutes (or will be within five).
func Verify(secret string, body []byte, h http.Header) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	return wh.Verify(body, h)
}

// SecretOwner is what a webhook's sealed secret is bound to: its ID, so a
// sealed secret copied to another row does not open.
func SecretOwner(id string) string { return "webhook:" + id }

// Redact is a webhook's address as records and emails show it: without
// its query, which may hold a receiver's token.
func Redact(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?…"
	}
	return raw
}
