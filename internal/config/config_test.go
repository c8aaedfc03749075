package config_test

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/partneraccess/partneraccess/internal/config"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes

func TestDefaultsOfOneProcessMode(t *testing.T) {
	c, err := config.Load(config.ModeAll, nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.DataDir != "./data" || c.TemporalUIAddr != "127.0.0.1:8233" ||
		c.AccessDuration != 72*time.Hour || c.ApprovalTimeout != 168*time.Hour || !c.DemoData ||
		c.PublicURL != "" || c.TemporalNamespace != "default" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c, err := config.Load(config.ModeServer, []string{"-access-duration", "5s"},
		env(map[string]string{"ACCESS_DURATION": "1h", "TEMPORAL_ADDRESS": "temporal:7233", "SECRET_KEY": key, "MAILBOX": "store"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.StoreMailbox || c.EmailRetryFor != 24*time.Hour {
		t.Fatalf("mailbox %v, email retry %v; want the store mailbox and 24h", c.StoreMailbox, c.EmailRetryFor)
	}
	if c.AccessDuration != 5*time.Second || c.DemoData {
		t.Fatalf("access %v demo %v, want 5s and no demo data in server mode", c.AccessDuration, c.DemoData)
	}
}

func TestBadConfigurationIsRefusedWithClearMessages(t *testing.T) {
	cases := []struct {
		mode string
		env  map[string]string
		want string
	}{
		{config.ModeAll, map[string]string{"ACCESS_DURATION": "three days"}, "ACCESS_DURATION"},
		{config.ModeAll, map[string]string{"ACCESS_DURATION": "-1h"}, "ACCESS_DURATION: must be at least"},
		{config.ModeAll, map[string]string{"APPROVAL_TIMEOUT": "1h", "APPROVAL_REMINDER": "2h"}, "APPROVAL_REMINDER: 2h must be shorter than APPROVAL_TIMEOUT (1h)"},
		{config.ModeAll, map[string]string{"HTTP_ADDR": "8080"}, "HTTP_ADDR"},
		{config.ModeAll, map[string]string{"PUBLIC_URL": "ftp://x"}, "PUBLIC_URL"},
		{config.ModeAll, map[string]string{"MAIL_FROM": "not an address"}, "MAIL_FROM"},
		{config.ModeAll, map[string]string{"DEMO_DATA": "maybe"}, "DEMO_DATA"},
		{config.ModeAll, map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{config.ModeAll, map[string]string{"SECRET_KEY": "c2hvcnQ="}, "SECRET_KEY"},
		{config.ModeWorker, map[string]string{"SECRET_KEY": key}, "TEMPORAL_ADDRESS: is required"},
		{config.ModeWorker, map[string]string{"SECRET_KEY": key, "TEMPORAL_ADDRESS": "temporal:7233"}, "PUBLIC_URL: is required"},
		{config.ModeServer, map[string]string{"TEMPORAL_ADDRESS": "temporal:7233"}, "SECRET_KEY: is required"},
		{config.ModeWorker, map[string]string{"SECRET_KEY": key, "TEMPORAL_ADDRESS": "temporal:7233", "PUBLIC_URL": "https://a.example"}, "SENDGRID_API_KEY: is required"},
		{config.ModeServer, map[string]string{"SECRET_KEY": key, "TEMPORAL_ADDRESS": "temporal:7233", "MAILBOX": "memory"}, "MAILBOX"},
		{config.ModeAll, map[string]string{"EMAIL_RETRY_FOR": "0s"}, "EMAIL_RETRY_FOR: must be at least"},
		{"frontend", nil, `unknown command "frontend"; the commands are: none (everything), "worker", "server", "temporal"`},
		{config.ModeServer, map[string]string{"TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"},
		{config.ModeServer, map[string]string{"TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "DATABASE_MAX_CONNS": "0"}, "DATABASE_MAX_CONNS"},
		{config.ModeServer, map[string]string{"TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "TEMPORAL_TLS_CERT": "/nonexistent/c.pem"}, "TEMPORAL_TLS_CERT: and TEMPORAL_TLS_KEY go together"},
		{config.ModeWorker, map[string]string{"TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "PUBLIC_URL": "http://x",
			"TEMPORAL_TLS_CERT": "/nonexistent/c.pem", "TEMPORAL_TLS_KEY": "/nonexistent/k.pem"}, "TEMPORAL_TLS_KEY: stat /nonexistent/k.pem"},
		{config.ModeAll, map[string]string{"TEMPORAL_API_KEY": "k"}, "TEMPORAL_ADDRESS: is needed with TEMPORAL_TLS_* or TEMPORAL_API_KEY"},
		{config.ModeTemporal, map[string]string{"TEMPORAL_API_KEY": "k"}, "TEMPORAL_API_KEY: is for clients"},
		{config.ModeTemporal, map[string]string{"TEMPORAL_FRONTEND_ADDR": "7233"}, "TEMPORAL_FRONTEND_ADDR"},
		{config.ModeAll, map[string]string{"TEMPORAL_CODEC_KEYS": "k1:c2hvcnQ="}, `TEMPORAL_CODEC_KEYS: the key "k1" is not 32 bytes`},
		{config.ModeAll, map[string]string{"TEMPORAL_PORTS": "7235"}, `TEMPORAL_PORTS: "7235" is not a range of 7 ports like 7235-7241`},
		{config.ModeTemporal, map[string]string{"TEMPORAL_PORTS": "7235-7240"}, `TEMPORAL_PORTS: "7235-7240" is not a range of 7 ports`},
		{config.ModeAll, map[string]string{"TEMPORAL_PORTS": "7241-7235"}, `TEMPORAL_PORTS: "7241-7235" is not a range of 7 ports like 7235-7241`},
		{config.ModeAll, map[string]string{"TEMPORAL_PORTS": "ports"}, `TEMPORAL_PORTS: "ports" is not a range of 7 ports`},
		{config.ModeAll, map[string]string{"TEMPORAL_PORTS": "65530-65536"}, `TEMPORAL_PORTS: "65530-65536" is not a range of 7 ports`},
		{config.ModeAll, map[string]string{"TEMPORAL_PORTS": "7230-7236"}, `TEMPORAL_PORTS: "7230-7236" holds TEMPORAL_FRONTEND_ADDR's port 7233; choose a range beside it`},
		{config.ModeTemporal, map[string]string{"TEMPORAL_PORTS": "8230-8236"}, `TEMPORAL_PORTS: "8230-8236" holds TEMPORAL_UI_ADDR's port 8233`},
		{config.ModeAll, map[string]string{"TEMPORAL_PORTS": "8075-8081"}, `TEMPORAL_PORTS: "8075-8081" holds HTTP_ADDR's port 8080`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, err := config.Load(tc.mode, nil, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestApprovalReminderDefaultAdaptsToTheTimeout(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want time.Duration
	}{
		{nil, 24 * time.Hour}, // a quarter of 168h is more than a day
		{map[string]string{"APPROVAL_TIMEOUT": "48h"}, 12 * time.Hour},
		{map[string]string{"APPROVAL_TIMEOUT": "10m"}, 150 * time.Second},
		{map[string]string{"APPROVAL_TIMEOUT": "10m", "APPROVAL_REMINDER": "5m"}, 5 * time.Minute},
		{map[string]string{"APPROVAL_TIMEOUT": "10m", "APPROVAL_REMINDER": "0"}, 0},
	}
	for _, tc := range cases {
		c, err := config.Load(config.ModeAll, nil, env(tc.env))
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if c.ApprovalReminder != tc.want {
			t.Errorf("%v: reminder %v, want %v", tc.env, c.ApprovalReminder, tc.want)
		}
	}
	// A flag is a value the user set, too.
	if _, err := config.Load(config.ModeAll, []string{"-approval-timeout", "10m", "-approval-reminder", "10m"}, env(nil)); err == nil ||
		!strings.Contains(err.Error(), "APPROVAL_REMINDER: 10m must be shorter than APPROVAL_TIMEOUT (10m)") {
		t.Fatalf("got %v, want the conflict named with both values", err)
	}
}

func TestExpiryWarningDefaultAdaptsToTheAccessDuration(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want time.Duration
	}{
		{nil, 12 * time.Hour}, // a quarter of 72h is more than 12h
		{map[string]string{"ACCESS_DURATION": "24h"}, 6 * time.Hour},
		{map[string]string{"ACCESS_DURATION": "20s"}, 5 * time.Second},
		{map[string]string{"ACCESS_DURATION": "20s", "EXPIRY_WARNING": "10s"}, 10 * time.Second},
		{map[string]string{"EXPIRY_WARNING": "0"}, 0},
	}
	for _, tc := range cases {
		c, err := config.Load(config.ModeAll, nil, env(tc.env))
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if c.ExpiryWarning != tc.want {
			t.Errorf("%v: warning %v, want %v", tc.env, c.ExpiryWarning, tc.want)
		}
	}
	c, err := config.Load(config.ModeAll, nil, env(nil))
	if err != nil || c.MaxExtensions != 2 || c.ProfessionalReminder != 168*time.Hour || c.TemporalRetention != 720*time.Hour {
		t.Fatalf("defaults: %d extensions, reminder %v, retention %v, %v", c.MaxExtensions, c.ProfessionalReminder, c.TemporalRetention, err)
	}
	if _, err := config.Load(config.ModeAll, []string{"-access-duration", "10m", "-expiry-warning", "1h"}, env(nil)); err == nil ||
		!strings.Contains(err.Error(), "EXPIRY_WARNING: 1h must be shorter than ACCESS_DURATION (10m)") {
		t.Fatalf("got %v, want the conflict named with both values", err)
	}
}

func TestBadExtensionSettingsAreNamed(t *testing.T) {
	for _, tc := range []struct{ env, value, want string }{
		{"MAX_EXTENSIONS", "-1", "MAX_EXTENSIONS"},
		{"MAX_EXTENSIONS", "two", "MAX_EXTENSIONS"},
		{"PROFESSIONAL_REMINDER", "weekly", "PROFESSIONAL_REMINDER"},
		{"TEMPORAL_RETENTION", "1h", "TEMPORAL_RETENTION: must be at least 24h0m0s"},
		{"TEMPORAL_UI_URL", "localhost:8233", "TEMPORAL_UI_URL"},
	} {
		if _, err := config.Load(config.ModeAll, nil, env(map[string]string{tc.env: tc.value})); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: got %v, want %q", tc.env, tc.value, err, tc.want)
		}
	}
}

func TestHelpListsEveryCommandAndSetting(t *testing.T) {
	if _, err := config.Load(config.ModeAll, []string{"--help"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: got %v, want flag.ErrHelp", err)
	}
	var b strings.Builder
	config.Usage(&b)
	help := b.String()
	for _, c := range config.Commands {
		name := c.Name
		if name == "" {
			name = "(none)"
		}
		if !strings.Contains(help, "  "+name+" ") || !strings.Contains(help, c.Help) {
			t.Errorf("help lacks the command %q: %s", name, c.Help)
		}
	}
	for _, v := range config.Vars {
		if !strings.Contains(help, "-"+v.Flag) || !strings.Contains(help, "$"+v.Env) {
			t.Errorf("help lacks the setting %s (-%s)", v.Env, v.Flag)
		}
	}
}

func TestSecretKeyIsMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	c, err := config.Load(config.ModeAll, nil, env(map[string]string{"DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LoadOrCreateSecretKey(); err != nil {
		t.Fatal(err)
	}
	first := string(c.SecretKey)
	c2, _ := config.Load(config.ModeAll, nil, env(map[string]string{"DATA_DIR": dir}))
	if err := c2.LoadOrCreateSecretKey(); err != nil {
		t.Fatal(err)
	}
	if string(c2.SecretKey) != first || len(first) < 32 {
		t.Fatal("the key made on the first start was not kept")
	}
}

func TestDevMailboxBeyondLoopbackNeedsDevMailboxAndAnAdmin(t *testing.T) {
	cases := []struct {
		name       string
		mode       string
		env        map[string]string
		on, admins bool
		warns      bool
	}{
		{"loopback demo", config.ModeAll, nil, true, false, false},
		{"localhost", config.ModeAll, map[string]string{"HTTP_ADDR": "localhost:8080"}, true, false, false},
		{"IPv6 loopback", config.ModeAll, map[string]string{"HTTP_ADDR": "[::1]:8080"}, true, false, false},
		{"loopback with SendGrid", config.ModeAll, map[string]string{"SENDGRID_API_KEY": "SG.x"}, false, false, false},
		{"all interfaces", config.ModeAll, map[string]string{"HTTP_ADDR": ":8080"}, false, true, true},
		{"0.0.0.0", config.ModeAll, map[string]string{"HTTP_ADDR": "0.0.0.0:8080"}, false, true, true},
		{"host name", config.ModeAll, map[string]string{"HTTP_ADDR": "access.internal:8080"}, false, true, true},
		{"0.0.0.0 with DEV_MAILBOX", config.ModeAll, map[string]string{"HTTP_ADDR": "0.0.0.0:8080", "DEV_MAILBOX": "true"}, true, true, true},
		{"0.0.0.0 with SendGrid", config.ModeAll, map[string]string{"HTTP_ADDR": "0.0.0.0:8080", "SENDGRID_API_KEY": "SG.x"}, false, true, false},
		{"server mode with SendGrid", config.ModeServer, map[string]string{"HTTP_ADDR": "0.0.0.0:8080", "TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "SENDGRID_API_KEY": "SG.x"}, false, true, false},
		{"server mode, MAILBOX=store on loopback", config.ModeServer, map[string]string{"TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "MAILBOX": "store"}, true, true, false},
		{"server mode, MAILBOX=store beyond loopback", config.ModeServer, map[string]string{"HTTP_ADDR": "0.0.0.0:8080", "TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "MAILBOX": "store"}, true, true, true},
		{"worker: no HTTP server", config.ModeWorker, map[string]string{"HTTP_ADDR": "0.0.0.0:8080", "TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "PUBLIC_URL": "https://a.example", "SENDGRID_API_KEY": "SG.x"}, false, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(tc.mode, nil, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			on, admins := c.Mailbox()
			if on != tc.on || admins != tc.admins {
				t.Fatalf("mailbox on %v admins only %v, want %v %v", on, admins, tc.on, tc.admins)
			}
			ws := c.Warnings()
			if warned := len(ws) > 0 && strings.Contains(ws[0], "SENDGRID_API_KEY"); warned != tc.warns {
				t.Fatalf("warnings %q, want a SendGrid warning: %v", ws, tc.warns)
			}
		})
	}
}

func TestTrustedProxiesAndDevMailboxAreParsed(t *testing.T) {
	c, err := config.Load(config.ModeAll, nil, env(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1,::1"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedProxies) != 3 || c.TrustedProxies[1].String() != "192.0.2.1/32" || c.TrustedProxies[2].String() != "::1/128" {
		t.Fatalf("trusted proxies %v", c.TrustedProxies)
	}
	for name, e := range map[string]map[string]string{
		"TRUSTED_PROXIES": {"TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"},
		"DEV_MAILBOX":     {"DEV_MAILBOX": "sometimes"},
	} {
		if _, err := config.Load(config.ModeAll, nil, env(e)); err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("got %v, want an error naming %s", err, name)
		}
	}
}

func TestTemporalModeNeedsNoSecretKeyNorHTTPAddress(t *testing.T) {
	c, err := config.Load(config.ModeTemporal, nil, env(map[string]string{"HTTP_ADDR": "not used"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.EmbeddedFrontend != "127.0.0.1:7233" || c.TemporalUIAddr != "127.0.0.1:8233" || c.DataDir != "./data" {
		t.Fatalf("temporal mode: %+v", c)
	}
}

func TestAPIKeyAloneMeansTLSWithTheSystemCAs(t *testing.T) {
	c, err := config.Load(config.ModeServer, nil, env(map[string]string{"TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233",
		"SECRET_KEY": key, "TEMPORAL_API_KEY": "secret-api-key", "DATABASE_URL": "postgres://u:p@db:5432/pa", "MAILBOX": "store"}))
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := c.TemporalClientTLS()
	if err != nil || tlsCfg == nil || tlsCfg.RootCAs != nil || len(tlsCfg.Certificates) != 0 {
		t.Fatalf("TLS = %+v, %v; want TLS with the system's CAs and no client certificate", tlsCfg, err)
	}
	if c.DatabaseURL != "postgres://u:p@db:5432/pa" || c.DatabaseMaxConns != 10 {
		t.Fatalf("database %q max %d", c.DatabaseURL, c.DatabaseMaxConns)
	}
	c.TemporalAPIKey = ""
	if tlsCfg, _ := c.TemporalClientTLS(); tlsCfg != nil {
		t.Fatal("plain gRPC expected without TLS files or API key")
	}
}

// TEMPORAL_CODEC_KEYS's first key encrypts; the key derived from
// SECRET_KEY still decrypts what it wrote before the keys were set.
func TestCodecKeysEncryptAndTheDerivedKeyStillDecrypts(t *testing.T) {
	derivedOnly, err := config.Load(config.ModeAll, nil, env(map[string]string{"SECRET_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	before, err := derivedOnly.Codec()
	if err != nil {
		t.Fatal(err)
	}
	old, _ := before.Encode([]*commonpb.Payload{{Data: []byte("written with the derived key")}})
	own := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	c, err := config.Load(config.ModeAll, nil, env(map[string]string{"SECRET_KEY": key, "TEMPORAL_CODEC_KEYS": "2026-12:" + own}))
	if err != nil {
		t.Fatal(err)
	}
	after, err := c.Codec()
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := after.Decode(old); err != nil || string(dec[0].Data) != "written with the derived key" {
		t.Fatalf("the derived key's payload after TEMPORAL_CODEC_KEYS was set: %v", err)
	}
	if enc, _ := after.Encode([]*commonpb.Payload{{Data: []byte("x")}}); string(enc[0].Metadata["encryption-key-id"]) != "2026-12" {
		t.Fatalf("encrypted with %q, want the first listed key", enc[0].Metadata["encryption-key-id"])
	}
}

func TestTemporalPortsAreARangeOfSeven(t *testing.T) {
	c, err := config.Load(config.ModeAll, nil, env(map[string]string{"TEMPORAL_PORTS": " 7235-7241 "}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{7235, 7236, 7237, 7238, 7239, 7240, 7241}; fmt.Sprint(c.TemporalPorts) != fmt.Sprint(want) {
		t.Fatalf("TEMPORAL_PORTS gave %v, want %v", c.TemporalPorts, want)
	}
	if c, err := config.Load(config.ModeAll, nil, env(nil)); err != nil || c.TemporalPorts != nil {
		t.Fatalf("without TEMPORAL_PORTS: %v %v", c.TemporalPorts, err)
	}
}
