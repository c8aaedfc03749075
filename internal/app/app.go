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
	"net/url"
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
	"github.com/partneraccess/partneraccess/internal/config"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/engine"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
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
	if err := cfg.LoadOrCreateSecretKey(); err != nil {
		return err
	}
	keys, err := secret.NewKeys(cfg.SecretKey)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.DemoData {
		if err := demo.Load(ctx, st, bcrypt.DefaultCost); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}

	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()

	// Listen first: links in emails need the address when PUBLIC_URL is unset.
	var httpLn net.Listener
	if cfg.Mode != config.ModeWorker {
		if httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("HTTP_ADDR: %w", err)
		}
		stops = append(stops, func() { httpLn.Close() })
		if cfg.PublicURL == "" {
			cfg.PublicURL = "http://" + httpLn.Addr().String()
		}
	}

	hostPort, uiURL := cfg.TemporalAddress, ""
	if cfg.Mode == config.ModeAll && hostPort == "" {
		eng, stop, err := startEngine(ctx, cfg, log)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
		hostPort, uiURL = eng.FrontendHostPort(), eng.UIURL()
	}

	reg := prometheus.NewRegistry()
	metrics := server.NewMetrics(reg, st)
	metrics.RegisterRuntime()
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter: tallyprom.NewReporter(tallyprom.Options{Registerer: reg}),
		Separator:      tallyprom.DefaultSeparator,
	}, time.Second)
	stops = append(stops, func() { closer.Close() })

	opts := client.Options{
		HostPort: hostPort, Namespace: cfg.TemporalNamespace,
		Logger:         sdklog.NewStructuredLogger(quietAfter(ctx, log.With("component", "temporal-sdk"))),
		MetricsHandler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
	}
	if err := secureClient(&opts, cfg); err != nil {
		return err
	}
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", hostPort, err)
	}
	stops = append(stops, tc.Close)

	// nil keeps emails in the store's mailbox (activities and server alike).
	var sender mail.Sender
	if cfg.SendGridAPIKey != "" && !cfg.StoreMailbox {
		sender = mail.NewSendGrid(cfg.SendGridAPIKey, cfg.SendGridBaseURL)
	}
	mailFrom := mail.Address{Name: cfg.MailFrom.Name, Email: cfg.MailFrom.Address}
	if cfg.Mode != config.ModeServer {
		acts := activities.New(st, sender, keys, activities.Config{
			PublicURL: cfg.PublicURL, AVDDownloadURL: cfg.AVDDownloadURL,
			MailFrom:    mailFrom,
			AVDMailFrom: mail.Address{Name: cfg.AVDMailFrom.Name, Email: cfg.AVDMailFrom.Address},
		})
		acts.Workflows, acts.Reconciled = tc, metrics.Reconciled
		w := worker.New(tc, cfg.TaskQueue, acts, worker.Options{})
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		stops = append(stops, w.Stop)
		if err := worker.EnsureReconcileSchedule(ctx, tc, cfg.TaskQueue, cfg.ReconcileEvery); err != nil {
			return fmt.Errorf("create the reconciler's schedule: %w", err)
		}
	}

	var httpURL string
	if cfg.Mode == config.ModeWorker {
		if cfg.MetricsAddr != "" {
			ln, err := net.Listen("tcp", cfg.MetricsAddr)
			if err != nil {
				return fmt.Errorf("METRICS_ADDR: %w", err)
			}
			mux := http.NewServeMux()
			mux.Handle("/metrics", metrics.Handler())
			mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"status":"ok"}`) })
			stops = append(stops, serve(ln, mux, log))
			httpURL = "http://" + ln.Addr().String()
		}
	} else {
		httpURL = "http://" + httpLn.Addr().String()
		mailbox, adminsOnly := cfg.Mailbox()
		srv := server.New(server.Config{
			PublicURL: cfg.PublicURL, TaskQueue: cfg.TaskQueue, DevMailbox: mailbox, DevMailboxAdminsOnly: adminsOnly,
			TrustedProxies: cfg.TrustedProxies, TemporalNamespace: cfg.TemporalNamespace, TemporalUIURL: temporalUIURL(cfg, uiURL),
			Mail: sender, MailFrom: mailFrom, InvitationTTL: cfg.InvitationTTL, PasswordResetTTL: cfg.PasswordResetTTL,
			GatewayToken: cfg.GatewayToken, SecureCookies: strings.HasPrefix(cfg.PublicURL, "https:"),
			Timing: workflows.Timing{ApprovalTimeout: cfg.ApprovalTimeout, ApprovalReminder: cfg.ApprovalReminder,
				AccessDuration: cfg.AccessDuration, ReadyWait: cfg.ReadyWait, EmailRetryFor: cfg.EmailRetryFor,
				ExpiryWarning: cfg.ExpiryWarning, MaxExtensions: cfg.MaxExtensions, ProfessionalReminder: cfg.ProfessionalReminder},
		}, st, tc, keys, log, metrics)
		stops = append(stops, serve(httpLn, srv.Handler(), log))
	}

	r := Ready{HTTPURL: httpURL, TemporalURL: hostPort, UIURL: uiURL}
	banner(out, cfg, r)
	for _, w := range cfg.Warnings() {
		log.Warn(w)
		fmt.Fprintf(out, "Warning: %s\n", w)
	}
	log.Info("started", "mode", cfg.Mode, "http", httpURL, "temporal", hostPort, "ui", uiURL)
	if ready != nil {
		ready <- r
	}
	<-ctx.Done()
	log.Info("stopping", "mode", cfg.Mode)
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
	eng, err = engine.Start(ctx, engine.Config{
		DataDir: cfg.DataDir, FrontendAddr: cfg.EmbeddedFrontend, UIAddr: cfg.TemporalUIAddr,
		Namespace: cfg.TemporalNamespace, Retention: cfg.TemporalRetention, SearchAttributes: attrs, Logger: log,
		TLS: engine.TLS{CertFile: cfg.TemporalTLSCert, KeyFile: cfg.TemporalTLSKey, ClientCAFile: cfg.TemporalTLSCA},
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

func banner(out io.Writer, cfg config.Config, r Ready) {
	switch cfg.Mode {
	case config.ModeWorker:
		fmt.Fprintf(out, "Partner Access worker on task queue %q of %s (namespace %s), store: %s\n", cfg.TaskQueue, r.TemporalURL, cfg.TemporalNamespace, storeName(cfg))
		if r.HTTPURL != "" {
			fmt.Fprintf(out, "  metrics:   %s/metrics\n", r.HTTPURL)
		}
		return
	case config.ModeServer:
		fmt.Fprintf(out, "Partner Access server at %s (Temporal %s), store: %s\n", r.HTTPURL, r.TemporalURL, storeName(cfg))
		return
	case config.ModeTemporal:
		scheme := "plain gRPC"
		if cfg.TemporalTLSCert != "" {
			scheme = "TLS"
		}
		fmt.Fprintf(out, "Temporal for Partner Access (namespace %s, data in %s)\n", cfg.TemporalNamespace, cfg.DataDir)
		fmt.Fprintf(out, "  frontend:    %s (%s)  TEMPORAL_ADDRESS=%s for worker and server\n", r.TemporalURL, scheme, r.TemporalURL)
		if r.UIURL != "" {
			fmt.Fprintf(out, "  Temporal UI: %s\n", r.UIURL)
		}
		fmt.Fprintf(out, "Press Ctrl-C to stop.\n")
		return
	}
	fmt.Fprintf(out, "\nPartner Access is running.\n\n")
	fmt.Fprintf(out, "  Web app:     %s\n", r.HTTPURL)
	fmt.Fprintf(out, "  API:         %s/api/v1\n", r.HTTPURL)
	if on, _ := cfg.Mailbox(); on {
		fmt.Fprintf(out, "  Dev mailbox: %s/dev/mail\n", r.HTTPURL)
	}
	if r.UIURL != "" {
		fmt.Fprintf(out, "  Temporal UI: %s\n", r.UIURL)
	}
	fmt.Fprintf(out, "  Temporal:    %s (namespace %s)\n  Data:        %s\n  Store:       %s\n", r.TemporalURL, cfg.TemporalNamespace, cfg.DataDir, storeName(cfg))
	if cfg.DemoData {
		fmt.Fprintf(out, "\nDemo logins (password %q):\n", demo.Password)
		for _, l := range demo.Logins {
			fmt.Fprintf(out, "  %-24s %s\n", l.Email, l.Does)
		}
	}
	fmt.Fprintf(out, "\nPress Ctrl-C to stop.\n")
}

// storeName says where the store is, without the password.
func storeName(cfg config.Config) string {
	if cfg.DatabaseURL == "" {
		return "SQLite in " + filepath.Join(cfg.DataDir, "partner-access.db")
	}
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		return "PostgreSQL"
	}
	return "PostgreSQL at " + u.Host + u.Path
}
