// Package testenv runs the whole service for tests on real parts: an
// in-process Temporal server (temporaltest), the real worker, a SQLite file,
// the gin handler behind an httptest server on 127.0.0.1, and either the
// local mailbox or SendGrid pointed at a local fake.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"
	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/apicheck"
	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/wire"
	"github.com/partneraccess/partneraccess/server"
	"github.com/partneraccess/partneraccess/worker"
	"github.com/partneraccess/partneraccess/workflows"
)

// TaskQueue is the tests' task queue.
const TaskQueue = "partner-access-test"

// Options change the environment; the zero value is the local mailbox and
// the durations of FastTiming.
type Options struct {
	Timing workflows.Timing
	Sender mail.Sender // nil: local mailbox
	// NoWorker starts no worker (tests that start and stop their own).
	NoWorker bool
	// OwnTemporal starts a Temporal server for this environment alone, for
	// a test that stops it; the others share one (see Main).
	OwnTemporal bool
	// Entra makes Contoso and Fabrikam enforce access in Entra tenants of
	// their own, served by devgraph (Env.Graph) through the real Graph
	// client.
	Entra bool
	// GraphFront, with Entra, wraps the stand-in: a test sees or holds
	// Graph's requests on their way.
	GraphFront func(http.Handler) http.Handler
	// CodecKey encrypts the environment's Temporal payloads (zero: a key
	// of its own); the recorder uses a fixed one.
	CodecKey codec.Key
}

// FastTiming makes every wait short enough for a test.
var FastTiming = workflows.Timing{
	ApprovalTimeout:  time.Minute,
	ApprovalReminder: 0,
	AccessDuration:   3 * time.Second,
	ReadyWait:        time.Second,
	EmailRetryFor:    time.Minute,
}

// Env is one running service.
type Env struct {
	T        testing.TB
	Store    *store.Store
	Keys     *secret.Keys
	Temporal *temporaltest.TestServer
	// Namespace is the environment's own namespace on Temporal.
	Namespace string
	Client    client.Client
	Server    *server.Server
	Service   *service.Service
	HTTP      *httptest.Server
	Acts      *activities.Activities
	// DataDir holds the store's files.
	DataDir string
	// Codec encrypts the environment's Temporal payloads.
	Codec *codec.Codec
	// Graph is the Entra tenants' stand-in (Options.Entra).
	Graph    *devgraph.Directory
	worker   sdkworker.Worker
	wiring   wire.HTTP
	workerUp bool
}

