package ldapdir

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// connect reaches the server over TLS (LDAPS, or StartTLS), binds as the
// target's service account, and says whether it is Active Directory.
func (d *Directory) connect(ctx context.Context, t store.Target) (*ldap.Conn, bool, error) {
	server := t.LDAPURL()
	u, err := url.Parse(server)
	if err != nil {
		return nil, false, target.Permanent(fmt.Sprintf("%q is not an LDAP URL", server))
	}
	if u.Scheme == "ldap" && !t.StartTLS && !(t.Insecure && loopback(u.Hostname())) {
		// The directory file refuses this too; the bind password is never
		// sent in the clear beyond this machine.
		return nil, false, target.Permanent(fmt.Sprintf("%s would send the bind password in the clear: use ldaps://, or start_tls: true", server))
	}
	var roots *x509.CertPool // nil: the system's
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, false, target.Permanent(fmt.Sprintf("the CA file %s cannot be read on the worker: %v", t.CAFile, errors.Unwrap(err)))
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, false, target.Permanent(fmt.Sprintf("the CA file %s holds no PEM certificate", t.CAFile))
		}
	}
	var certErr error
	cfg := tlsConfig(u.Hostname(), roots, &certErr)
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	dialer := &net.Dialer{Timeout: timeout}
	opts := []ldap.DialOpt{ldap.DialWithDialer(dialer)}
	if u.Scheme == "ldaps" {
		opts = append(opts, ldap.DialWithTLSConfig(cfg))
	}
	c, err := ldap.DialURL(server, opts...)
	if err != nil {
		return nil, false, connectError(server, cmp.Or(certErr, err))
	}
	c.SetTimeout(timeout)
	if u.Scheme == "ldap" && t.StartTLS {
		if err := c.StartTLS(cfg); err != nil {
			c.Close()
			return nil, false, connectError(server, cmp.Or(certErr, err))
		}
	}
	read := d.Password
	if read == nil {
		read = ReadPassword
	}
	password, err := read(t)
	if err != nil {
		c.Close()
		return nil, false, target.Permanent(err.Error())
	}
	if err := c.Bind(t.BindDN(), password); err != nil {
		c.Close()
		return nil, false, refusal(err, "bind as "+t.BindDN())
	}
	ad, err := d.activeDirectory(c, server)
	if err != nil {
		c.Close()
		return nil, false, err
	}
	return c, ad, nil
}

// tlsConfig verifies the server's certificate as crypto/tls does by
// default (its VerifyConnection example), and keeps the verification's
// error in certErr: go-ldap's StartTLS passes on only its text, and the
// failure must name the certificate problem.
func tlsConfig(host string, roots *x509.CertPool, certErr *error) *tls.Config {
	return &tls.Config{
		ServerName: host, MinVersion: tls.VersionTLS12,
		InsecureSkipVerify: true, // verified in VerifyConnection, never skipped
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				*certErr = errors.New("the server presented no certificate")
				return *certErr
			}
			opts := x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			*certErr = err
			return err
		},
	}
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// activeDirectory reads the root DSE once per server: Active Directory
// announces its capability OID there.
func (d *Directory) activeDirectory(c *ldap.Conn, server string) (bool, error) {
	d.mu.Lock()
	ad, known := d.flavor[server]
	d.mu.Unlock()
	if known {
		return ad, nil
	}
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"supportedCapabilities"}, nil))
	if err != nil {
		return false, refusal(err, "read the root DSE")
	}
	for _, e := range res.Entries {
		for _, v := range e.GetAttributeValues("supportedCapabilities") {
			if v == "1.2.840.113556.1.4.800" { // LDAP_CAP_ACTIVE_DIRECTORY_OID
				ad = true
			}
		}
	}
	d.mu.Lock()
	if d.flavor == nil {
		d.flavor = map[string]bool{}
	}
	d.flavor[server] = ad
	d.mu.Unlock()
	return ad, nil
}
