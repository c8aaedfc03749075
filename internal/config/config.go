// Package config reads the service configuration once, at start, from
// environment variables and flags (flags win), and validates it.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/secret"
)

// Modes of the one binary.
const (
	ModeAll       = "all"       // everything in one process, with an embedded Temporal
	ModeWorker    = "worker"    // the Temporal worker only
	ModeServer    = "server"    // the HTTP server only
	ModeTemporal  = "temporal"  // the embedded Temporal server and UI only
	ModeDirectory = "directory" // directory apply: bring in partners, customers, sites, administrators
	ModeDevOIDC   = "dev-oidc"  // a sign-in provider for trying SSO on one machine (not a service mode)
	ModeInspect   = "inspect"   // what the engine knows of one assignment (not a service mode)
)

// DirectoryApply is the one sub-command of directory mode.
const DirectoryApply = "apply"

// Command is a subcommand of the one binary.
type Command struct {
	Mode string // the mode it runs
	Name string // what to type; "" for the mode without a command
	Help string // one line
}

// Commands lists the subcommands, for help and for checking the command line.
var Commands = []Command{
	{ModeAll, "", "everything in one process: embedded Temporal server and UI, worker, HTTP server, demo data"},
	{ModeWorker, ModeWorker, "the Temporal worker alone, against TEMPORAL_ADDRESS"},
	{ModeServer, ModeServer, "the HTTP server (API and pages) alone, against TEMPORAL_ADDRESS"},
	{ModeTemporal, ModeTemporal, "the embedded Temporal server and UI alone, to run the split topology without Docker"},
	{ModeDirectory, ModeDirectory, "apply -f FILE: bring in partners, customers, sites and their first administrators (invited by email) from a YAML file; idempotent"},
	{ModeInspect, ModeInspect, "ID: what Temporal knows of one assignment: the status query, a timeline, the history's events and the Temporal UI link (the one-process service's, or TEMPORAL_ADDRESS with the service's keys)"},
	{ModeDevOIDC, ModeDevOIDC, "[-addr 127.0.0.1:9400]: an OpenID Connect provider that signs in whoever the login page names, for trying SSO on one machine"},
}

// Usage writes the help: the commands, then every setting with its default.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "Partner Access: time-bound, customer-approved access for business partners.\n\n")
	fmt.Fprintf(w, "Usage: partneraccess [command] [flags]\n\nCommands:\n")
	for _, c := range Commands {
		name := c.Name
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(w, "  %-10s %s\n", name, c.Help)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "help", "show this help (also -h, --help)")
	fmt.Fprintf(w, "\nSettings: an environment variable each, or the flag beside it (flags win):\n\n")
	fs, _ := newFlagSet(ModeAll, func(string) string { return "" })
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// Config is the whole service configuration.
type Config struct {
	Mode string

	HTTPAddr          string
	DataDir           string
	DatabaseURL       string // PostgreSQL; empty: SQLite in DataDir
	DatabaseMaxConns  int
	TemporalAddress   string // empty in one-process mode: embedded
	TemporalNamespace string
	TaskQueue         string
	TemporalUIAddr    string
	TemporalUIURL     string
	EmbeddedFrontend  string // one-process mode: the embedded frontend's address
	// TemporalPorts are the embedded server's seven internal ports
	// (TEMPORAL_PORTS, a range like 7235-7241); nil: free ones, chosen once
	// and kept in DATA_DIR.
	TemporalPorts []int
	PublicURL     string
	// Temporal's TLS files and API key: a client's in worker, server and
	// one-process mode against TEMPORAL_ADDRESS; the embedded server's in
	// temporal mode.
	TemporalTLSCert, TemporalTLSKey, TemporalTLSCA string
	TemporalAPIKey                                 string

	AccessDuration   time.Duration
	ApprovalTimeout  time.Duration
	ApprovalReminder time.Duration
	ReadyWait        time.Duration
	EmailRetryFor    time.Duration
	ReconcileEvery   time.Duration
	// ProvisionRetryFor bounds activation in a customer's directory.
	ProvisionRetryFor time.Duration
	// GraphURL and EntraLoginURL are Microsoft Graph's and Entra ID's token
	// endpoints (other clouds, tests).
	GraphURL, EntraLoginURL string
	InvitationTTL           time.Duration
	PasswordResetTTL        time.Duration
	// ExpiryWarning and ProfessionalReminder are 0 when off.
	ExpiryWarning        time.Duration
	MaxExtensions        int
	ProfessionalReminder time.Duration
	// TemporalRetention is how long Temporal keeps a closed workflow's
	// history (the embedded server's namespace); the store keeps its own record.
	TemporalRetention time.Duration

	SendGridAPIKey  string
	StoreMailbox    bool // MAILBOX=store: keep emails in the store, shown at /dev/mail
	SendGridBaseURL string
	MailFrom        *mail.Address
	AVDMailFrom     *mail.Address
	AVDDownloadURL  string

	CacheSize int
	DemoData  bool
	SecretKey []byte
	// CodecKeys encrypt Temporal payloads (TEMPORAL_CODEC_KEYS; nil: one
	// derived from SecretKey, see Codec).
	CodecKeys    []codec.Key
	GatewayToken string
	// OperatorToken, as "Authorization: Bearer <token>", lets an operator
	// read everything operators read beyond loopback (every tenant's mail).
	OperatorToken string
	MetricsAddr   string
	LogLevel      slog.Level

	// DirectoryFile is the file directory apply reads; DirectoryResend
	// sends a new invitation to its administrators still invited.
	DirectoryFile   string
	DirectoryResend bool

	// DevMailbox asks for the dev mailbox beyond loopback (admins only).
	DevMailbox bool
	// TrustedProxies may set X-Forwarded-For; nobody else can choose the
	// client address that rate limits count by.
	TrustedProxies []netip.Prefix
}

