// Package app wires the service together for each run mode: everything in
// one process (with an embedded Temporal server and UI), the worker, or the
// HTTP server. main calls Run; tests call it too.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	sdklog "go.temporal.io/sdk/log"
	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/config"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/engine"
	"github.com/partneraccess/partneraccess/internal/entra"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/metrics"
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

// Ready tells a caller (a test, the banner) where the running service is.
type Ready struct {
	HTTPURL     string
	TemporalURL string // host:port of the frontend
	UIURL       string // "" when there is no embedded UI
}

// Run runs cfg.Mode until ctx ends, then stops everything cleanly. Logs go
// to logw as JSON; the start banner goes to out. ready, if not nil, receives
// the addresses once the service answers.
func Run(ctx context.Context, cfg config.Config, out, logw io.Writer, ready chan<- Ready) error {
	log := slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if cfg.Mode == config.ModeDirectory {
		return runDirectory(ctx, cfg, out, log)
	}
	worker.SetCacheSize(cfg.CacheSize)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	if cfg.Mode == config.ModeTemporal {
		return runTemporal(ctx, cfg, out, log, ready)
	}
	p := &process{cfg: cfg, log: log}
	defer p.stop()
	for _, step := range []func(context.Context) error{
		p.openStore, p.listenHTTP, p.startTemporal, p.dialTemporal, p.startWorker, p.serveMetrics, p.serveHTTP,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	r := Ready{HTTPURL: p.httpURL, TemporalURL: p.hostPort, UIURL: p.uiURL}
	banner(out, p.cfg, r)
	for _, w := range p.cfg.Warnings() {
		log.Warn(w)
		fmt.Fprintf(out, "Warning: %s\n", w)
	}
	log.Info("started", "mode", cfg.Mode, "http", p.httpURL, "temporal", p.hostPort, "ui", p.uiURL)
	if ready != nil {
		ready <- r
	}
	<-ctx.Done()
	log.Info("stopping", "mode", cfg.Mode)
	return nil
}

// process is a worker, a server or both, started step by step; stop undoes
// the steps taken, last first.
type process struct {
	cfg   config.Config
	log   *slog.Logger
	stops []func()

	keys     *secret.Keys
	st       *store.Store
	httpLn   net.Listener
	hostPort string // Temporal's frontend
	uiURL    string // the embedded Temporal UI, if any
	tc       client.Client
	metrics  *metrics.Metrics
	sender   mail.Sender // nil: the store's mailbox
	mailFrom mail.Address
	httpURL  string
	// codec encrypts the payloads of every Temporal client and worker.
	codec *codec.Codec
	// devGraph is the dev directory (one-process mode with demo data).
	devGraph *devgraph.Directory
	// teams is the Teams bot, for the worker and the server (nil: off);
	// devChat its dev stand-in (one-process mode with demo data).
	teams       *teams.Bot
	devChat     *teamstest.DevChat
	devGraphURL string
}

func (p *process) stop() {
	for i := len(p.stops) - 1; i >= 0; i-- {
		p.stops[i]()
	}
}

// openStore opens the store, with the keys and, if asked, the demo data.
func (p *process) openStore(ctx context.Context) error {
	if err := p.cfg.LoadOrCreateSecretKey(); err != nil {
		return err
	}
	keys, err := secret.NewKeys(p.cfg.SecretKey)
	if err != nil {
		return err
	}
	if p.codec, err = p.cfg.Codec(); err != nil {
		return fmt.Errorf("TEMPORAL_CODEC_KEYS: %w", err)
	}
	st, err := openStore(ctx, p.cfg)
	if err != nil {
		return err
	}
	p.keys, p.st = keys, st
	p.stops = append(p.stops, func() { st.Close() })
	if p.cfg.DemoData {
		if err := demo.Load(ctx, st, bcrypt.DefaultCost); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		if p.cfg.Mode == config.ModeAll {
			if err := p.startDevDirectory(ctx); err != nil {
				return err
			}
			return p.startDevChat(ctx)
		}
	}
	return nil
}

// startDevDirectory serves the dev directory on a loopback port of its own
// and wires the demo's Contoso and Fabrikam to it.
func (p *process) startDevDirectory(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("dev directory: %w", err)
	}
	g := devgraph.New()
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	p.stops = append(p.stops, func() { srv.Close() })
	p.devGraph, p.devGraphURL = g, "http://"+ln.Addr().String()
	if err := demo.DevDirectory(ctx, p.st, g, time.Now()); err != nil {
		return fmt.Errorf("dev directory: %w", err)
	}
	return nil
}

