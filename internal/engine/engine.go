// Package engine runs a Temporal server and the Temporal Web UI inside the
// one-process mode, persisting to a SQLite file in DATA_DIR, the way the
// Temporal CLI's dev server does. Production runs a real cluster instead.
package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/partneraccess/partneraccess/internal/sqlitewal"
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

// DefaultPragmas: WAL lets readers run beside the one writer; synchronous
// NORMAL is durable across process crashes (not power loss), as a laptop
// server needs. The engine's checkpointer copies the WAL every
// sqlitewal.Every, so the writer's own checkpoint (every 1,000 pages, as
// SQLite's default) finds little left to copy; it is what lets the WAL
// start again from its beginning, which under a steady stream of writes a
// checkpoint from beside them seldom does (without it the WAL held up to
// 10,000 pages, 40 MB, and every read searches its index).
var DefaultPragmas = map[string]string{"journal_mode": "wal", "synchronous": "NORMAL", "busy_timeout": "10000",
	"cache_size": "-65536", "temp_store": "memory", "mmap_size": "268435456", "wal_autocheckpoint": "1000"}

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

// prepareDatabase makes the SQLite file's schema on first start and the
// namespace on every start (creating it again changes nothing).
func prepareDatabase(cfg Config) (*config.SQL, error) {
	sqlCfg := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      filepath.Join(cfg.DataDir, "temporal.db"),
		ConnectAttributes: map[string]string{"mode": "rwc"},
		// One connection: with several, concurrent write transactions fail
		// with SQLITE_BUSY_SNAPSHOT under WAL, which busy_timeout cannot wait out.
		MaxConns:     1,
		MaxIdleConns: 1,
	}
	for k, v := range cfg.SQLitePragmas {
		sqlCfg.ConnectAttributes[k] = v
	}
	if _, err := os.Stat(sqlCfg.DatabaseName); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("set up the Temporal database: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, cfg.SearchAttributes)
	if err != nil {
		return nil, err
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", cfg.Namespace, err)
	}
	return sqlCfg, nil
}

// checkpointer checkpoints the database's WAL from a connection of its own
// (sqlitewal), through the server's own SQLite library (modernc's, driver
// "sqlite"): another library in this process would not see the server's
// locks and would corrupt its shared-memory index.
func checkpointer(file string, log *slog.Logger) (func() error, error) {
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		return nil, fmt.Errorf("open the Temporal database for checkpoints: %w", err)
	}
	return sqlitewal.Start(db, log)
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

func (e *Engine) startUI(ctx context.Context, cfg Config) error {
	host, port, err := splitAddr(cfg.UIAddr)
	if err != nil {
		return fmt.Errorf("UI address: %w", err)
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return err
		}
	}
	// The UI server exits the process when it cannot listen, so check first.
	if err := portFree(host, port); err != nil {
		return fmt.Errorf("UI address %s: %w", cfg.UIAddr, err)
	}
	var uiTLS uiconfig.TLS
	if cfg.TLS.on() {
		uiTLS = uiconfig.TLS{CaFile: rootsFile(cfg.DataDir), CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			ServerName: e.tls.ServerName, EnableHostVerification: true}
	}
	e.ui = uiserver.NewServer(server_options.WithConfigProvider(&uiconfig.Config{
		TemporalGRPCAddress: e.frontend,
		TLS:                 uiTLS,
		Host:                host,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    cfg.Namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		Codec:               uiconfig.Codec{Endpoint: cfg.CodecEndpoint},
	}))
	go e.ui.Start()
	e.uiURL = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(e.uiURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the Temporal UI did not answer at %s", e.uiURL)
		}
		time.Sleep(50 * time.Millisecond)
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

// queuePollRPS is how often the history shard may read each of its task
// queues; see dynamicConfig.
const queuePollRPS = 500

// historyCacheSize bounds the workflows whose state the history service
// keeps in memory; see dynamicConfig.
const historyCacheSize = 2000

