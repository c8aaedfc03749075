package directory

import (
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/partneraccess/partneraccess/internal/store"
)

// LDAP names the customer's own LDAP directory (OpenLDAP, Active
// Directory), where its sites' access is enforced: each site's
// access_group is a group's DN there. The bind password is never in the
// file: BindPasswordEnv or BindPasswordFile names where the worker reads
// it.
type LDAP struct {
	URL              string `yaml:"url"` // ldaps://host:636, or ldap://host:389 with start_tls
	StartTLS         bool   `yaml:"start_tls"`
	Insecure         bool   `yaml:"insecure"` // plain ldap:// without TLS: loopback only
	CAFile           string `yaml:"ca_file"`
	BindDN           string `yaml:"bind_dn"`
	BindPasswordEnv  string `yaml:"bind_password_env"`
	BindPasswordFile string `yaml:"bind_password_file"`
	UsersDN          string `yaml:"users_dn"` // where the partner accounts are made
}

// target is the block as the store keeps it (store.Target's fields for a
// directory).
func (l *LDAP) target() store.Target {
	return store.Target{Kind: store.TargetLDAP, TenantID: strings.TrimSpace(l.URL), ClientID: normDN(l.BindDN),
		SecretEnv: l.BindPasswordEnv, SecretFile: l.BindPasswordFile, UserDomain: normDN(l.UsersDN),
		CAFile: l.CAFile, StartTLS: l.StartTLS, Insecure: l.Insecure}
}

// targetKind is where the customer's access is enforced.
func (cu Customer) targetKind() string {
	switch {
	case cu.Entra != nil:
		return store.TargetEntra
	case cu.LDAP != nil:
		return store.TargetLDAP
	}
	return store.TargetGateway
}

// ldap checks a customer's ldap block: one directory per customer, reached
// over TLS, with DNs that parse and one place to read the password from.
func (c *checker) ldap(entry string, cu Customer) {
	l := cu.LDAP
	if l == nil {
		return
	}
	path := entry + ".ldap"
	if cu.Entra != nil {
		c.bad(path, "a customer enforces access in one directory: give entra: or ldap:, not both")
	}
	u, err := url.Parse(strings.TrimSpace(l.URL))
	switch {
	case l.URL == "":
		c.bad(path+".url", "is required: ldaps://host:636, or ldap://host:389 with start_tls: true")
	case err != nil || u.Host == "" || (u.Scheme != "ldaps" && u.Scheme != "ldap"):
		c.bad(path+".url", "%q is not an ldaps:// or ldap:// URL", l.URL)
	case u.Scheme == "ldaps" && l.StartTLS:
		c.bad(path+".start_tls", "is for ldap:// URLs; ldaps:// is TLS from the start")
	case u.Scheme == "ldap" && !l.StartTLS && !l.Insecure:
		c.bad(path+".url", "%q sends the bind password in the clear: use ldaps://, or start_tls: true", l.URL)
	case u.Scheme == "ldap" && !l.StartTLS && !loopbackHost(u.Hostname()):
		c.bad(path+".insecure", "plain ldap:// without TLS is allowed only to a loopback address, not %s", u.Hostname())
	}
	if l.CAFile != "" && !filepath.IsAbs(l.CAFile) {
		c.bad(path+".ca_file", "%q must be an absolute path on the worker", l.CAFile)
	}
	for _, f := range []struct{ name, value, example string }{
		{"bind_dn", l.BindDN, "cn=partner-access,ou=service,dc=litware,dc=test"},
		{"users_dn", l.UsersDN, "ou=partners,dc=litware,dc=test"},
	} {
		switch {
		case strings.TrimSpace(f.value) == "":
			c.bad(path+"."+f.name, "is required: a DN like %s", f.example)
		case !isDN(f.value):
			c.bad(path+"."+f.name, "%q is not a DN like %s", f.value, f.example)
		}
	}
	c.namedSecret(path, secretNames{what: "bind password", field: "bind_password", process: "worker", itself: "password",
		example: "LITWARE_LDAP_PASSWORD"}, l.BindPasswordEnv, l.BindPasswordFile)
}

func isDN(s string) bool {
	dn, err := ldap.ParseDN(strings.TrimSpace(s))
	return err == nil && len(dn.RDNs) > 0
}

// normDN is a DN as written, trimmed and in lower case (DNs of the usual
// attributes match without case).
func normDN(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
