// Package slapdtest runs a real OpenLDAP server (Debian's slapd) for tests:
// a temporary configuration with an mdb database and the ppolicy overlay
// (unless the test asks for a directory without it, or the module is not
// installed), LDAPS and StartTLS on loopback ports with a certificate from
// a test CA made here, and
// a customer's base entries: ou=partners for the accounts the service
// makes, ou=groups with the site's group (which keeps a placeholder
// member), a service account that may write only there, and one that may
// only read. Without slapd the test skips, or fails when REQUIRE_LDAP=1
// (or REQUIRE_ALL=1).
package slapdtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/partneraccess/partneraccess/internal/optional"
)

// The directory's names.
const (
	Base        = "dc=litware,dc=test"
	UsersDN     = "ou=partners," + Base
	GroupDN     = "cn=sage200,ou=groups," + Base
	ServiceDN   = "cn=partner-access,ou=service," + Base
	ReaderDN    = "cn=reader,ou=service," + Base
	AdminDN     = "cn=admin," + Base
	Placeholder = "cn=placeholder,ou=groups," + Base
	// OwnMember is one of the customer's own people in the group: the
	// service never touches it.
	OwnMember = "uid=lee,ou=people," + Base
)

// Server is a running slapd.
type Server struct {
	URL string // ldaps://127.0.0.1:PORT
	// StartTLSURL is ldap://127.0.0.1:PORT, where a client must ask for
	// StartTLS before it binds (the server refuses a bind in the clear).
	StartTLSURL string
	CAFile      string // the test CA that signed the server's certificate
	Password    string // of ServiceDN, ReaderDN and AdminDN
	// PPolicy: the ppolicy overlay locks accounts (pwdAccountLockedTime).
	PPolicy bool
	dir     string
	conf    string
	cmd     *exec.Cmd
	exited  chan struct{}
	log     *bytes.Buffer
	t       testing.TB
}

// Options change the directory a test gets.
type Options struct {
	// NoPPolicy runs a directory without the ppolicy overlay, where
	// accounts cannot be locked.
	NoPPolicy bool
}

// ppolicyModule is Debian's ppolicy overlay module.
const ppolicyModule = "/usr/lib/ldap/ppolicy.la"

// Start runs slapd for one test, with ppolicy when it is installed; it
// stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith runs slapd for one test as o asks.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		slapd = "/usr/sbin/slapd"
		if _, err := os.Stat(slapd); err != nil {
			optional.LDAP.Missing(t, "no slapd on PATH nor at /usr/sbin/slapd")
		}
	}
	dir := t.TempDir()
	s := &Server{dir: dir, t: t, Password: "service-password-7f3a", CAFile: filepath.Join(dir, "ca.crt")}
	if _, err := os.Stat(ppolicyModule); err == nil && !o.NoPPolicy {
		s.PPolicy = true
	}
	if err := s.certificates(); err != nil {
		t.Fatal(err)
	}
	s.conf = filepath.Join(dir, "slapd.conf")
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.conf, []byte(s.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base.ldif")
	if err := os.WriteFile(base, []byte(s.entries()), 0o600); err != nil {
		t.Fatal(err)
	}
	slapadd := filepath.Join(filepath.Dir(slapd), "slapadd")
	if out, err := exec.Command(slapadd, "-f", s.conf, "-l", base).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	s.URL, s.StartTLSURL = "ldaps://"+freePort(t), "ldap://"+freePort(t)
	s.startSlapd(slapd)
	t.Cleanup(s.Stop)
	return s
}

// freePort is a loopback address no one listens on now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (s *Server) startSlapd(slapd string) {
	s.t.Helper()
	s.log = &bytes.Buffer{}
	s.cmd = exec.Command(slapd, "-f", s.conf, "-h", s.URL+"/ "+s.StartTLSURL+"/", "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(s.cmd, s.exited)
	for _, u := range []string{s.URL, s.StartTLSURL} {
		host := u[strings.Index(u, "//")+2:]
		for deadline := time.Now().Add(10 * time.Second); ; {
			if c, err := net.DialTimeout("tcp", host, 200*time.Millisecond); err == nil {
				c.Close()
				break
			}
			select {
			case <-s.exited:
				s.t.Fatalf("slapd exited: %s", s.log)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("slapd did not listen on %s: %s", u, s.log)
			}
		}
	}
}

// Stop stops slapd (the data stays, for Restart).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart starts slapd again on the same address, with its data.
func (s *Server) Restart() {
	s.t.Helper()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		slapd = "/usr/sbin/slapd"
	}
	s.startSlapd(slapd)
}

