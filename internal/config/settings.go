package config

import (
	"flag"
	"io"
)

// Var describes one setting, for flags, errors and the README.
type Var struct {
	Env, Flag, Default, Help string
}

// Vars lists every setting with its default (one-process mode).
var Vars = []Var{
	{"HTTP_ADDR", "http-addr", "127.0.0.1:8080", "address of the HTTP server (API, pages, /metrics)"},
	{"HTTP_TLS_CERT", "http-tls-cert", "", "PEM certificate (with its chain) the HTTP server serves HTTPS with, with HTTP_TLS_KEY (empty: plain HTTP, e.g. behind a reverse proxy that serves HTTPS)"},
	{"HTTP_TLS_KEY", "http-tls-key", "", "PEM private key of HTTP_TLS_CERT"},
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
	{"POLICY_MAX_DURATION", "policy-max-duration", "720h", "the most any customer's policy may give: no duration of a policy (access, approval, scheduling) passes it"},
	{"PROFESSIONAL_REMINDER", "professional-reminder", "168h", "remind the partner user of open Professional access this often, with a link to unassign (0: never)"},
	{"READY_WAIT", "ready-wait", "15m", "Professional: wait before the partner user logs in"},
	{"EMAIL_RETRY_FOR", "email-retry-for", "24h", "how long one email is retried before it is recorded as failed on its assignment"},
	{"INVITATION_TTL", "invitation-ttl", "168h", "how long an invitation link works (a new invitation voids the old link)"},
	{"PASSWORD_RESET_TTL", "password-reset-ttl", "1h", "how long a password-reset link works"},
	{"RECONCILE_EVERY", "reconcile-every", "5m", "worker: how often the reconciler revokes grants whose workflow is closed or missing"},
	{"REVIEW_EVERY", "review-every", "2160h", "worker: how often each organization's access is reviewed (90 days; an organization's review: {every} in the directory file overrides it)"},
	{"REVIEW_PASS_EVERY", "review-pass-every", "1h", "worker: how often a pass starts the reviews that are due and ends the partner permissions whose end came"},
	{"WEBHOOK_RETRY_FOR", "webhook-retry-for", "72h", "worker: how long a webhook event is retried, with backoff, before the webhook is paused and its administrators told"},
	{"PROVISION_RETRY_FOR", "provision-retry-for", "1h", "how long activation in a customer's directory (Entra ID) is retried before the assignment ends failed"},
	{"GRAPH_URL", "graph-url", "https://graph.microsoft.com", "worker: Microsoft Graph's base URL (requests go to $GRAPH_URL/v1.0/...)"},
	{"ARM_URL", "arm-url", "https://management.azure.com", "worker: Azure Resource Manager's base URL, for the customers' Azure Virtual Desktop host pools (entra: avd:)"},
	{"GRAPH_WRITES_PER_SECOND", "graph-writes-per-second", "18", "worker: writes a second to each Entra tenant, shared by all its activities (Graph allows one app 20); a 429 holds the tenant for its Retry-After"},
	{"ENTRA_LOGIN_URL", "entra-login-url", "https://login.microsoftonline.com", "worker: Entra ID's token endpoint base (tokens from $ENTRA_LOGIN_URL/<tenant>/oauth2/v2.0/token); server: sign-in issuers under it are Entra's"},
	{"TEAMS_APP_ID", "teams-app-id", "", "the Azure Bot's Microsoft App ID for approvals in Teams (empty: Teams is off)"},
	{"TEAMS_APP_SECRET", "teams-app-secret", "", "the Azure Bot's client secret (or TEAMS_APP_SECRET_FILE)"},
	{"TEAMS_APP_SECRET_FILE", "teams-app-secret-file", "", "a file holding the Azure Bot's client secret"},
	{"BOTFRAMEWORK_OPENID_URL", "botframework-openid-url", "https://login.botframework.com/v1/.well-known/openidconfiguration", "the Bot Framework's OpenID metadata, whose keys sign the activities Teams posts to the bot"},
	{"SENDGRID_API_KEY", "sendgrid-api-key", "", "SendGrid API key; empty in one-process mode keeps emails in the local dev mailbox (/dev/mail)"},
	{"MAILBOX", "mailbox", "", "\"store\" keeps emails in the store's mailbox (/dev/mail, administrators only) instead of sending them; worker and server refuse to start without SENDGRID_API_KEY unless it is set"},
	{"SENDGRID_BASE_URL", "sendgrid-base-url", "https://api.sendgrid.com", "SendGrid API base URL"},
	{"MAIL_FROM", "mail-from", "Partner Access <partner-access@provisioning.example>", "sender of the emails"},
	{"AVD_MAIL_FROM", "avd-mail-from", "No Reply <no-reply@avd.provisioning.example>", "no-reply sender of the Azure Virtual Desktop instructions"},
	{"AVD_DOWNLOAD_URL", "avd-download-url", "https://learn.microsoft.com/azure/virtual-desktop/users/remote-desktop-clients-overview", "where to download the Azure Virtual Desktop client"},
	{"SLACK_API_URL", "slack-api-url", "https://slack.com/api/", "Slack's Web API base of the customers' Slack apps (worker: direct messages to approvers; server: their update after a click)"},
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
