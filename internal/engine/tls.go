package engine

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/server/common/config"
)

// TLS on the frontend: the certificate it serves, and the roots its own
// clients trust.

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