// dynamicConfig tunes the server for its one history shard.
//
// Every task the history service hands on (a workflow task to the worker
// after a signal, an activity, a timer that fired, a visibility record) is
// first read back from the shard's queue by a reader that may poll at most
// history.*ProcessorMaxPollRPS times a second per shard: 20 by default,
// sized for clusters of hundreds of shards. With one shard and a steady flow
// of tasks, the reader spends its budget and each new task waits for the
// next token: up to 50 ms on every hop (approve→active waits for one: the
// workflow task the decision's signal schedules). A poll reads every task
// pending, so a higher rate only costs a read when there is something new.
// The visibility queue keeps the default: its records only feed the
// Temporal UI's lists, and read 20 times a second they come in batches, so
// its reads take the one connection less often from the other two queues
// (approve→active p50 14.6 against 20.4 ms, median of three runs each,
// taken in turns; BENCHMARKS.md).
//
// The history service keeps the state of up to historyCacheSize workflows
// in memory (128,000 by default, for an hour): without a bound, every open
// assignment costs the process its mutable state, tens of KB, for as long as
// it waits. Like the worker's cache, it holds the workflows that are busy;
// the others are read from the database on their next event.
func dynamicConfig() dynamicconfig.StaticClient {
	poll := []dynamicconfig.ConstrainedValue{{Value: queuePollRPS}}
	return dynamicconfig.StaticClient{
		// Tell workers of new search attributes at once, not after the cache's minute.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		dynamicconfig.TransferProcessorMaxPollRPS.Key():             poll,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():                poll,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():            []dynamicconfig.ConstrainedValue{{Value: historyCacheSize}},
	}
}

// serverConfig is a single-node cluster on loopback.
func serverConfig(host string, p ports, sqlCfg *config.SQL) *config.Config {
	service := func(grpc, membership int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnIP: host}}
	}
	frontend := net.JoinHostPort(host, strconv.Itoa(p.Frontend))
	return &config.Config{
		Global: config.Global{
			// No metrics listener: the embedded server's own metrics are not
			// needed on a laptop, and its listener outlives Stop.
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: host},
		},
		Persistence: config.Persistence{
			DefaultStore: sqliteplugin.PluginName, VisibilityStore: sqliteplugin.PluginName, NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace: false, FailoverVersionIncrement: 10,
			MasterClusterName: clusterName, CurrentClusterName: clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": service(p.Frontend, p.FrontendMembership),
			"history":  service(p.History, p.HistoryMembership),
			"matching": service(p.Matching, p.MatchingMembership),
			"worker":   service(p.Worker, p.WorkerMembership),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: frontend},
	}
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func portFree(host string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d is in use or not allowed; choose another address", port)
	}
	return ln.Close()
}

// secure turns TLS on for the frontend and points the server's own clients
// at it. They trust the frontend's certificate itself and the client CA
// (written together to one file in dataDir), so a self-signed certificate
// works as well as one a CA signed.
func secure(c *config.Config, t TLS, host, dataDir string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	var roots []byte
	for _, f := range []string{t.CertFile, t.ClientCAFile} {
		if f == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		roots = append(append(roots, b...), '\n')
	}
	if err := os.WriteFile(rootsFile(dataDir), roots, 0o640); err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(roots) {
		return nil, fmt.Errorf("TLS: no PEM certificate in %s", t.CertFile)
	}
	// Verify the name the certificate gives first: the frontend may listen
	// on 0.0.0.0, which no certificate names.
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	if len(leaf.DNSNames) > 0 {
		host = leaf.DNSNames[0]
	}
	server := config.ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile}
	if t.ClientCAFile != "" {
		server.ClientCAFiles, server.RequireClientAuth = []string{t.ClientCAFile}, true
	}
	client := config.ClientTLS{ServerName: host, RootCAFiles: []string{rootsFile(dataDir)}}
	c.Global.TLS = config.RootTLS{
		Frontend:     config.GroupTLS{Server: server, Client: client},
		SystemWorker: config.WorkerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, Client: client},
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, RootCAs: pool, Certificates: []tls.Certificate{cert}}, nil
}

func rootsFile(dataDir string) string { return filepath.Join(dataDir, "temporal-tls-roots.pem") }