// Var describes one setting, for flags, errors and the README.
type Var struct {
	Env, Flag, Default, Help string
}

// Vars lists every setting with its default (one-process mode).
var Vars = []Var{
	{"HTTP_ADDR", "http-addr", "127.0.0.1:8080", "address of the HTTP server (API, pages, /metrics)"},
	{"DATA_DIR", "data-dir", "./data", "directory of the SQLite store and, in one-process and temporal mode, the embedded Temporal database"},
	{"DATABASE_URL", "database-url", "", "PostgreSQL URL of the application store (postgres://user:password@host:5432/db); empty: SQLite in DATA_DIR"},
	{"DATABASE_MAX_CONNS", "database-max-conns", "10", "PostgreSQL: connections this process opens at most"},
	{"TEMPORAL_ADDRESS", "temporal-address", "", "Temporal frontend host:port; empty in one-process mode starts an embedded server"},
	{"TEMPORAL_NAMESPACE", "temporal-namespace", "default", "Temporal namespace"},
	{"TEMPORAL_TASK_QUEUE", "task-queue", "partner-access", "task queue of the assignment workflow"},
	{"TEMPORAL_UI_ADDR", "temporal-ui-addr", "127.0.0.1:8233", "one-process and temporal mode: address of the embedded Temporal UI (empty: no UI)"},
	{"TEMPORAL_UI_URL", "temporal-ui-url", "", "base URL of the Temporal UI that each assignment page links to for operators (default in one-process mode: the embedded UI; empty elsewhere: no link)"},
	{"TEMPORAL_RETENTION", "temporal-retention", "720h", "one-process and temporal mode: how long the embedded Temporal keeps a closed assignment's history (the app's own record stays)"},
	{"TEMPORAL_FRONTEND_ADDR", "temporal-frontend-addr", "127.0.0.1:7233", "one-process and temporal mode: address of the embedded Temporal frontend"},
	{"TEMPORAL_PORTS", "temporal-ports", "", "one-process and temporal mode: the embedded server's 7 internal ports, a range like 7235-7241 that leaves out the frontend's, the UI's and HTTP_ADDR's ports (empty: free ports, chosen once and kept in DATA_DIR/temporal-ports.json)"},
	{"TEMPORAL_TLS_CERT", "temporal-tls-cert", "", "PEM client certificate for mTLS to Temporal (with TEMPORAL_TLS_KEY); temporal mode: the embedded frontend's server certificate"},
	{"TEMPORAL_TLS_KEY", "temporal-tls-key", "", "PEM private key of TEMPORAL_TLS_CERT"},
	{"TEMPORAL_TLS_CA", "temporal-tls-ca", "", "PEM CA certificates that sign Temporal's server certificate (default: the system's); temporal mode: clients must present a certificate they sign"},
	{"TEMPORAL_API_KEY", "temporal-api-key", "", "API key for Temporal Cloud, sent as a bearer token over TLS"},
	{"PUBLIC_URL", "public-url", "", "base URL of links in emails, and with loopback names the only Host the HTTP server answers (421 for others) (default: the HTTP server's address; required for the worker)"},
	{"ACCESS_DURATION", "access-duration", "72h", "how long Standard access lasts once approved"},
	{"APPROVAL_TIMEOUT", "approval-timeout", "168h", "how long approvers have to decide"},
	{"APPROVAL_REMINDER", "approval-reminder", "", "remind approvers this long before the deadline (default: 24h, or a quarter of a shorter APPROVAL_TIMEOUT; 0: no reminder)"},
	{"EXPIRY_WARNING", "expiry-warning", "", "warn the partner user this long before Standard access ends, with a link to ask for more time (default: 12h, or a quarter of a shorter ACCESS_DURATION; 0: no warning)"},
	{"MAX_EXTENSIONS", "max-extensions", "2", "extension requests one Standard assignment may make (0: none)"},
	{"PROFESSIONAL_REMINDER", "professional-reminder", "168h", "remind the partner user of open Professional access this often, with a link to unassign (0: never)"},
	{"READY_WAIT", "ready-wait", "15m", "Professional: wait before the partner user logs in"},
	{"EMAIL_RETRY_FOR", "email-retry-for", "24h", "how long one email is retried before it is recorded as failed on its assignment"},
	{"INVITATION_TTL", "invitation-ttl", "168h", "how long an invitation link works (a new invitation voids the old link)"},
	{"PASSWORD_RESET_TTL", "password-reset-ttl", "1h", "how long a password-reset link works"},
	{"RECONCILE_EVERY", "reconcile-every", "5m", "worker: how often the reconciler revokes grants whose workflow is closed or missing"},
	{"PROVISION_RETRY_FOR", "provision-retry-for", "1h", "how long activation in a customer's directory (Entra ID) is retried before the assignment ends failed"},
	{"GRAPH_URL", "graph-url", "https://graph.microsoft.com", "worker: Microsoft Graph's base URL (requests go to $GRAPH_URL/v1.0/...)"},
	{"ENTRA_LOGIN_URL", "entra-login-url", "https://login.microsoftonline.com", "worker: Entra ID's token endpoint base (tokens from $ENTRA_LOGIN_URL/<tenant>/oauth2/v2.0/token); server: sign-in issuers under it are Entra's"},
	{"SENDGRID_API_KEY", "sendgrid-api-key", "", "SendGrid API key; empty in one-process mode keeps emails in the local dev mailbox (/dev/mail)"},
	{"MAILBOX", "mailbox", "", "\"store\" keeps emails in the store's mailbox (/dev/mail, administrators only) instead of sending them; worker and server refuse to start without SENDGRID_API_KEY unless it is set"},
	{"SENDGRID_BASE_URL", "sendgrid-base-url", "https://api.sendgrid.com", "SendGrid API base URL"},
	{"MAIL_FROM", "mail-from", "Partner Access <partner-access@provisioning.example>", "sender of the emails"},
	{"AVD_MAIL_FROM", "avd-mail-from", "No Reply <no-reply@avd.provisioning.example>", "no-reply sender of the Azure Virtual Desktop instructions"},
	{"AVD_DOWNLOAD_URL", "avd-download-url", "https://learn.microsoft.com/azure/virtual-desktop/users/remote-desktop-clients-overview", "where to download the Azure Virtual Desktop client"},
	{"DEMO_DATA", "demo-data", "", "load the demo data (default: on in one-process mode, off otherwise)"},
	{"SECRET_KEY", "secret-key", "", "base64 key of at least 32 bytes for approval tokens and credential encryption; one-process mode makes one in DATA_DIR"},
	{"TEMPORAL_CODEC_KEYS", "temporal-codec-keys", "", "keys that encrypt Temporal payloads, id:base64key,... (32 bytes each): the first encrypts, all decrypt (default: one derived from SECRET_KEY)"},
	{"GATEWAY_TOKEN", "gateway-token", "", "bearer token a gateway sends to GET /api/v1/access (empty: users only)"},
	{"OPERATOR_TOKEN", "operator-token", "", "bearer token of the operator: beyond loopback, the mailbox shows every tenant's mail only with it; administrators see their own organization's (empty: administrators only)"},
	{"METRICS_ADDR", "metrics-addr", "127.0.0.1:9090", "worker mode: address of /metrics and /healthz"},
	{"WORKFLOW_CACHE_SIZE", "workflow-cache-size", "2000", "workflows the worker keeps in memory between tasks (about 64 KB each)"},
	{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"DEV_MAILBOX", "dev-mailbox", "", "serve the dev mailbox (/dev/mail) when HTTP_ADDR is beyond loopback, to administrators only; on loopback it is on whenever SENDGRID_API_KEY is empty"},
	{"DIRECTORY_FILE", "f", "", "directory apply: the YAML file of partners, customers, sites and administrators (see deploy/directory.example.yaml)"},
	{"DIRECTORY_RESEND", "resend", "", "directory apply: send a new invitation to the file's administrators who have not registered yet (the old link stops working)"},
	{"TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client, for the rate limits and for who is on loopback (empty: none)"},
}

