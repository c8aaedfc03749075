package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

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
