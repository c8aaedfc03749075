package webhook_test

import (
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/webhook"
	"github.com/partneraccess/partneraccess/internal/webhook/receiver"
)

func TestCheckURLHTTPSOnlyHTTPToLoopback(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://siem.example/hook":         true,
		"https://siem.example:8443/h?x=1":   true,
		"http://127.0.0.1:9000/hook":        true,
		"http://[::1]:9000/hook":            true,
		"http://localhost/hook":             true,
		"http://siem.example/hook":          false,
		"http://127.0.0.1.nip.io/hook":      false,
		"http://10.0.0.1/hook":              false,
		"ftp://siem.example/hook":           false,
		"https://user:pw@siem.example/hook": false,
		"https://siem.example/hook#x":       false,
		"siem.example/hook":                 false,
		"":                                  false,
	} {
		if err := webhook.CheckURL(url); (err == nil) != ok {
			t.Errorf("%q: %v, want ok %v", url, err, ok)
		}
	}
}

func TestEventTypes(t *testing.T) {
	types, err := webhook.ParseTypes([]string{"partneraccess.assignment.approved", "access.*"})
	if err != nil || strings.Join(types, ",") != "assignment.approved,access.*" {
		t.Fatalf("%v %v", types, err)
	}
	for a, want := range map[domain.Action]bool{
		domain.ActionAssignmentApproved: true, domain.ActionAccessExpired: true, domain.ActionAccessRevoked: true,
		domain.ActionAssignmentDenied: false, domain.ActionRevocationProven: false,
	} {
		if webhook.Wants(types, a) != want {
			t.Errorf("%s: %v", a, !want)
		}
	}
	if all, err := webhook.ParseTypes([]string{"assignment.denied", "*"}); err != nil || all != nil || !webhook.Wants(all, domain.ActionUserSuspended) {
		t.Fatalf("* is every event: %v %v", all, err)
	}
	for _, bad := range []string{"Assignment.Approved", "assignment", "assignment.", ".x", "a.b.c", "assignment.approved; drop"} {
		if _, err := webhook.ParseTypes([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSecretsAndSignature(t *testing.T) {
	s := webhook.NewSecret()
	if err := webhook.CheckSecret(s); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "whsec_", "secret", "whsec_c2hvcnQ=", strings.TrimPrefix(s, "whsec_")} {
		if webhook.CheckSecret(bad) == nil {
			t.Errorf("%q accepted as a secret", bad)
		}
	}
	body := []byte(`{"id":"7"}`)
	now := time.Now()
	h, err := webhook.Headers(s, "7", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h.Get("webhook-signature"), "v1,") || h.Get("webhook-id") != "7" {
		t.Fatalf("headers %v", h)
	}
	// The receiver's own lines of the specification agree with the library.
	if err := receiver.Check(s, h, body, now); err != nil {
		t.Fatal(err)
	}
	if err := webhook.Verify(s, body, h); err != nil {
		t.Fatal(err)
	}
	if receiver.Check(s, h, body, now.Add(6*time.Minute)) == nil || receiver.Check(s, h, []byte(`{"id":"8"}`), now) == nil {
		t.Fatal("a stale or tampered delivery passed")
	}
	if webhook.Redact("https://siem.example/h?token=abc") != "https://siem.example/h?…" {
		t.Fatal("the query is not redacted")
	}
}
