package config_test

import (
	"strings"
	"testing"
	"time"

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
		env(map[string]string{"ACCESS_DURATION": "1h", "TEMPORAL_ADDRESS": "temporal:7233", "SECRET_KEY": key}))
	if err != nil {
		t.Fatal(err)
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
		{config.ModeAll, map[string]string{"APPROVAL_TIMEOUT": "1h", "APPROVAL_REMINDER": "2h"}, "APPROVAL_REMINDER"},
		{config.ModeAll, map[string]string{"HTTP_ADDR": "8080"}, "HTTP_ADDR"},
		{config.ModeAll, map[string]string{"PUBLIC_URL": "ftp://x"}, "PUBLIC_URL"},
		{config.ModeAll, map[string]string{"MAIL_FROM": "not an address"}, "MAIL_FROM"},
		{config.ModeAll, map[string]string{"DEMO_DATA": "maybe"}, "DEMO_DATA"},
		{config.ModeAll, map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{config.ModeAll, map[string]string{"SECRET_KEY": "c2hvcnQ="}, "SECRET_KEY"},
		{config.ModeWorker, map[string]string{"SECRET_KEY": key}, "TEMPORAL_ADDRESS: is required"},
		{config.ModeWorker, map[string]string{"SECRET_KEY": key, "TEMPORAL_ADDRESS": "temporal:7233"}, "PUBLIC_URL: is required"},
		{config.ModeServer, map[string]string{"TEMPORAL_ADDRESS": "temporal:7233"}, "SECRET_KEY: is required"},
		{"frontend", nil, "unknown command"},
		{config.ModeServer, map[string]string{"TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"},
		{config.ModeServer, map[string]string{"TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "DATABASE_MAX_CONNS": "0"}, "DATABASE_MAX_CONNS"},
		{config.ModeServer, map[string]string{"TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "TEMPORAL_TLS_CERT": "/nonexistent/c.pem"}, "TEMPORAL_TLS_CERT: and TEMPORAL_TLS_KEY go together"},
		{config.ModeWorker, map[string]string{"TEMPORAL_ADDRESS": "t:7233", "SECRET_KEY": key, "PUBLIC_URL": "http://x",
			"TEMPORAL_TLS_CERT": "/nonexistent/c.pem", "TEMPORAL_TLS_KEY": "/nonexistent/k.pem"}, "TEMPORAL_TLS_KEY: stat /nonexistent/k.pem"},
		{config.ModeAll, map[string]string{"TEMPORAL_API_KEY": "k"}, "TEMPORAL_ADDRESS: is needed with TEMPORAL_TLS_* or TEMPORAL_API_KEY"},
		{config.ModeTemporal, map[string]string{"TEMPORAL_API_KEY": "k"}, "TEMPORAL_API_KEY: is for clients"},
		{config.ModeTemporal, map[string]string{"TEMPORAL_FRONTEND_ADDR": "7233"}, "TEMPORAL_FRONTEND_ADDR"},
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
		"SECRET_KEY": key, "TEMPORAL_API_KEY": "secret-api-key", "DATABASE_URL": "postgres://u:p@db:5432/pa"}))
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
