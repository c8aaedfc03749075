package ldapdir

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/target"
)

// Each certificate problem is named and permanent, whether the handshake
// was LDAPS or StartTLS (the verification's own error is kept).
func TestCertificateProblemsAreNamed(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	leaf := func(notAfter time.Time) *x509.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), DNSNames: []string{"dc1.litware.test"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	good, expired := leaf(time.Now().Add(time.Hour)), leaf(time.Now().Add(-time.Hour))
	for _, tc := range []struct {
		name  string
		host  string
		roots *x509.CertPool
		cert  *x509.Certificate
		says  string
	}{
		{"trusted", "dc1.litware.test", roots, good, ""},
		{"another name", "dc2.litware.test", roots, good, "a certificate for another name"},
		{"expired", "dc1.litware.test", roots, expired, "has expired or is not yet valid"},
		{"unknown CA", "dc1.litware.test", x509.NewCertPool(), good, "not signed by a trusted CA"},
	} {
		var certErr error
		cfg := tlsConfig(tc.host, tc.roots, &certErr)
		err := cfg.VerifyConnection(tls.ConnectionState{ServerName: tc.host, PeerCertificates: []*x509.Certificate{tc.cert}})
		if tc.says == "" {
			if err != nil || certErr != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || certErr != err {
			t.Errorf("%s: verified (%v), or the error was not kept", tc.name, err)
			continue
		}
		// What the handshake returns is only text; the kept error names it.
		got := connectError("ldaps://"+tc.host, certErr)
		var de *target.Error
		if !errors.As(got, &de) || !de.Permanent || !strings.Contains(got.Error(), tc.says) {
			t.Errorf("%s: %v, want a permanent error saying %q", tc.name, got, tc.says)
		}
	}
}
