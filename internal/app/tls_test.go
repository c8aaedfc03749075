package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/partneraccess/partneraccess/internal/config"
)

// pki is a test CA and the PEM files of certificates it signed.
type pki struct {
	dir  string
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	next int64
}

func newPKI(t *testing.T, dir, name string) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: dir, ca: ca, key: key, next: 2}
	p.write(t, name+".pem", "CERTIFICATE", der)
	return p
}

func (p *pki) caFile() string { return filepath.Join(p.dir, p.ca.Subject.CommonName+".pem") }

// issue makes a certificate for 127.0.0.1 and localhost, good for both
// ends of a TLS connection, and returns its certificate and key files.
func (p *pki) issue(t *testing.T, name string) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.next++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.next), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+"-key.pem", "PRIVATE KEY", kb)
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runMode runs one mode of the binary in this process until the test ends.
func runMode(t *testing.T, mode string, vars map[string]string) Ready {
	t.Helper()
	cfg, err := config.Load(mode, nil, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan Ready, 1), make(chan error, 1)
	var out bytes.Buffer
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	go func() { done <- Run(ctx, cfg, w, w, ready) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case r := <-ready:
		return r
	case err := <-done:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s stopped: %v\n%s", mode, err, out.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s not ready in 2 minutes", mode)
	}
	return Ready{}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestTemporalTLSBetweenTemporalModeAndAWorker runs temporal mode with mTLS
// on its frontend and a worker that connects with TEMPORAL_TLS_*; clients
// without a certificate of the CA are turned away.
func TestTemporalTLSBetweenTemporalModeAndAWorker(t *testing.T) {
	dir := t.TempDir()
	ca := newPKI(t, dir, "test-ca")
	serverCert, serverKey := ca.issue(t, "frontend")
	workerCert, workerKey := ca.issue(t, "worker")
	stranger := newPKI(t, dir, "other-ca")
	strangerCert, strangerKey := stranger.issue(t, "stranger")

	tr := runMode(t, config.ModeTemporal, map[string]string{
		"DATA_DIR": filepath.Join(dir, "temporal"), "TEMPORAL_FRONTEND_ADDR": "127.0.0.1:0", "TEMPORAL_UI_ADDR": "127.0.0.1:0",
		"TEMPORAL_TLS_CERT": serverCert, "TEMPORAL_TLS_KEY": serverKey, "TEMPORAL_TLS_CA": ca.caFile(), "LOG_LEVEL": "error",
	})
	runMode(t, config.ModeWorker, map[string]string{
		"DATA_DIR": filepath.Join(dir, "worker"), "TEMPORAL_ADDRESS": tr.TemporalURL, "PUBLIC_URL": "http://127.0.0.1:1",
		"SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "METRICS_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error", "MAILBOX": "store",
		"TEMPORAL_TLS_CERT": workerCert, "TEMPORAL_TLS_KEY": workerKey, "TEMPORAL_TLS_CA": ca.caFile(),
	})

	dial := func(cfg config.Config) (client.Client, error) {
		opts := client.Options{HostPort: tr.TemporalURL, Logger: quietLogger{}}
		if err := secureClient(&opts, cfg); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return client.DialContext(ctx, opts)
	}
	c, err := dial(config.Config{TemporalTLSCert: workerCert, TemporalTLSKey: workerKey, TemporalTLSCA: ca.caFile()})
	if err != nil {
		t.Fatalf("client with the CA's certificate: %v", err)
	}
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.DescribeTaskQueue(context.Background(), "partner-access", enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(resp.Pollers) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no worker polls over TLS: %v %v", resp, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	for name, cfg := range map[string]config.Config{
		"plain gRPC":                    {},
		"TLS without a certificate":     {TemporalTLSCA: ca.caFile()},
		"a certificate of another CA":   {TemporalTLSCert: strangerCert, TemporalTLSKey: strangerKey, TemporalTLSCA: ca.caFile()},
		"a server it does not trust":    {TemporalTLSCert: workerCert, TemporalTLSKey: workerKey, TemporalTLSCA: stranger.caFile()},
		"the system's CAs (as a Cloud)": {TemporalTLSCert: workerCert, TemporalTLSKey: workerKey},
	} {
		if c, err := dial(cfg); err == nil {
			c.Close()
			t.Errorf("%s: connected, want refused", name)
		}
	}

	// The UI reaches the TLS frontend too: listing namespaces goes through it.
	resp, err := http.Get(tr.UIURL + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"default"`) {
		t.Fatalf("UI namespaces over TLS: %d %s", resp.StatusCode, body)
	}
}

// fakeFrontend is a TLS gRPC server that answers the SDK's first call and
// keeps the authorization header it got.
type fakeFrontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	mu   sync.Mutex
	auth []string
}

func (f *fakeFrontend) GetSystemInfo(ctx context.Context, _ *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, md.Get("authorization")...)
	return &workflowservice.GetSystemInfoResponse{}, nil
}

// TestTemporalAPIKeyIsSentAsABearerTokenOverTLS: the embedded server has no
// API keys, so a fake frontend on TLS shows what the client sends.
func TestTemporalAPIKeyIsSentAsABearerTokenOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newPKI(t, dir, "test-ca")
	certFile, keyFile := ca.issue(t, "cloud")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeFrontend{}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	workflowservice.RegisterWorkflowServiceServer(srv, fake)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)

	opts := client.Options{HostPort: ln.Addr().String(), Logger: quietLogger{}}
	if err := secureClient(&opts, config.Config{TemporalAPIKey: "the-api-key", TemporalTLSCA: ca.caFile()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.auth) == 0 || fake.auth[0] != "Bearer the-api-key" {
		t.Fatalf("authorization sent: %q, want the API key as a bearer token", fake.auth)
	}
}

type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
