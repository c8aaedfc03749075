// Package testenv runs the whole service for tests on real parts: an
// in-process Temporal server (temporaltest), the real worker, a SQLite file,
// the gin handler behind an httptest server on 127.0.0.1, and either the
// local mailbox or SendGrid pointed at a local fake.
package testenv

import (
	"context"
	"github.com/partneraccess/partneraccess/internal/chat"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"
	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/slackchat"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/teams"
	"github.com/partneraccess/partneraccess/internal/teams/teamstest"
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
	// Chats are the chat channels beside email, for the worker and the
	// service alike (nil: email alone).
	Chats chat.Registry
	// Teams sets up the Teams bot (Env.Teams) with these settings, for the
	// worker and the server's messages endpoint alike.
	Teams *teams.Config
	// DevChat serves /dev/chat as one-process mode with demo data does:
	// the Teams stand-in with Contoso's approvers' chats installed
	// (Env.DevChat), the bot set up against it.
	DevChat bool
	// SlackAPIURL is the Slack channel's Web API base (a slacktest
	// stand-in); Slack is asked only for customers given a workspace.
	SlackAPIURL string
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
	Graph *devgraph.Directory
	// Teams is the Teams bot (Options.Teams, Options.DevChat).
	Teams *teams.Bot
	// DevChat is the dev chat (Options.DevChat).
	DevChat  *teamstest.DevChat
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
	var stub *teamstest.Stub
	if o.DevChat {
		if stub, err = teamstest.Start("dev-partner-access-bot", "dev-secret"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stub.Close() })
		o.Teams = &teams.Config{AppID: stub.AppID, AppSecret: stub.AppSecret, OpenIDURL: stub.OpenIDURL(), LoginURL: stub.LoginURL()}
	}
	if o.Teams != nil {
		e.Teams = teams.New(*o.Teams, st, slog.New(slog.DiscardHandler))
	}
	if stub != nil {
		if e.DevChat, err = demo.DevChat(ctx, st, stub, e.Teams); err != nil {
			t.Fatal(err)
		}
	}
	e.Acts.Chats = append(wire.Chats(e.Teams, st, slackchat.Config{APIURL: o.SlackAPIURL, Process: "the worker"}), o.Chats...)
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
		Slack: slackchat.Config{APIURL: o.SlackAPIURL},
	}
	if o.Entra {
		e.wiring.Server.DevDirectory = e.Graph
		e.wiring.Server.DevTenants = map[string]string{ContosoTenant: demo.Contoso, FabrikamTenant: demo.Fabrikam}
	}
	e.wiring.Teams = e.Teams
	e.wiring.Server.DevChat = e.DevChat
	e.Server, e.Service = wire.Server(e.wiring, st, c, keys, log, nil)
	e.Service.Chats = e.Acts.Chats
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

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
