package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
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

// checkHTTPTLS checks HTTP_TLS_CERT and HTTP_TLS_KEY: both or neither, a
// pair that loads, and a PUBLIC_URL that is https when they are set.
func (c *Config) checkHTTPTLS(bad func(env, format string, args ...any)) {
	switch {
	case c.HTTPTLSCert == "" && c.HTTPTLSKey == "":
		return
	case c.HTTPTLSCert == "":
		bad("HTTP_TLS_CERT", "is needed with HTTP_TLS_KEY")
		return
	case c.HTTPTLSKey == "":
		bad("HTTP_TLS_KEY", "is needed with HTTP_TLS_CERT")
		return
	}
	if _, err := tls.LoadX509KeyPair(c.HTTPTLSCert, c.HTTPTLSKey); err != nil {
		bad("HTTP_TLS_CERT", "cannot be served with HTTP_TLS_KEY: %v", err)
	}
	if strings.HasPrefix(c.PublicURL, "http:") {
		bad("PUBLIC_URL", "%q is http, but HTTP_TLS_CERT serves HTTPS: links would not reach the server", c.PublicURL)
	}
}

// HTTPServerTLS is the HTTP server's TLS configuration, or nil for plain
// HTTP. The certificate is read again at each handshake after its file
// changes, so a renewed one is served without a restart.
func (c Config) HTTPServerTLS() (*tls.Config, error) {
	if c.HTTPTLSCert == "" {
		return nil, nil
	}
	r := &certReloader{certFile: c.HTTPTLSCert, keyFile: c.HTTPTLSKey}
	if _, err := r.get(nil); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}, nil
}

// certReloader serves a certificate and key from their files, loading them
// again when the certificate file's modification time changes.
type certReloader struct {
	certFile, keyFile string
	mu                sync.Mutex
	mod               time.Time
	cert              *tls.Certificate
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fi, err := os.Stat(r.certFile)
	if err != nil {
		if r.cert != nil {
			return r.cert, nil
		}
		return nil, fmt.Errorf("HTTP_TLS_CERT: %w", err)
	}
	if r.cert == nil || !fi.ModTime().Equal(r.mod) {
		cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
		if err != nil {
			if r.cert != nil { // a renewal half written: keep the one that works
				return r.cert, nil
			}
			return nil, fmt.Errorf("HTTP_TLS_CERT: %w", err)
		}
		r.cert, r.mod = &cert, fi.ModTime()
	}
	return r.cert, nil
}
