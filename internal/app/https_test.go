package app_test

import (
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
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/config"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "partner access test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, cert
}

// HTTP_TLS_CERT and HTTP_TLS_KEY serve HTTPS without a proxy: the links,
// the banner and the cookies say https, and plain HTTP is not answered.
func TestHTTPSServedDirectlyWithACertificateOnLoopback(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert := selfSigned(t, t.TempDir())
	r := start(t, dir, map[string]string{"HTTP_TLS_CERT": certFile, "HTTP_TLS_KEY": keyFile})
	if !strings.HasPrefix(r.HTTPURL, "https://127.0.0.1:") || r.PublicURL != r.HTTPURL {
		t.Fatalf("ready at %q, public URL %q; want https on loopback", r.HTTPURL, r.PublicURL)
	}
	for _, want := range []string{"Web app:     " + r.HTTPURL, "Dev mailbox: " + r.HTTPURL + "/dev/mail"} {
		if !strings.Contains(r.out.String(), want) {
			t.Errorf("the banner lacks %q:\n%s", want, r.out)
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}
	res, err := c.Get(r.HTTPURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.TLS == nil || !strings.Contains(string(body), "ok") {
		t.Fatalf("GET /healthz over TLS: %d %s (TLS %v)", res.StatusCode, body, res.TLS != nil)
	}
	// The session cookie is Secure, as PUBLIC_URL is https.
	res, err = c.Post(r.HTTPURL+"/api/v1/session", "application/json", strings.NewReader(`{"email":"solo@partner.example","password":"demo-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ck := res.Cookies(); res.StatusCode != http.StatusCreated || len(ck) == 0 || !ck[0].Secure {
		t.Fatalf("login over TLS: %d, cookies %v; want a Secure session cookie", res.StatusCode, ck)
	}
	plain := strings.Replace(r.HTTPURL, "https://", "http://", 1)
	if res, err := http.Get(plain + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatalf("plain HTTP answered %d on the HTTPS port", res.StatusCode)
		}
	}
}

func TestHTTPSSettingsAreCheckedAtTheStart(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"HTTP_TLS_CERT": certFile}, "HTTP_TLS_KEY"},
		{map[string]string{"HTTP_TLS_KEY": keyFile}, "HTTP_TLS_CERT"},
		{map[string]string{"HTTP_TLS_CERT": certFile, "HTTP_TLS_KEY": certFile}, "HTTP_TLS_CERT"},
		{map[string]string{"HTTP_TLS_CERT": certFile, "HTTP_TLS_KEY": keyFile, "PUBLIC_URL": "http://access.example.com"}, "PUBLIC_URL"},
	} {
		_, err := config.Load(config.ModeAll, nil, func(k string) string { return tc.vars[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a refusal naming %s", tc.vars, err, tc.want)
		}
	}
}