// New starts an environment; everything stops when the test ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Timing == (workflows.Timing{}) {
		o.Timing = FastTiming
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := demo.Load(ctx, st, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.NewKeys(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	ck := o.CodecKey
	if ck.ID == "" {
		if ck, err = codec.DerivedKey(secret.NewMasterKey()); err != nil {
			t.Fatal(err)
		}
	}
	cd, err := codec.New([]codec.Key{ck})
	if err != nil {
		t.Fatal(err)
	}
	ts, ns, c := temporalFor(t, o.OwnTemporal, cd)
	e := &Env{T: t, Store: st, Keys: keys, Temporal: ts, Namespace: ns, Client: c, DataDir: dir, Codec: cd}
	var dirs wire.Directories
	if o.Entra {
		var secretFile string
		e.Graph, dirs, secretFile = entra(t, o.GraphFront)
		e.useEntra(secretFile)
	}
	e.Acts = wire.Activities(st, o.Sender, keys, activities.Config{
		PublicURL: "http://placeholder", AVDDownloadURL: "https://avd.example/download",
		MailFrom:    mail.Address{Name: "Partner Access", Email: "access@provisioning.example"},
		AVDMailFrom: mail.Address{Name: "No Reply", Email: "no-reply@avd.example"},
	}, dirs, c, nil)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.HTTP = httptest.NewUnstartedServer(nil)
	e.HTTP.Start()
	t.Cleanup(e.HTTP.Close)
	e.Acts.Config.PublicURL = e.HTTP.URL
	e.wiring = wire.HTTP{
		TaskQueue: TaskQueue,
		Service: service.Config{PublicURL: e.HTTP.URL, Timing: o.Timing, Mail: o.Sender, MailFrom: e.Acts.Config.MailFrom,
			PasswordCost: bcrypt.MinCost},
		Server: server.Config{PublicURL: e.HTTP.URL, DevMailbox: o.Sender == nil, GatewayToken: GatewayToken,
			TemporalNamespace: ns, TemporalUIURL: TemporalUIURL, Codec: cd, CodecOpen: true},
	}
	if o.Entra {
		e.wiring.Server.DevDirectory = e.Graph
		e.wiring.Server.DevTenants = map[string]string{ContosoTenant: demo.Contoso, FabrikamTenant: demo.Fabrikam}
	}
	e.Server, e.Service = wire.Server(e.wiring, st, c, keys, log, nil)
	e.HTTP.Config.Handler = e.Server.Handler()
	if !o.NoWorker {
		e.StartWorker()
	}
	return e
}

// Another serves the same store, Temporal and task queue through a second
// server of its own settings: change sets what differs (limits, the
// mailbox, trusted proxies). It returns the server's base URL.
func (e *Env) Another(change func(*wire.HTTP)) string {
	e.T.Helper()
	h := e.wiring
	change(&h)
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	e.T.Cleanup(ts.Close)
	h.Service.PublicURL, h.Server.PublicURL = ts.URL, ts.URL
	srv, _ := wire.Server(h, e.Store, e.Client, e.Keys, slog.New(slog.DiscardHandler), nil)
	ts.Config.Handler = srv.Handler()
	return ts.URL
}

// TemporalUIURL is where assignment pages link for their workflow; tests
// check the link and never follow it.
const TemporalUIURL = "http://127.0.0.1:8233"

// GatewayToken is the gateway's bearer token in tests.
const GatewayToken = "gateway-test-token"

// StartWorker starts a worker (again, after StopWorker).
func (e *Env) StartWorker() {
	e.T.Helper()
	w := worker.New(e.Client, TaskQueue, e.Acts, worker.Options{})
	if err := w.Start(); err != nil {
		e.T.Fatal(err)
	}
	if e.worker == nil {
		e.T.Cleanup(e.StopWorker)
	}
	e.worker, e.workerUp = w, true
}

// StopWorker stops the worker, as a worker process that goes away would.
func (e *Env) StopWorker() {
	if e.workerUp {
		e.worker.Stop()
		e.workerUp = false
	}
}

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

// WaitState waits until the assignment's projection reaches state.
func (e *Env) WaitState(id, state string, within time.Duration) store.Assignment {
	e.T.Helper()
	var a store.Assignment
	var err error
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		a, err = e.Store.AssignmentByID(context.Background(), id)
		if err == nil && a.State == state {
			return a
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.T.Fatalf("assignment %s: state %q (err %v) after %v, want %q", id, a.State, err, within, state)
	return a
}

// WaitClosed waits until the assignment's workflow has finished, and the
// workflow it handed its last emails to, if any.
func (e *Env) WaitClosed(a store.Assignment) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.GetWorkflow(ctx, a.WorkflowID, a.ID).Get(ctx, nil); err != nil && !temporal.IsCanceledError(err) {
		e.T.Fatalf("workflow of %s: %v", a.ID, err)
	}
	var nf *serviceerror.NotFound
	if err := e.Client.GetWorkflow(ctx, "assignment-emails/"+a.ID, "").Get(ctx, nil); err != nil && !errors.As(err, &nf) {
		e.T.Fatalf("emails of %s: %v", a.ID, err)
	}
}

// Settle waits until the assignment's workflow has no activity in flight
// (every email it started so far is recorded), so a snapshot taken next
// is not moved by its own emails.
func (e *Env) Settle(id string) {
	e.T.Helper()
	a, err := e.Store.AssignmentByID(context.Background(), id)
	if err != nil {
		e.T.Fatal(err)
	}
	e.Eventually(10*time.Second, "assignment "+id+" settled", func() bool {
		d, err := e.Client.DescribeWorkflowExecution(context.Background(), a.WorkflowID, a.ID)
		// No activity pending and no workflow task either: one that is
		// running may still schedule an email (after a local activity
		// has already written the state a test waited for).
		return err == nil && len(d.PendingActivities) == 0 && d.PendingWorkflowTask == nil
	})
}

// Eventually polls cond until it holds or within passes.
func (e *Env) Eventually(within time.Duration, what string, cond func() bool) {
	e.T.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			e.T.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Mail returns the emails recorded for an assignment, of a kind, to someone.
func (e *Env) Mail(assignmentID string, kind domain.EmailKind, to string) []store.Email {
	e.T.Helper()
	es, err := e.Store.Emails(context.Background(), store.EmailFilter{AssignmentID: assignmentID, To: to})
	if err != nil {
		e.T.Fatal(err)
	}
	var out []store.Email
	for _, m := range es {
		if m.Kind == string(kind) {
			out = append(out, m)
		}
	}
	return out
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Link returns the first link in an email's text under prefix (e.g. "/approvals/").
func Link(m store.Email, prefix string) (string, error) {
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if i := strings.Index(l, prefix); i >= 0 {
			return l[i:], nil
		}
	}
	return "", fmt.Errorf("no %s link in %q", prefix, m.Subject)
}

// ApprovalPath waits for the approval request to an approver and returns
// the path of its link, as the approver would click it.
func (e *Env) ApprovalPath(assignmentID, approverEmail string) string {
	e.T.Helper()
	var path string
	e.Eventually(10*time.Second, "approval request to "+approverEmail, func() bool {
		ms := e.Mail(assignmentID, domain.EmailApprovalRequest, approverEmail)
		if len(ms) == 0 || ms[0].Status != store.EmailLocal {
			return false
		}
		var err error
		path, err = Link(ms[0], "/approvals/")
		return err == nil
	})
	e.Settle(assignmentID)
	return path
}

// Snapshot counts rows that a refused request must not change.
type Snapshot struct {
	Assignments, Grants, Emails, Tokens, Credentials, AuditOK int
}

// Counts reads a snapshot.
func (e *Env) Counts() Snapshot {
	e.T.Helper()
	ctx := context.Background()
	as, err := e.Store.Assignments(ctx, store.AssignmentFilter{Limit: 100000})
	if err != nil {
		e.T.Fatal(err)
	}
	es, _ := e.Store.Emails(ctx, store.EmailFilter{Limit: 100000})
	log, _ := e.Store.AuditLog(ctx, store.AuditFilter{Limit: 100000})
	s := Snapshot{Assignments: len(as), Emails: len(es)}
	for _, a := range as {
		if _, err := e.Store.GrantByAssignment(ctx, a.ID); err == nil {
			s.Grants++
		}
		if c, err := e.Store.CredentialByAssignment(ctx, a.ID); err == nil && c.Ciphertext != nil {
			s.Credentials++
		}
	}
	for _, l := range log {
		if l.Outcome == store.OutcomeOK {
			s.AuditOK++
		}
	}
	return s
}

// AssignmentIsOpen reports whether the store has an open assignment.
func (e *Env) AssignmentIsOpen(site, user string) bool {
	_, err := e.Store.OpenAssignment(context.Background(), site, user)
	return !errors.Is(err, store.ErrNotFound)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
