package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/secret"
)

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
		Mode: mode, HTTPAddr: get("HTTP_ADDR"), HTTPTLSCert: get("HTTP_TLS_CERT"), HTTPTLSKey: get("HTTP_TLS_KEY"), DataDir: get("DATA_DIR"), DatabaseURL: get("DATABASE_URL"),
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
	c.SlackAPIURL = get("SLACK_API_URL")
	if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("SLACK_API_URL", "%q is not an http(s) URL", c.SlackAPIURL)
	}
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
	c.ReviewEvery = duration(get, bad, "REVIEW_EVERY", time.Hour)
	c.ReviewPassEvery = duration(get, bad, "REVIEW_PASS_EVERY", time.Second)
	c.WebhookRetryFor = duration(get, bad, "WEBHOOK_RETRY_FOR", time.Second)
	c.ProvisionRetryFor = duration(get, bad, "PROVISION_RETRY_FOR", time.Second)
	c.GraphURL = strings.TrimRight(get("GRAPH_URL"), "/")
	c.EntraLoginURL = strings.TrimRight(get("ENTRA_LOGIN_URL"), "/")
	c.loadTeams(get, bad)
	c.ARMURL = strings.TrimRight(get("ARM_URL"), "/")
	if c.GraphWritesPerSecond, err = strconv.ParseFloat(get("GRAPH_WRITES_PER_SECOND"), 64); err != nil ||
		!(c.GraphWritesPerSecond > 0 && c.GraphWritesPerSecond <= 1000) {
		bad("GRAPH_WRITES_PER_SECOND", "%q is not a number of writes a second above 0, at most 1000", get("GRAPH_WRITES_PER_SECOND"))
	}
	c.InvitationTTL = duration(get, bad, "INVITATION_TTL", time.Minute)
	c.PasswordResetTTL = duration(get, bad, "PASSWORD_RESET_TTL", time.Minute)
	c.TemporalRetention = duration(get, bad, "TEMPORAL_RETENTION", 24*time.Hour) // Temporal's own minimum is a day
	c.ProfessionalReminder = duration(get, bad, "PROFESSIONAL_REMINDER", 0)
	c.PolicyMaxDuration = duration(get, bad, "POLICY_MAX_DURATION", time.Second)
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

// loadTeams reads the Azure Bot's settings; its secret comes from the
// variable or its file, and never appears in an error.
func (c *Config) loadTeams(get getter, bad reporter) {
	c.TeamsAppID, c.BotFrameworkOpenIDURL = strings.TrimSpace(get("TEAMS_APP_ID")), get("BOTFRAMEWORK_OPENID_URL")
	c.TeamsAppSecret = get("TEAMS_APP_SECRET")
	if f := get("TEAMS_APP_SECRET_FILE"); f != "" {
		if c.TeamsAppSecret != "" {
			bad("TEAMS_APP_SECRET_FILE", "and TEAMS_APP_SECRET are both set; set one")
		}
		b, err := os.ReadFile(f)
		if err != nil {
			bad("TEAMS_APP_SECRET_FILE", "cannot be read: %v", errors.Unwrap(err))
		}
		c.TeamsAppSecret = strings.TrimSpace(string(b))
	}
	if c.TeamsAppID != "" && c.TeamsAppSecret == "" {
		bad("TEAMS_APP_SECRET", "is required with TEAMS_APP_ID (or TEAMS_APP_SECRET_FILE)")
	}
	if u, err := url.Parse(c.BotFrameworkOpenIDURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("BOTFRAMEWORK_OPENID_URL", "must be an http(s) URL")
	}
}
