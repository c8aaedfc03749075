// Package sendgridfake is a local stand-in for SendGrid's v3 mail/send API,
// for tests: it checks the API key, records what it accepts, and fails on
// request (status codes scripted by the test).
package sendgridfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Message is one accepted email.
type Message struct {
	From, To, Subject, Text, HTML string
	CustomArgs                    map[string]string
	Categories                    []string
}

// Fake is a running fake SendGrid.
type Fake struct {
	srv      *httptest.Server
	key      string
	mu       sync.Mutex
	accepted []Message
	requests int
	failNext []int          // statuses for the next requests, in order
	failFor  map[string]int // recipient -> status, every time
}

// New starts a fake on 127.0.0.1, stopped when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{key: "SG.test-key-" + strings.ReplaceAll(t.Name(), "/", "-"), failFor: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL to give the SendGrid client.
func (f *Fake) URL() string { return f.srv.URL }

// Key is the API key the fake accepts.
func (f *Fake) Key() string { return f.key }

// FailNext makes the next n requests answer status.
func (f *Fake) FailNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.failNext = append(f.failNext, status)
	}
}

// FailFor makes every request to the recipient answer status; 0 stops it.
func (f *Fake) FailFor(email string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == 0 {
		delete(f.failFor, strings.ToLower(email))
		return
	}
	f.failFor[strings.ToLower(email)] = status
}

// Messages returns the accepted emails, in order.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.accepted...)
}

// Requests counts every request received, accepted or not.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

type body struct {
	From struct {
		Email string `json:"email"`
	} `json:"from"`
	Subject          string `json:"subject"`
	Personalizations []struct {
		To []struct {
			Email string `json:"email"`
		} `json:"to"`
	} `json:"personalizations"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
	CustomArgs map[string]string `json:"custom_args"`
	Categories []string          `json:"categories"`
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" {
		sgError(w, http.StatusNotFound, "not found", "")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.key {
		sgError(w, http.StatusUnauthorized, "The provided authorization grant is invalid, expired, or revoked", "")
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		sgError(w, http.StatusBadRequest, "Bad Request", "")
		return
	}
	if len(b.Personalizations) != 1 || len(b.Personalizations[0].To) != 1 || b.From.Email == "" || b.Subject == "" {
		sgError(w, http.StatusBadRequest, "one personalization with one recipient, a from and a subject are required", "personalizations")
		return
	}
	to := b.Personalizations[0].To[0].Email
	if len(f.failNext) > 0 {
		status := f.failNext[0]
		f.failNext = f.failNext[1:]
		sgError(w, status, "scripted failure", "")
		return
	}
	if status, ok := f.failFor[strings.ToLower(to)]; ok {
		sgError(w, status, "Does not contain a valid address.", "personalizations.0.to.0.email")
		return
	}
	m := Message{From: b.From.Email, To: to, Subject: b.Subject, CustomArgs: b.CustomArgs, Categories: b.Categories}
	for _, c := range b.Content {
		switch c.Type {
		case "text/plain":
			m.Text = c.Value
		case "text/html":
			m.HTML = c.Value
		}
	}
	if m.Text == "" || m.HTML == "" {
		sgError(w, http.StatusBadRequest, "both text/plain and text/html content are expected", "content")
		return
	}
	f.accepted = append(f.accepted, m)
	w.Header().Set("X-Message-Id", fmt.Sprintf("fake-%d", len(f.accepted)))
	w.WriteHeader(http.StatusAccepted)
}

func sgError(w http.ResponseWriter, status int, msg, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var f any
	if field != "" {
		f = field
	}
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": msg, "field": f, "help": nil}}})
}
