package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/apicheck"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Sessions: a test speaks to the service as a browser or an API client
// does, through the real handler.

// Session is a logged-in user talking to the API with a bearer token, and
// to the pages with the session cookie.
type Session struct {
	e      *Env
	Token  string
	Email  string
	client *http.Client
}

// Login logs a demo user in through POST /api/v1/session.
func (e *Env) Login(email string) *Session {
	e.T.Helper()
	s, status, body := e.LoginWith(email, demo.Password)
	if status != http.StatusCreated {
		e.T.Fatalf("login %s: %d %s", email, status, body)
	}
	return s
}

// LoginWith tries to log in with a password; the session has a token only
// when the status is 201.
func (e *Env) LoginWith(email, password string) (*Session, int, []byte) {
	e.T.Helper()
	s := e.Anonymous()
	s.Email = email
	status, body := s.Do("POST", "/api/v1/session", map[string]string{"email": email, "password": password})
	if status == http.StatusCreated {
		var out struct{ Token string }
		json.Unmarshal(body, &out)
		s.Token = out.Token
	}
	return s, status, body
}

// UserLink waits for the newest email of kind (invitation, password reset)
// to someone and returns the path of its link under prefix ("/register/").
func (e *Env) UserLink(kind domain.EmailKind, to, prefix string) string {
	e.T.Helper()
	var ms []store.Email
	// A password reset is emailed after its request was answered.
	e.Eventually(10*time.Second, fmt.Sprintf("a %s email to %s", kind, to), func() bool {
		ms = e.Mail("", kind, to)
		return len(ms) > 0
	})
	path, err := Link(ms[len(ms)-1], prefix)
	if err != nil {
		e.T.Fatal(err)
	}
	return path
}

// Anonymous is a caller with no login.
func (e *Env) Anonymous() *Session {
	jar, _ := cookiejar.New(nil)
	return &Session{e: e, client: e.client(jar)}
}

// client talks to the service as a browser or an API client would, without
// following redirects. Every API answer it gets is checked against the
// OpenAPI document, so each test that calls the API also tests the document.
func (e *Env) client(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Transport: apicheck.Transport{Fail: func(err error) { e.T.Error(err) }},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Do sends a JSON request (body marshalled unless it is a string or nil).
func (s *Session) Do(method, path string, body any) (int, []byte) {
	s.e.T.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.e.HTTP.URL+path, r)
	if err != nil {
		s.e.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.Send(req)
}

// Send sends a prepared request with the session's token.
func (s *Session) Send(req *http.Request) (int, []byte) {
	s.e.T.Helper()
	if s.Token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Form posts an HTML form with the session cookie (no bearer token), as a
// browser on this site would.
func (s *Session) Form(path string, fields map[string]string) (int, []byte, string) {
	s.e.T.Helper()
	vals := url.Values{}
	for k, v := range fields {
		vals.Set(k, v)
	}
	req, _ := http.NewRequest("POST", s.e.HTTP.URL+path, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.e.HTTP.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := s.client.Do(req)
	if err != nil {
		s.e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("Location")
}

// Page gets a page with the session cookie.
func (s *Session) Page(path string) (int, string) {
	s.e.T.Helper()
	req, _ := http.NewRequest("GET", s.e.HTTP.URL+path, nil)
	resp, err := s.client.Do(req)
	if err != nil {
		s.e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Assign posts an assignment through the API and returns the status and
// the assignment (or the problem body).
func (s *Session) Assign(site, user, role, reason string) (int, store.Assignment, []byte) {
	s.e.T.Helper()
	status, body := s.Do("POST", "/api/v1/sites/"+site+"/assignments", map[string]string{"user_id": user, "role": role, "reason": reason})
	var a APIAssignment
	json.Unmarshal(body, &a)
	return status, a.Row(), body
}