// listenHTTP listens before anything else starts: links in emails need the
// address when PUBLIC_URL is unset.
func (p *process) listenHTTP(context.Context) error {
	if p.cfg.Mode == config.ModeWorker {
		return nil
	}
	ln, err := net.Listen("tcp", p.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	p.httpLn = ln
	p.stops = append(p.stops, func() { ln.Close() })
	if p.cfg.PublicURL == "" {
		p.cfg.PublicURL = "http://" + ln.Addr().String()
	}
	return nil
}

// startTemporal starts the embedded Temporal server in one-process mode
// without TEMPORAL_ADDRESS.
func (p *process) startTemporal(ctx context.Context) error {
	p.hostPort = p.cfg.TemporalAddress
	if p.cfg.Mode != config.ModeAll || p.hostPort != "" {
		return nil
	}
	eng, stop, err := startEngine(ctx, p.cfg, p.log)
	if err != nil {
		return err
	}
	p.stops = append(p.stops, stop)
	p.hostPort, p.uiURL = eng.FrontendHostPort(), eng.UIURL()
	return nil
}

// dialTemporal connects the client, whose SDK metrics join the process's
// Prometheus registry.
func (p *process) dialTemporal(ctx context.Context) error {
	reg := prometheus.NewRegistry()
	p.metrics = metrics.New(reg, p.st)
	p.metrics.RegisterRuntime()
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter: tallyprom.NewReporter(tallyprom.Options{Registerer: reg}),
		Separator:      tallyprom.DefaultSeparator,
	}, time.Second)
	p.stops = append(p.stops, func() { closer.Close() })
	opts := client.Options{
		HostPort: p.hostPort, Namespace: p.cfg.TemporalNamespace,
		Logger:         sdklog.NewStructuredLogger(quietAfter(ctx, p.log.With("component", "temporal-sdk"))),
		MetricsHandler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
	}
	if err := secureClient(&opts, p.cfg); err != nil {
		return err
	}
	codec.ClientOptions(&opts, p.codec)
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", p.hostPort, err)
	}
	p.tc = tc
	p.stops = append(p.stops, tc.Close)
	if p.cfg.SendGridAPIKey != "" && !p.cfg.StoreMailbox {
		p.sender = mail.NewSendGrid(p.cfg.SendGridAPIKey, p.cfg.SendGridBaseURL)
	}
	p.mailFrom = mail.Address{Name: p.cfg.MailFrom.Name, Email: p.cfg.MailFrom.Address}
	return nil
}

// startWorker runs the workflow and activities, and makes sure the
// reconciler's schedule exists (not in server mode).
func (p *process) startWorker(ctx context.Context) error {
	if p.cfg.Mode == config.ModeServer {
		return nil
	}
	acts := wire.Activities(p.st, p.sender, p.keys, activities.Config{
		PublicURL: p.cfg.PublicURL, AVDDownloadURL: p.cfg.AVDDownloadURL,
		MailFrom:    p.mailFrom,
		AVDMailFrom: mail.Address{Name: p.cfg.AVDMailFrom.Name, Email: p.cfg.AVDMailFrom.Address},
	}, p.directories(), p.tc, p.metrics)
	acts.Chats = wire.Chats(p.teamsBot(), p.st, slackchat.Config{APIURL: p.cfg.SlackAPIURL, Process: "the worker"})
	w := worker.New(p.tc, p.cfg.TaskQueue, acts, worker.Options{})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	p.stops = append(p.stops, w.Stop)
	if err := worker.EnsureReconcileSchedule(ctx, p.tc, p.cfg.TaskQueue, p.cfg.ReconcileEvery, acts.Keys); err != nil {
		return fmt.Errorf("create the reconciler's schedule: %w", err)
	}
	return nil
}