// newFlagSet declares a flag per setting, its default taken from getenv when set there.
func newFlagSet(mode string, getenv func(string) string) (*flag.FlagSet, map[string]*string) {
	fs := flag.NewFlagSet("partneraccess "+mode, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the caller prints the error, or Usage for -h
	vals := map[string]*string{}
	for _, v := range Vars {
		def := v.Default
		if e := getenv(v.Env); e != "" {
			def = e
		}
		vals[v.Env] = &def
		if boolFlags[v.Env] {
			fs.Var(boolFlag{vals[v.Env]}, v.Flag, v.Help+" ($"+v.Env+")")
		} else {
			fs.StringVar(vals[v.Env], v.Flag, def, v.Help+" ($"+v.Env+")")
		}
	}
	return fs, vals
}

// boolFlags are the settings given as a flag alone (-resend), like Go's
// boolean flags; -resend=false works too.
var boolFlags = map[string]bool{"DIRECTORY_RESEND": true}

type boolFlag struct{ v *string }

func (b boolFlag) String() string {
	if b.v == nil {
		return ""
	}
	return *b.v
}
func (b boolFlag) Set(s string) error { *b.v = s; return nil }
func (b boolFlag) IsBoolFlag() bool   { return true }

// Load reads the configuration for mode from args (flags) and getenv. For
// -h or --help it returns flag.ErrHelp, and the caller prints Usage.
func Load(mode string, args []string, getenv func(string) string) (Config, error) {
	fs, vals := newFlagSet(mode, getenv)
	if mode == ModeDirectory {
		var err error
		if args, err = directoryCommand(args); err != nil {
			return Config{}, err
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if !knownMode(mode) {
		return Config{}, fmt.Errorf("unknown command %q; the commands are: %s", mode, commandList())
	}
	get := func(env string) string { return strings.TrimSpace(*vals[env]) }
	c := Config{
		Mode: mode, HTTPAddr: get("HTTP_ADDR"), DataDir: get("DATA_DIR"), DatabaseURL: get("DATABASE_URL"),
		TemporalAddress: get("TEMPORAL_ADDRESS"),
		TemporalTLSCert: get("TEMPORAL_TLS_CERT"), TemporalTLSKey: get("TEMPORAL_TLS_KEY"), TemporalTLSCA: get("TEMPORAL_TLS_CA"),
		TemporalAPIKey:    get("TEMPORAL_API_KEY"),
		TemporalNamespace: get("TEMPORAL_NAMESPACE"), TaskQueue: get("TEMPORAL_TASK_QUEUE"),
		TemporalUIAddr: get("TEMPORAL_UI_ADDR"), TemporalUIURL: strings.TrimSuffix(get("TEMPORAL_UI_URL"), "/"), EmbeddedFrontend: get("TEMPORAL_FRONTEND_ADDR"), PublicURL: get("PUBLIC_URL"),
		SendGridAPIKey: get("SENDGRID_API_KEY"), SendGridBaseURL: get("SENDGRID_BASE_URL"),
		AVDDownloadURL: get("AVD_DOWNLOAD_URL"), GatewayToken: get("GATEWAY_TOKEN"), OperatorToken: get("OPERATOR_TOKEN"), MetricsAddr: get("METRICS_ADDR"),
	}
	// Every problem is collected, so that one start reports them all.
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	c.loadTimings(get, bad)
	c.loadMail(get, bad)
	c.checkAddresses(get, bad)
	c.loadSwitches(get, bad)
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration:\n%w", err)
	}
	return c, nil
}

type (
	getter   = func(env string) string
	reporter = func(env, format string, args ...any)
)

// duration reads a duration setting of at least min.
func duration(get getter, bad reporter, env string, min time.Duration) time.Duration {
	d, err := time.ParseDuration(get(env))
	if err != nil {
		bad(env, "%q is not a duration (e.g. 72h, 15m, 30s)", get(env))
	} else if d < min {
		bad(env, "must be at least %s, got %s", min, d)
	}
	return d
}

// loadTimings reads the durations and counts of the workflow and the links.
func (c *Config) loadTimings(get getter, bad reporter) {
	var err error
	c.AccessDuration = duration(get, bad, "ACCESS_DURATION", time.Second)
	c.ApprovalTimeout = duration(get, bad, "APPROVAL_TIMEOUT", time.Second)
	c.ReadyWait = duration(get, bad, "READY_WAIT", time.Second)
	c.EmailRetryFor = duration(get, bad, "EMAIL_RETRY_FOR", time.Second)
	c.ReconcileEvery = duration(get, bad, "RECONCILE_EVERY", time.Second)
	c.ProvisionRetryFor = duration(get, bad, "PROVISION_RETRY_FOR", time.Second)
	c.GraphURL = strings.TrimRight(get("GRAPH_URL"), "/")
	c.EntraLoginURL = strings.TrimRight(get("ENTRA_LOGIN_URL"), "/")
	c.InvitationTTL = duration(get, bad, "INVITATION_TTL", time.Minute)
	c.PasswordResetTTL = duration(get, bad, "PASSWORD_RESET_TTL", time.Minute)
	c.TemporalRetention = duration(get, bad, "TEMPORAL_RETENTION", 24*time.Hour) // Temporal's own minimum is a day
	c.ProfessionalReminder = duration(get, bad, "PROFESSIONAL_REMINDER", 0)
	if c.MaxExtensions, err = strconv.Atoi(get("MAX_EXTENSIONS")); err != nil || c.MaxExtensions < 0 {
		bad("MAX_EXTENSIONS", "%q is not a number from 0 up", get("MAX_EXTENSIONS"))
	}
	// Like the reminder below, the default adapts to the access duration;
	// only a value the user set can conflict with it.
	if get("EXPIRY_WARNING") == "" {
		c.ExpiryWarning = DefaultExpiryWarning(c.AccessDuration)
	} else if c.ExpiryWarning = duration(get, bad, "EXPIRY_WARNING", 0); c.ExpiryWarning >= c.AccessDuration && c.AccessDuration > 0 {
		bad("EXPIRY_WARNING", "%s must be shorter than ACCESS_DURATION (%s); leave EXPIRY_WARNING unset to get %s",
			get("EXPIRY_WARNING"), get("ACCESS_DURATION"), DefaultExpiryWarning(c.AccessDuration))
	}
	// The default adapts to the timeout; only a value the user set can conflict.
	if get("APPROVAL_REMINDER") == "" {
		c.ApprovalReminder = DefaultApprovalReminder(c.ApprovalTimeout)
	} else if c.ApprovalReminder = duration(get, bad, "APPROVAL_REMINDER", 0); c.ApprovalReminder >= c.ApprovalTimeout && c.ApprovalTimeout > 0 {
		bad("APPROVAL_REMINDER", "%s must be shorter than APPROVAL_TIMEOUT (%s); leave APPROVAL_REMINDER unset to get %s",
			get("APPROVAL_REMINDER"), get("APPROVAL_TIMEOUT"), DefaultApprovalReminder(c.ApprovalTimeout))
	}

}

// loadMail reads where emails go and who sends them.
func (c *Config) loadMail(get getter, bad reporter) {
	mode := c.Mode
	var err error
	switch get("MAILBOX") {
	case "":
		if c.SendGridAPIKey == "" && (mode == ModeWorker || mode == ModeServer) {
			bad("SENDGRID_API_KEY", "is required for %q, or emails would never leave the store; set MAILBOX=store to keep them there on purpose (shown at /dev/mail to administrators)", mode)
		}
	case "store":
		c.StoreMailbox = true
	default:
		bad("MAILBOX", "%q is not empty or \"store\"", get("MAILBOX"))
	}
	if u, err := url.Parse(c.SendGridBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SENDGRID_BASE_URL", "%q is not an http(s) URL", c.SendGridBaseURL)
	}
	if c.MailFrom, err = mail.ParseAddress(get("MAIL_FROM")); err != nil {
		bad("MAIL_FROM", "%q is not an email address", get("MAIL_FROM"))
	}
	if c.AVDMailFrom, err = mail.ParseAddress(get("AVD_MAIL_FROM")); err != nil {
		bad("AVD_MAIL_FROM", "%q is not an email address", get("AVD_MAIL_FROM"))
	}

}

// checkAddresses checks where this process listens and what it talks to:
// HTTP, Temporal, the database and the public URL.
func (c *Config) checkAddresses(get getter, bad reporter) {
	mode := c.Mode
	var err error
	embedded := mode == ModeTemporal || (mode == ModeAll && c.TemporalAddress == "")
	if mode == ModeAll || mode == ModeServer {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("HTTP_ADDR", "%q is not host:port", c.HTTPAddr)
		}
	}
	if mode == ModeWorker {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr != "" && err != nil {
			bad("METRICS_ADDR", "%q is not host:port", c.MetricsAddr)
		}
	}
	if c.DataDir == "" {
		bad("DATA_DIR", "must not be empty")
	}
	if c.TemporalAddress == "" && (mode == ModeWorker || mode == ModeServer) {
		bad("TEMPORAL_ADDRESS", "is required for %q: the frontend of your Temporal cluster, e.g. temporal:7233", mode)
	}
	if c.TemporalAddress != "" && mode != ModeTemporal {
		if _, _, err := net.SplitHostPort(c.TemporalAddress); err != nil {
			bad("TEMPORAL_ADDRESS", "%q is not host:port", c.TemporalAddress)
		}
	}
	if embedded {
		if _, _, err := net.SplitHostPort(c.EmbeddedFrontend); err != nil {
			bad("TEMPORAL_FRONTEND_ADDR", "%q is not host:port", c.EmbeddedFrontend)
		}
		if _, _, err := net.SplitHostPort(c.TemporalUIAddr); c.TemporalUIAddr != "" && err != nil {
			bad("TEMPORAL_UI_ADDR", "%q is not host:port", c.TemporalUIAddr)
		}
		if v := get("TEMPORAL_PORTS"); v != "" {
			ps, err := PortRange(v, 7)
			if err != nil {
				bad("TEMPORAL_PORTS", "%v", err)
			}
			c.TemporalPorts = ps
			// The range must leave the service's other ports alone, or the
			// start would fail later on a port "in use" by itself.
			for _, other := range []struct{ name, addr string }{{"TEMPORAL_FRONTEND_ADDR", c.EmbeddedFrontend},
				{"TEMPORAL_UI_ADDR", c.TemporalUIAddr}, {"HTTP_ADDR", c.HTTPAddr}} {
				_, port, _ := net.SplitHostPort(other.addr)
				if n, err := strconv.Atoi(port); err == nil && slices.Contains(ps, n) {
					bad("TEMPORAL_PORTS", "%q holds %s's port %d; choose a range beside it", v, other.name, n)
				}
			}
		}
	}
	if u, err := url.Parse(c.TemporalUIURL); c.TemporalUIURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("TEMPORAL_UI_URL", "%q is not an http(s) URL", c.TemporalUIURL)
	}
	if c.TemporalNamespace == "" {
		bad("TEMPORAL_NAMESPACE", "must not be empty")
	}
	if c.TaskQueue == "" {
		bad("TEMPORAL_TASK_QUEUE", "must not be empty")
	}
	c.checkTemporalSecurity(mode, embedded, bad)
	if u, err := url.Parse(c.DatabaseURL); c.DatabaseURL != "" && (err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "") {
		bad("DATABASE_URL", "is not a postgres:// URL (e.g. postgres://user:password@host:5432/partneraccess)")
	}
	if c.DatabaseMaxConns, err = strconv.Atoi(get("DATABASE_MAX_CONNS")); err != nil || c.DatabaseMaxConns < 1 {
		bad("DATABASE_MAX_CONNS", "%q is not a positive number", get("DATABASE_MAX_CONNS"))
	}
	if c.PublicURL == "" && mode == ModeWorker {
		bad("PUBLIC_URL", "is required for the worker: the base of links in emails, e.g. https://access.example.com")
	}
	// An empty PUBLIC_URL becomes http://<the address the server listens on>.
	if u, err := url.Parse(c.PublicURL); c.PublicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("PUBLIC_URL", "%q is not an http(s) URL", c.PublicURL)
	}
}

