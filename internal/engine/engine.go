// Package engine runs a Temporal server and the Temporal Web UI inside the
// one-process mode, persisting to a SQLite file in DATA_DIR, the way the
// Temporal CLI's dev server does. Production runs a real cluster instead.
package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

const clusterName = "active"

// Config says where the engine keeps its data and listens.
type Config struct {
	DataDir      string // the database is DataDir/temporal.db
	FrontendAddr string // host:port of the gRPC frontend; port 0 picks a free one
	// InternalPorts are the server's seven other ports (history, matching,
	// worker, then the four membership ports); nil: free ones, chosen once
	// and kept in DataDir.
	InternalPorts    []int
	UIAddr           string // host:port of the Web UI; "" runs no UI
	Namespace        string // created if missing
	Retention        time.Duration
	SearchAttributes map[string]enumspb.IndexedValueType // registered if missing
	Logger           *slog.Logger                        // server logs at warn and above
	// SQLitePragmas tune the engine's database; the defaults suit a file on a laptop.
	SQLitePragmas map[string]string
	// TLS, when its files are set, secures the frontend.
	TLS TLS
	// CodecEndpoint, when set, is where the Web UI's pages have payloads
	// decoded (the service's /codec): it shows them decrypted.
	CodecEndpoint string
}

// TLS makes the frontend serve TLS with CertFile and KeyFile (PEM files);
// with ClientCAFile it also requires client certificates that CA signs
// (mTLS). The engine's own clients (its system worker, the UI) connect
// with the same certificate, so it must name the frontend's host and, for
// mTLS, allow client authentication too.
type TLS struct {
	CertFile, KeyFile, ClientCAFile string
}

func (t TLS) on() bool { return t.CertFile != "" }

// Engine is a running Temporal server (and UI).
type Engine struct {
	quiet    *atomic.Bool // the server's logs go out as debug while it starts and stops
	server   temporal.Server
	ui       *uiserver.Server
	frontend string
	tls      *tls.Config // how the engine's own clients reach a TLS frontend
	uiURL    string
	stopped  bool
	// checkpoint stops the WAL checkpointer (sqlitewal), which leaves the
	// server's one connection little of the WAL to copy itself.
	checkpoint func() error
}

// Start starts the server and the UI, and returns once the frontend answers
// and the namespace and search attributes are ready. The server's logs are
// quiet while it starts, and again from the end of ctx or Stop.
func Start(ctx context.Context, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	host, port, err := splitAddr(cfg.FrontendAddr)
	if err != nil {
		return nil, fmt.Errorf("frontend address: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, err
	}
	ports, err := loadPorts(cfg.DataDir, host, port, cfg.InternalPorts)
	if err != nil {
		return nil, err
	}
	sqlCfg, err := prepareDatabase(cfg)
	if err != nil {
		return nil, err
	}
	checkpoint, err := checkpointer(sqlCfg.DatabaseName, cfg.Logger)
	if err != nil {
		return nil, err
	}
	srvCfg := serverConfig(host, ports, sqlCfg)
	quiet := new(atomic.Bool)
	quiet.Store(true)
	var clientTLS *tls.Config
	if cfg.TLS.on() {
		if clientTLS, err = secure(srvCfg, cfg.TLS, host, cfg.DataDir); err != nil {
			checkpoint()
			return nil, err
		}
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(srvCfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(newLogger(cfg.Logger, quiet)),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		checkpoint()
		return nil, fmt.Errorf("create Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		checkpoint()
		return nil, fmt.Errorf("start Temporal server: %w", err)
	}
	e := &Engine{quiet: quiet, server: srv, frontend: net.JoinHostPort(host, strconv.Itoa(ports.Frontend)), tls: clientTLS,
		checkpoint: checkpoint}
	if err := e.ready(ctx, cfg); err != nil {
		e.Stop()
		return nil, err
	}
	quiet.Store(false)
	// The end of ctx starts the shutdown: the worker stops polling before Stop
	// is called, and the server's complaints about that are noise too.
	context.AfterFunc(ctx, func() { quiet.Store(true) })
	return e, nil
}

// withDefaults fills in what the caller left zero.
func (cfg Config) withDefaults() Config {
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.Retention == 0 {
		cfg.Retention = 30 * 24 * time.Hour // TEMPORAL_RETENTION's default
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SQLitePragmas == nil {
		cfg.SQLitePragmas = DefaultPragmas
	}
	return cfg
}

// ready prepares the namespace for the app and starts the UI, if asked.
func (e *Engine) ready(ctx context.Context, cfg Config) error {
	if err := e.prepare(ctx, cfg); err != nil {
		return err
	}
	if cfg.UIAddr != "" {
		return e.startUI(ctx, cfg)
	}
	return nil
}

// prepare waits for the frontend, then sets the namespace's retention and
// adds search attributes it lacks (a restart after an upgrade may add some).
func (e *Engine) prepare(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: e.frontend, Namespace: cfg.Namespace, Logger: quietSDKLogger{},
		ConnectionOptions: client.ConnectionOptions{TLS: e.tls}})
	if err != nil {
		return fmt.Errorf("connect to the embedded Temporal: %w", err)
	}
	defer c.Close()
	if _, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: cfg.Namespace,
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(cfg.Retention)},
	}); err != nil {
		return fmt.Errorf("set retention of namespace %s: %w", cfg.Namespace, err)
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: cfg.Namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range cfg.SearchAttributes {
		if _, ok := have.CustomAttributes[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) > 0 {
		if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: cfg.Namespace, SearchAttributes: missing,
		}); err != nil {
			return fmt.Errorf("add search attributes: %w", err)
		}
	}
	// Wait for the matching service: a worker whose first polls fail backs
	// off for up to 10 s, which would delay every task after a restart.
	for {
		_, err := c.DescribeTaskQueue(ctx, "engine-readiness", enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the embedded Temporal's matching service did not get ready: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FrontendHostPort is the gRPC address for clients and workers.
func (e *Engine) FrontendHostPort() string { return e.frontend }

// UIURL is the Web UI's address, or "" without a UI.
func (e *Engine) UIURL() string { return e.uiURL }

// Stop stops the UI and the server; it is safe to call twice.
func (e *Engine) Stop() error {
	if e.stopped {
		return nil
	}
	e.stopped = true
	e.quiet.Store(true)
	if e.ui != nil {
		e.ui.Stop()
	}
	return errors.Join(e.server.Stop(), e.checkpoint())
}