// Search runs ldapsearch (ldap-utils) as the administrator: a cross-check
// of what the service's client sees. It returns ldapsearch's LDIF.
func (s *Server) Search(base, filter string, attrs ...string) string {
	s.t.Helper()
	args := append([]string{"-x", "-LLL", "-H", s.URL, "-D", AdminDN, "-w", s.Password, "-b", base, filter}, attrs...)
	cmd := exec.Command("ldapsearch", args...)
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+s.CAFile)
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such object") {
		s.t.Fatalf("ldapsearch %s %s: %v\n%s", base, filter, err, out)
	}
	return string(out)
}

// Members lists the group's member values, as ldapsearch reads them.
func (s *Server) Members(group string) []string {
	s.t.Helper()
	var out []string
	for _, line := range strings.Split(s.Search(group, "(objectClass=*)", "member"), "\n") {
		if v, ok := strings.CutPrefix(line, "member: "); ok {
			out = append(out, strings.ToLower(strings.TrimSpace(v)))
		}
	}
	return out
}

// Bind tries dn's password on the server over LDAPS: whether a partner
// account's password is the one shown, and whether a locked account is
// refused.
func (s *Server) Bind(dn, password string) error {
	s.t.Helper()
	c := s.dial()
	defer c.Close()
	return c.Bind(dn, password)
}

// SetMember adds (or removes) dn in the group's member attribute as the
// administrator: what someone does by hand in the customer's directory.
func (s *Server) SetMember(group, dn string, member bool) {
	s.t.Helper()
	m := ldap.NewModifyRequest(group, nil)
	if member {
		m.Add("member", []string{dn})
	} else {
		m.Delete("member", []string{dn})
	}
	if err := s.AsAdmin(func(c *ldap.Conn) error { return c.Modify(m) }); err != nil {
		s.t.Fatalf("change the members of %s: %v", group, err)
	}
}

// AsAdmin runs do on a connection bound as the directory's administrator.
func (s *Server) AsAdmin(do func(*ldap.Conn) error) error {
	s.t.Helper()
	c := s.dial()
	defer c.Close()
	if err := c.Bind(AdminDN, s.Password); err != nil {
		s.t.Fatal(err)
	}
	return do(c)
}

func (s *Server) dial() *ldap.Conn {
	s.t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		s.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := ldap.DialURL(s.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *Server) config() string {
	var load, overlay string
	if s.PPolicy {
		load = "moduleload ppolicy"
		overlay = fmt.Sprintf("overlay ppolicy\nppolicy_default \"cn=default,ou=policies,%s\"", Base)
	}
	return fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
%[7]s
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
TLSCertificateFile %[1]s/server.crt
TLSCertificateKeyFile %[1]s/server.key
TLSCACertificateFile %[1]s/ca.crt
password-hash {SSHA}
# No simple bind in the clear: over ldap:// a client must StartTLS first.
security simple_bind=128

database mdb
maxsize 33554432
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/db
%[8]s
access to dn.subtree="%[5]s" attrs=userPassword
  by dn.exact="%[6]s" write
  by anonymous auth
  by * none
access to attrs=userPassword
  by anonymous auth
  by * none
access to dn.subtree="%[5]s"
  by dn.exact="%[6]s" write
  by * read
access to dn.subtree="ou=groups,%[2]s"
  by dn.exact="%[6]s" write
  by * read
access to *
  by * read
`, s.dir, Base, AdminDN, s.Password, UsersDN, ServiceDN, load, overlay)
}

func (s *Server) entries() string {
	return fmt.Sprintf(`dn: %[1]s
objectClass: dcObject
objectClass: organization
o: Litware
dc: litware

dn: ou=partners,%[1]s
objectClass: organizationalUnit
ou: partners

dn: ou=groups,%[1]s
objectClass: organizationalUnit
ou: groups

dn: ou=service,%[1]s
objectClass: organizationalUnit
ou: service

dn: ou=people,%[1]s
objectClass: organizationalUnit
ou: people

dn: %[2]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: partner-access
userPassword: %[3]s

dn: %[4]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: %[3]s

dn: %[5]s
objectClass: inetOrgPerson
uid: lee
cn: Lee Litware
sn: Litware

dn: %[6]s
objectClass: groupOfNames
cn: sage200
member: %[7]s
member: %[5]s
`, Base, ServiceDN, s.Password, ReaderDN, OwnMember, GroupDN, Placeholder) + s.policy()
}

// policy is the default password policy: a locked account cannot bind, and
// a password set by someone else must be changed at the first sign-in.
func (s *Server) policy() string {
	if !s.PPolicy {
		return ""
	}
	return fmt.Sprintf(`
dn: ou=policies,%[1]s
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,%[1]s
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMustChange: TRUE
`, Base)
}

// certificates makes a test CA and a server certificate for 127.0.0.1.
func (s *Server) certificates() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slapdtest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for name, block := range map[string]*pem.Block{
		"ca.crt":     {Type: "CERTIFICATE", Bytes: caDER},
		"server.crt": {Type: "CERTIFICATE", Bytes: leafDER},
		"server.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(s.dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	return nil
}