// loadSwitches reads the rest: cache size, demo data, the mailbox page,
// proxies, the directory command, logging and the secret key.
func (c *Config) loadSwitches(get getter, bad reporter) {
	mode := c.Mode
	var err error
	if c.CacheSize, err = strconv.Atoi(get("WORKFLOW_CACHE_SIZE")); err != nil || c.CacheSize < 1 {
		bad("WORKFLOW_CACHE_SIZE", "%q is not a positive number", get("WORKFLOW_CACHE_SIZE"))
	}
	demo := get("DEMO_DATA")
	if demo == "" {
		c.DemoData = mode == ModeAll
	} else if c.DemoData, err = strconv.ParseBool(demo); err != nil {
		bad("DEMO_DATA", "%q is not true or false", demo)
	}
	if v := get("DEV_MAILBOX"); v != "" {
		if c.DevMailbox, err = strconv.ParseBool(v); err != nil {
			bad("DEV_MAILBOX", "%q is not true or false", v)
		}
	}
	for _, p := range strings.Split(get("TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				bad("TRUSTED_PROXIES", "%q is not an IP address or CIDR", p)
				continue
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	if mode == ModeDirectory {
		c.checkDirectory(get, bad)
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL"))); err != nil {
		bad("LOG_LEVEL", "%q is not debug, info, warn or error", get("LOG_LEVEL"))
	}
	if k := get("TEMPORAL_CODEC_KEYS"); k != "" {
		if c.CodecKeys, err = codec.ParseKeys(k); err != nil {
			bad("TEMPORAL_CODEC_KEYS", "%v", err)
		}
	}
	if k := get("SECRET_KEY"); k != "" {
		if c.SecretKey, err = base64.StdEncoding.DecodeString(k); err != nil || len(c.SecretKey) < secret.KeySize {
			bad("SECRET_KEY", "must be base64 of at least %d bytes (e.g. openssl rand -base64 32)", secret.KeySize)
		}
	} else if mode == ModeWorker || mode == ModeServer {
		bad("SECRET_KEY", "is required for %q, the same on every worker and server (e.g. openssl rand -base64 32)", mode)
	}
}

// directoryCommand takes the sub-command off directory mode's arguments:
// "apply" is the only one.
func directoryCommand(args []string) ([]string, error) {
	usage := "partneraccess directory apply -f directory.yaml"
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		return args, nil
	case len(args) == 0 || strings.HasPrefix(args[0], "-"):
		return nil, fmt.Errorf("directory: say what to do: %s", usage)
	case args[0] != DirectoryApply:
		return nil, fmt.Errorf("directory: unknown command %q; the only one is %q: %s", args[0], DirectoryApply, usage)
	}
	return args[1:], nil
}

// checkDirectory checks the settings of directory apply.
func (c *Config) checkDirectory(get func(string) string, bad func(env, format string, args ...any)) {
	c.DirectoryFile = get("DIRECTORY_FILE")
	var err error
	if v := get("DIRECTORY_RESEND"); v == "" {
		c.DirectoryResend = false
	} else if c.DirectoryResend, err = strconv.ParseBool(v); err != nil {
		bad("DIRECTORY_RESEND", "%q is not true or false", get("DIRECTORY_RESEND"))
	}
	if c.DirectoryFile == "" {
		bad("DIRECTORY_FILE", "is required: partneraccess directory apply -f directory.yaml (deploy/directory.example.yaml is an example)")
	} else if st, err := os.Stat(c.DirectoryFile); err != nil {
		bad("DIRECTORY_FILE", "%v", err)
	} else if st.IsDir() {
		bad("DIRECTORY_FILE", "%s is a directory, not a file", c.DirectoryFile)
	}
}

// ListensOnLoopback reports whether HTTP_ADDR reaches only this machine.
// A host name other than localhost counts as beyond loopback: it may
// resolve to anything.
func (c Config) ListensOnLoopback() bool {
	host, _, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Mailbox says whether the HTTP server serves the dev mailbox and whether
// it needs an administrator's login (docs/operations.md). On loopback it is open to
// whoever reaches it, as the laptop demo needs, whenever emails stay local;
// beyond loopback it is off unless DEV_MAILBOX is set.
func (c Config) Mailbox() (on, adminsOnly bool) {
	if c.StoreMailbox && c.Mode != ModeAll {
		return true, true // a deployment's store mailbox: administrators only
	}
	if c.ListensOnLoopback() {
		return c.DevMailbox || c.StoreMailbox || (c.SendGridAPIKey == "" && c.Mode == ModeAll), false
	}
	return c.DevMailbox || c.StoreMailbox, true
}

// Warnings are what the service says at start about a risky but valid
// configuration.
func (c Config) Warnings() []string {
	var ws []string
	if c.Mode != ModeWorker && !c.ListensOnLoopback() && c.SendGridAPIKey == "" {
		w := "HTTP_ADDR " + c.HTTPAddr + " is reachable beyond this machine but SENDGRID_API_KEY is empty: emails are not delivered, they stay in the local store"
		if on, _ := c.Mailbox(); on {
			w += "; DEV_MAILBOX shows them to administrators at /dev/mail"
		} else {
			w += "; the dev mailbox is off (DEV_MAILBOX=true serves it to administrators)"
		}
		ws = append(ws, w)
	}
	return ws
}

// DefaultApprovalReminder is the reminder when none is set: a day before
// the deadline, or a quarter of a shorter approval window.
func DefaultApprovalReminder(timeout time.Duration) time.Duration {
	return min(24*time.Hour, timeout/4)
}

// DefaultExpiryWarning is the expiry warning when none is set: 12 hours
// before access ends, or a quarter of a shorter access.
func DefaultExpiryWarning(access time.Duration) time.Duration {
	return min(12*time.Hour, access/4)
}

func knownMode(mode string) bool {
	for _, c := range Commands {
		if c.Mode == mode {
			return true
		}
	}
	return false
}

// commandList names the commands for an error message.
func commandList() string {
	names := make([]string, 0, len(Commands))
	for _, c := range Commands {
		if c.Name == "" {
			names = append(names, "none (everything)")
		} else {
			names = append(names, strconv.Quote(c.Name))
		}
	}
	return strings.Join(names, ", ")
}

// Codec is the payload codec of every Temporal client and worker:
// CodecKeys, the first encrypting, then the key derived from SecretKey
// (load it first), which encrypts when CodecKeys is empty and otherwise
// still decrypts what it wrote before.
func (c *Config) Codec() (*codec.Codec, error) {
	derived, err := codec.DerivedKey(c.SecretKey)
	if err != nil {
		return nil, err
	}
	keys := append([]codec.Key(nil), c.CodecKeys...)
	if !slices.ContainsFunc(keys, func(k codec.Key) bool { return k.ID == derived.ID }) {
		keys = append(keys, derived)
	}
	return codec.New(keys)
}

// LoadOrCreateSecretKey returns the configured key or, in one-process mode,
// the key kept in DATA_DIR (made on the first start), so approval links and
// credentials survive a restart.
func (c *Config) LoadOrCreateSecretKey() error {
	if c.SecretKey != nil {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := secret.NewMasterKey()
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		c.SecretKey = key
		return nil
	} else if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if c.SecretKey, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err != nil || len(c.SecretKey) < secret.KeySize {
		return fmt.Errorf("%s does not hold a valid key; delete it to make a new one", path)
	}
	return nil
}

// checkTemporalSecurity checks the TLS files and API key: they belong to a
// client of TEMPORAL_ADDRESS, or to the embedded server of temporal mode.
func (c *Config) checkTemporalSecurity(mode string, embedded bool, bad func(env, format string, args ...any)) {
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		bad("TEMPORAL_TLS_CERT", "and TEMPORAL_TLS_KEY go together: set both or neither")
	}
	anyTLS, missing := false, false
	for _, f := range []struct{ env, path string }{{"TEMPORAL_TLS_CERT", c.TemporalTLSCert}, {"TEMPORAL_TLS_KEY", c.TemporalTLSKey}, {"TEMPORAL_TLS_CA", c.TemporalTLSCA}} {
		if f.path == "" {
			continue
		}
		anyTLS = true
		if _, err := os.Stat(f.path); err != nil {
			bad(f.env, "%v", err)
			missing = true
		}
	}
	switch {
	case mode == ModeTemporal:
		if c.TemporalTLSCA != "" && c.TemporalTLSCert == "" {
			bad("TEMPORAL_TLS_CA", "needs TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: the embedded frontend checks clients' certificates only over TLS")
		}
		if c.TemporalAPIKey != "" {
			bad("TEMPORAL_API_KEY", "is for clients of Temporal Cloud; the embedded server does not check API keys")
		}
	case embedded:
		if anyTLS || c.TemporalAPIKey != "" {
			bad("TEMPORAL_ADDRESS", "is needed with TEMPORAL_TLS_* or TEMPORAL_API_KEY: the embedded server of one-process mode has no TLS")
		}
	case !missing:
		if _, err := c.TemporalClientTLS(); err != nil {
			bad("TEMPORAL_TLS_CERT", "%v", err)
		}
	}
}

// TemporalClientTLS is the TLS configuration for connecting to
// TEMPORAL_ADDRESS, or nil for plain gRPC. An API key alone means TLS
// with the system's CAs, as Temporal Cloud requires.
func (c Config) TemporalClientTLS() (*tls.Config, error) {
	if c.TemporalTLSCert == "" && c.TemporalTLSCA == "" && c.TemporalAPIKey == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TemporalTLSCert != "" && c.TemporalTLSKey != "" {
		cert, err := tls.LoadX509KeyPair(c.TemporalTLSCert, c.TemporalTLSKey)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	if c.TemporalTLSCA != "" {
		pem, err := os.ReadFile(c.TemporalTLSCA)
		if err != nil {
			return nil, fmt.Errorf("CA: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA: no PEM certificate in %s", c.TemporalTLSCA)
		}
	}
	return t, nil
}

// PortRange parses a range of n ports, "7235-7241".
func PortRange(v string, n int) ([]int, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(v), "-")
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || errA != nil || errB != nil || a < 1 || b > 65535 || b-a+1 != n {
		return nil, fmt.Errorf("%q is not a range of %d ports like 7235-%d", v, n, 7235+n-1)
	}
	ps := make([]int, n)
	for i := range ps {
		ps[i] = a + i
	}
	return ps, nil
}
