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
	worker.SetCacheSize(cfg.CacheSize)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	if err := cfg.LoadOrCreateSecretKey(); err != nil {
		return err
	}
	keys, err := secret.NewKeys(cfg.SecretKey)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "partner-access.db"))
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
		attrs := map[string]enumspb.IndexedValueType{}
		for _, name := range workflows.SearchAttributeNames() {
			attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		}
		eng, err := engine.Start(ctx, engine.Config{
			DataDir: cfg.DataDir, FrontendAddr: cfg.EmbeddedFrontend, UIAddr: cfg.TemporalUIAddr,
			Namespace: cfg.TemporalNamespace, SearchAttributes: attrs, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("embedded Temporal: %w", err)
		}
		stops = append(stops, func() {
			if err := eng.Stop(); err != nil {
				log.Warn("stop embedded Temporal", "error", err)
			}
		})
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

	tc, err := client.DialContext(ctx, client.Options{
		HostPort: hostPort, Namespace: cfg.TemporalNamespace,
		Logger:         sdklog.NewStructuredLogger(quietAfter(ctx, log.With("component", "temporal-sdk"))),
		MetricsHandler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
	})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", hostPort, err)
	}
	stops = append(stops, tc.Close)

	if cfg.Mode != config.ModeServer {
		var sender mail.Sender
		if cfg.SendGridAPIKey != "" && !cfg.StoreMailbox {
			sender = mail.NewSendGrid(cfg.SendGridAPIKey, cfg.SendGridBaseURL)
		}
		acts := activities.New(st, sender, keys, activities.Config{
			PublicURL: cfg.PublicURL, AVDDownloadURL: cfg.AVDDownloadURL,
			MailFrom:    mail.Address{Name: cfg.MailFrom.Name, Email: cfg.MailFrom.Address},
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
			TrustedProxies: cfg.TrustedProxies,
			GatewayToken:   cfg.GatewayToken, SecureCookies: strings.HasPrefix(cfg.PublicURL, "https:"),
			Timing: workflows.Timing{ApprovalTimeout: cfg.ApprovalTimeout, ApprovalReminder: cfg.ApprovalReminder,
				AccessDuration: cfg.AccessDuration, ReadyWait: cfg.ReadyWait, EmailRetryFor: cfg.EmailRetryFor},
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
		fmt.Fprintf(out, "Partner Access worker on task queue %q of %s (namespace %s)\n", cfg.TaskQueue, r.TemporalURL, cfg.TemporalNamespace)
		if r.HTTPURL != "" {
			fmt.Fprintf(out, "  metrics:   %s/metrics\n", r.HTTPURL)
		}
		return
	case config.ModeServer:
		fmt.Fprintf(out, "Partner Access server at %s (Temporal %s)\n", r.HTTPURL, r.TemporalURL)
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
	fmt.Fprintf(out, "  Temporal:    %s (namespace %s)\n  Data:        %s\n", r.TemporalURL, cfg.TemporalNamespace, cfg.DataDir)
	if cfg.DemoData {
		fmt.Fprintf(out, "\nDemo logins (password %q):\n", demo.Password)
		for _, l := range demo.Logins {
			fmt.Fprintf(out, "  %-24s %s\n", l.Email, l.Does)
		}
	}
	fmt.Fprintf(out, "\nPress Ctrl-C to stop.\n")
}