// serveMetrics gives a worker alone /metrics and /healthz.
func (p *process) serveMetrics(context.Context) error {
	if p.cfg.Mode != config.ModeWorker || p.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", p.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", p.metrics.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"status":"ok"}`) })
	p.stops = append(p.stops, serve(ln, mux, p.log))
	p.httpURL = "http://" + ln.Addr().String()
	return nil
}

// serveHTTP serves the API and the pages (not in worker mode).
func (p *process) serveHTTP(context.Context) error {
	if p.cfg.Mode == config.ModeWorker {
		return nil
	}
	cfg := p.cfg
	p.httpURL = "http://" + p.httpLn.Addr().String()
	mailbox, adminsOnly := cfg.Mailbox()
	srv, _ := wire.Server(wire.HTTP{
		TaskQueue: cfg.TaskQueue,
		Service: service.Config{
			PublicURL: cfg.PublicURL, Mail: p.sender, MailFrom: p.mailFrom, InvitationTTL: cfg.InvitationTTL, PasswordResetTTL: cfg.PasswordResetTTL,
			EntraLoginURL: cfg.EntraLoginURL, PolicyCeiling: cfg.PolicyMaxDuration,
			Timing: workflows.Timing{ApprovalTimeout: cfg.ApprovalTimeout, ApprovalReminder: cfg.ApprovalReminder,
				AccessDuration: cfg.AccessDuration, ReadyWait: cfg.ReadyWait, EmailRetryFor: cfg.EmailRetryFor,
				ExpiryWarning: cfg.ExpiryWarning, MaxExtensions: cfg.MaxExtensions, ProfessionalReminder: cfg.ProfessionalReminder,
				ProvisionRetryFor: cfg.ProvisionRetryFor},
		},
		Server: server.Config{
			PublicURL: cfg.PublicURL, DevMailbox: mailbox, DevMailboxAdminsOnly: adminsOnly, TrustedProxies: cfg.TrustedProxies,
			TemporalNamespace: cfg.TemporalNamespace, TemporalUIURL: temporalUIURL(cfg, p.uiURL),
			GatewayToken: cfg.GatewayToken, OperatorToken: cfg.OperatorToken, SecureCookies: strings.HasPrefix(cfg.PublicURL, "https:"),
			DevDirectory: p.devGraph, DevTenants: demo.DevTenants, DevChat: p.devChat, Codec: p.codec, CodecOpen: cfg.ListensOnLoopback(),
		},
		Teams: p.teamsBot(),
		Slack: slackchat.Config{APIURL: cfg.SlackAPIURL},
	}, p.st, p.tc, p.keys, p.log, p.metrics)
	p.stops = append(p.stops, serve(p.httpLn, srv.Handler(), p.log))
	return nil
}

// temporalUIURL is where assignment pages link to their workflow:
// TEMPORAL_UI_URL, else the embedded UI.
func temporalUIURL(cfg config.Config, embedded string) string {
	if cfg.TemporalUIURL != "" {
		return cfg.TemporalUIURL
	}
	return embedded
}

// openStore opens the application store: PostgreSQL at DATABASE_URL, or
// the SQLite file in DATA_DIR.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	if cfg.DatabaseURL != "" {
		return store.OpenPostgres(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	}
	return store.Open(ctx, filepath.Join(cfg.DataDir, "partner-access.db"))
}

// secureClient adds TEMPORAL_TLS_* and TEMPORAL_API_KEY to a client's options.
func secureClient(opts *client.Options, cfg config.Config) error {
	t, err := cfg.TemporalClientTLS()
	if err != nil {
		return fmt.Errorf("TEMPORAL_TLS_*: %w", err)
	}
	opts.ConnectionOptions.TLS = t
	if cfg.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	return nil
}

// startEngine starts the embedded Temporal server and UI, with the
// namespace and search attributes; stop stops them.
func startEngine(ctx context.Context, cfg config.Config, log *slog.Logger) (eng *engine.Engine, stop func(), err error) {
	attrs := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	codecEndpoint := ""
	if cfg.Mode == config.ModeAll { // the UI decodes through this process's /codec
		codecEndpoint = strings.TrimRight(cfg.PublicURL, "/") + "/codec"
	}
	eng, err = engine.Start(ctx, engine.Config{
		DataDir: cfg.DataDir, FrontendAddr: cfg.EmbeddedFrontend, UIAddr: cfg.TemporalUIAddr, InternalPorts: cfg.TemporalPorts,
		Namespace: cfg.TemporalNamespace, Retention: cfg.TemporalRetention, SearchAttributes: attrs, Logger: log,
		TLS:           engine.TLS{CertFile: cfg.TemporalTLSCert, KeyFile: cfg.TemporalTLSKey, ClientCAFile: cfg.TemporalTLSCA},
		CodecEndpoint: codecEndpoint,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("embedded Temporal: %w", err)
	}
	return eng, func() {
		if err := eng.Stop(); err != nil {
			log.Warn("stop embedded Temporal", "error", err)
		}
	}, nil
}

// runTemporal is temporal mode: the embedded Temporal server and UI alone,
// for workers and servers started apart, like `temporal server start-dev`.
func runTemporal(ctx context.Context, cfg config.Config, out io.Writer, log *slog.Logger, ready chan<- Ready) error {
	eng, stop, err := startEngine(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	r := Ready{TemporalURL: eng.FrontendHostPort(), UIURL: eng.UIURL()}
	banner(out, cfg, r)
	log.Info("started", "mode", cfg.Mode, "temporal", r.TemporalURL, "ui", r.UIURL)
	if ready != nil {
		ready <- r
	}
	<-ctx.Done()
	log.Info("stopping", "mode", cfg.Mode)
	return nil
}

// serve serves h on ln; the returned func shuts it down gracefully.
func serve(ln net.Listener, h http.Handler, log *slog.Logger) (stop func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
}

// directories are the settings of the customers' directories: the dev
// directory's for the demo's customers when it runs.
func (p *process) directories() wire.Directories {
	d := wire.Directories{GraphURL: p.cfg.GraphURL, LoginURL: p.cfg.EntraLoginURL}
	if p.devGraph != nil {
		d.GraphURL, d.LoginURL = p.devGraphURL, p.devGraphURL
		d.Secret = func(t store.Target) (string, error) {
			if s, ok := demo.DevSecret(t); ok {
				return s, nil
			}
			return entra.ReadSecret(t)
		}
	}
	return d
}

// teamsBot is the process's Teams bot, made once (nil: TEAMS_APP_ID is
// not set).
func (p *process) teamsBot() *teams.Bot {
	if p.teams == nil {
		p.teams = teams.New(teams.Config{AppID: p.cfg.TeamsAppID, AppSecret: p.cfg.TeamsAppSecret,
			OpenIDURL: p.cfg.BotFrameworkOpenIDURL, LoginURL: p.cfg.EntraLoginURL}, p.st, p.log)
	}
	return p.teams
}

// startDevChat gives the demo a Teams of its own, unless a real bot is set
// up: the Bot Connector and the Bot Framework's token issuer stand in on a
// loopback port, Contoso opts in with its dev tenant, and the app is
// installed for Contoso's approvers, so their requests come as cards at
// /dev/chat.
func (p *process) startDevChat(ctx context.Context) error {
	if p.cfg.TeamsAppID != "" {
		return nil
	}
	stub, err := teamstest.Start("dev-partner-access-bot", secret.NewToken())
	if err != nil {
		return fmt.Errorf("dev chat: %w", err)
	}
	p.stops = append(p.stops, func() { stub.Close() })
	p.teams = teams.New(teams.Config{AppID: stub.AppID, AppSecret: stub.AppSecret, OpenIDURL: stub.OpenIDURL(), LoginURL: stub.LoginURL()},
		p.st, p.log)
	if p.devChat, err = demo.DevChat(ctx, p.st, stub, p.teams); err != nil {
		return fmt.Errorf("dev chat: %w", err)
	}
	return nil
}
