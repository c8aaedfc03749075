// Package config reads the service configuration once, at start, from
// environment variables and flags (flags win), and validates it.
//
// Load only reads: it checks that the files a setting names exist and that
// Temporal's TLS files load, so a bad start reports every problem at once.
// What has effects is asked for by the caller once the configuration is
// valid: LoadOrCreateSecretKey writes one-process mode's key file, Codec
// builds the payload codec.
package config

import (
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/codec"
)

// Config is the whole service configuration.
type Config struct {
	Mode string

	// HTTPTLSCert and HTTPTLSKey make the HTTP server serve HTTPS itself.
	HTTPTLSCert, HTTPTLSKey string

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
	ReviewEvery      time.Duration // REVIEW_EVERY: each organization's access reviews (SPEC §15)
	ReviewPassEvery  time.Duration // REVIEW_PASS_EVERY: the pass that starts them and ends permissions
	// WebhookRetryFor is how long one event is retried before its webhook
	// is paused (SPEC §15).
	WebhookRetryFor time.Duration
	// ProvisionRetryFor bounds activation in a customer's directory.
	ProvisionRetryFor time.Duration
	// GraphURL and EntraLoginURL are Microsoft Graph's and Entra ID's token
	// endpoints (other clouds, tests).
	GraphURL, EntraLoginURL string
	// Teams is the Azure Bot of approvals in Teams (TeamsAppID "": off).
	TeamsAppID, TeamsAppSecret, BotFrameworkOpenIDURL string
	// ARMURL is Azure Resource Manager's endpoint (AVD host pools).
	ARMURL string
	// GraphWritesPerSecond paces the writes to each tenant.
	GraphWritesPerSecond float64
	InvitationTTL        time.Duration
	PasswordResetTTL     time.Duration
	// ExpiryWarning and ProfessionalReminder are 0 when off.
	ExpiryWarning        time.Duration
	MaxExtensions        int
	ProfessionalReminder time.Duration
	// PolicyMaxDuration is the ceiling of every customer's policy (R10).
	PolicyMaxDuration time.Duration
	// TemporalRetention is how long Temporal keeps a closed workflow's
	// history (the embedded server's namespace); the store keeps its own record.
	TemporalRetention time.Duration

	SendGridAPIKey  string
	StoreMailbox    bool // MAILBOX=store: keep emails in the store, shown at /dev/mail
	SendGridBaseURL string
	MailFrom        *mail.Address
	AVDMailFrom     *mail.Address
	AVDDownloadURL  string
	// SlackAPIURL is Slack's Web API base (tests point it at a stand-in).
	SlackAPIURL string

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
