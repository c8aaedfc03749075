// Package ldapdir enforces access in a customer's own LDAP directory (the
// `ldap` target): OpenLDAP or Active Directory, over LDAPS or StartTLS,
// with github.com/go-ldap/ldap/v3. A partner user gets one account entry
// under the customer's users_dn, made at its first activation, and each
// site's access is the account's DN in the `member` attribute of the
// site's group. The group's other members are the customer's and are never
// touched; an account whose access ended is disabled, never deleted.
package ldapdir

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/partneraccess/partneraccess/internal/membership"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// Directory is the LDAP target: target.Directory for every customer with
// an `ldap:` block (store.Target's LDAPURL, BindDN and UsersDN).
type Directory struct {
	target.Base
	// Password reads a target's bind password when it binds; nil: from the
	// environment variable or file the directory file names.
	Password func(store.Target) (string, error)
	// Timeout bounds each request to the server (default 15s).
	Timeout time.Duration

	mu     sync.Mutex
	flavor map[string]bool // URL -> Active Directory
}

var _ target.Directory = (*Directory)(nil)

// lockedForever is ppolicy's pwdAccountLockedTime for an account locked
// until an administrator unlocks it.
const lockedForever = "000001010000Z"

// Active Directory's userAccountControl: a normal account, enabled or not.
const (
	adEnabled  = "512"
	adDisabled = "514"
)

// Provision implements target.Directory.
func (d *Directory) Provision(ctx context.Context, t store.Target, in target.Input) (target.ProvisionResult, error) {
	group, err := d.group(ctx, in.SiteID)
	if err != nil {
		return target.ProvisionResult{}, err
	}
	c, ad, err := d.connect(ctx, t)
	if err != nil {
		return target.ProvisionResult{}, err
	}
	defer c.Close()
	a := account(t, in, ad)
	res := target.ProvisionResult{Login: a.login}
	exists, err := entryExists(c, a.dn)
	if err != nil {
		return res, err
	}
	if !exists {
		err := c.Add(a.addRequest(in))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) { // made by an attempt whose answer was lost
			return res, refusal(err, "make the account "+a.dn)
		}
	}
	// The entry and its first password are two requests: an entry that the
	// store does not record as made (the store's row follows the password)
	// was added by an attempt cut off before its password, and is new.
	made, err := d.Store.DirectoryAccount(ctx, in.UserID, in.CustomerID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	res.Created = err != nil || made.Kind != store.TargetLDAP || made.TenantID != t.LDAPURL() || made.ObjectID != a.dn
	if res.Created || in.Edition == "professional" { // a fresh password when new, and at every Professional activation (R5)
		if err := d.resetPassword(ctx, c, ad, in.AssignmentID, a, in.At); err != nil {
			return res, err
		}
		res.Credential = true
	}
	if err := setEnabled(c, ad, a.dn, true); err != nil {
		return res, err
	}
	if err := d.Store.SaveDirectoryAccount(ctx, store.DirectoryAccount{UserID: in.UserID, CustomerID: in.CustomerID,
		Kind: store.TargetLDAP, TenantID: t.LDAPURL(), ObjectID: a.dn, Login: a.login, Enabled: true, CreatedAt: in.At, UpdatedAt: time.Now()}); err != nil {
		return res, err
	}
	return res, groups{c}.Add(ctx, group, a.dn)
}

// Reissue implements target.Directory.
func (d *Directory) Reissue(ctx context.Context, t store.Target, in target.Input) error {
	acct, err := d.Store.DirectoryAccount(ctx, in.UserID, in.CustomerID)
	if err != nil {
		return err
	}
	c, ad, err := d.connect(ctx, t)
	if err != nil {
		return err
	}
	defer c.Close()
	return d.resetPassword(ctx, c, ad, in.AssignmentID, entry{dn: acct.ObjectID, login: acct.Login}, time.Now())
}

// Deprovision implements target.Directory.
func (d *Directory) Deprovision(ctx context.Context, t store.Target, in target.Input) (time.Duration, error) {
	acct, err := d.Store.DirectoryAccount(ctx, in.UserID, in.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil // nothing was made
	} else if err != nil {
		return 0, err
	}
	group, err := d.group(ctx, in.SiteID)
	if err != nil {
		return 0, err
	}
	c, ad, err := d.connect(ctx, t)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	g := groups{c}
	if err := g.Remove(ctx, group, acct.ObjectID); err != nil {
		return 0, err
	}
	others, err := d.Store.DirectoryGrantsInForce(ctx, in.CustomerID, in.UserID, in.AssignmentID, time.Now())
	if err != nil {
		return 0, err
	}
	if others == 0 && acct.Enabled {
		// An entry the customer deleted has nothing left to disable.
		if err := setEnabled(c, ad, acct.ObjectID, false); err != nil && !ldap.IsErrorWithCode(errors.Unwrap(err), ldap.LDAPResultNoSuchObject) {
			return 0, err
		}
		acct.Enabled, acct.UpdatedAt = false, time.Now()
		if err := d.Store.SaveDirectoryAccount(ctx, acct); err != nil {
			return 0, err
		}
	}
	return membership.Prove(ctx, g, group, acct.ObjectID, d.ProofWithin)
}

// Drift implements target.Directory.
func (d *Directory) Drift(ctx context.Context, t store.Target, customerID string, now time.Time) ([]target.DriftRepair, error) {
	c, _, err := d.connect(ctx, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return membership.Repair(ctx, d.Store, groups{c}, t.LDAPURL(), customerID, now)
}

// entry is a partner user's account in the directory.
type entry struct {
	dn, login, rdn, name string
	ad                   bool
}

// account names the partner user's account: uid=<user>.<partner> under the
// users' DN (CN= and sAMAccountName on Active Directory), the same on every
// retry. Its DN is written as the group's members are read back
// (normalize), so that a users_dn written with spaces or capitals still
// finds the account in the group.
func account(t store.Target, in target.Input, ad bool) entry {
	login := in.UserID + "." + in.PartnerID
	if ad {
		sam := login
		if len(sam) > 20 { // sAMAccountName's limit
			sum := sha256.Sum256([]byte(login))
			sam = sam[:11] + "-" + hex.EncodeToString(sum[:4])
		}
		return entry{dn: normalize("cn=" + ldap.EscapeDN(login) + "," + t.UsersDN()), login: sam, rdn: login, name: in.DisplayName, ad: true}
	}
	return entry{dn: normalize("uid=" + ldap.EscapeDN(login) + "," + t.UsersDN()), login: login, rdn: login, name: in.DisplayName}
}

func (a entry) addRequest(in target.Input) *ldap.AddRequest {
	r := ldap.NewAddRequest(a.dn, nil)
	name := in.DisplayName + " (partner)"
	if a.ad {
		r.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		r.Attribute("cn", []string{a.rdn})
		r.Attribute("sAMAccountName", []string{a.login})
		r.Attribute("displayName", []string{name})
		r.Attribute("userAccountControl", []string{adDisabled}) // enabled once it has a password
		return r
	}
	r.Attribute("objectClass", []string{"inetOrgPerson"})
	r.Attribute("uid", []string{a.login})
	r.Attribute("cn", []string{name})
	r.Attribute("sn", []string{in.PartnerID})
	r.Attribute("description", []string{"Partner Access: partner user " + in.UserID + " of " + in.PartnerID})
	return r
}

// resetPassword gives the account a fresh temporary password that must be
// changed at its first sign-in, sealed in the store first as the
// assignment's credential. OpenLDAP hashes it itself (the Password Modify
// operation of RFC 3062; ppolicy's pwdMustChange marks it for change); on
// Active Directory it is unicodePwd, with pwdLastSet 0.
func (d *Directory) resetPassword(ctx context.Context, c *ldap.Conn, ad bool, assignmentID string, a entry, at time.Time) error {
	password := secret.NewPassword()
	if err := d.Seal(ctx, assignmentID, a.login, password, at); err != nil {
		return err
	}
	if ad {
		return refusal(c.Modify(adPasswordRequest(a.dn, password)), "set the password of "+a.dn)
	}
	_, err := c.PasswordModify(ldap.NewPasswordModifyRequest(a.dn, "", password))
	return refusal(err, "set the password of "+a.dn)
}

// adPasswordRequest sets an Active Directory account's password as an
// administrator's reset, to be changed at the next sign-in (pwdLastSet 0).
func adPasswordRequest(dn, password string) *ldap.ModifyRequest {
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace("unicodePwd", []string{adPassword(password)})
	m.Replace("pwdLastSet", []string{"0"})
	return m
}

// adPassword is a password as Active Directory's unicodePwd takes it:
// quoted, in UTF-16LE.
func adPassword(p string) string {
	u := utf16.Encode([]rune(`"` + p + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		b[2*i], b[2*i+1] = byte(r), byte(r>>8)
	}
	return string(b)
}

// setEnabled enables or disables the account: userAccountControl on Active
// Directory, ppolicy's pwdAccountLockedTime on OpenLDAP. An OpenLDAP
// without the ppolicy overlay has no such attribute (result 17) and no way
// to lock an account: there the group's membership alone is the access, and
// neither activation nor revocation waits for a lock that cannot be set.
func setEnabled(c *ldap.Conn, ad bool, dn string, on bool) error {
	err := c.Modify(enableRequest(ad, dn, on))
	if !ad && (ldap.IsErrorWithCode(err, ldap.LDAPResultUndefinedAttributeType) ||
		on && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute)) { // no ppolicy, or not locked
		return nil
	}
	what := "enable"
	if !on {
		what = "disable"
	}
	return refusal(err, what+" the account "+dn)
}

func enableRequest(ad bool, dn string, on bool) *ldap.ModifyRequest {
	m := ldap.NewModifyRequest(dn, nil)
	switch {
	case ad && on:
		m.Replace("userAccountControl", []string{adEnabled})
	case ad:
		m.Replace("userAccountControl", []string{adDisabled})
	case on:
		m.Delete("pwdAccountLockedTime", nil)
	default:
		m.Replace("pwdAccountLockedTime", []string{lockedForever})
	}
	return m
}

// groups are a directory's groups through one connection, for
// internal/membership: members by DN, in lower case.
type groups struct{ c *ldap.Conn }

func (g groups) Members(ctx context.Context, group string) ([]string, error) {
	var out []string
	for attr := "member"; attr != ""; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := g.c.Search(ldap.NewSearchRequest(group, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{attr}, nil))
		if err != nil {
			return nil, refusal(err, "read the group "+group)
		}
		if len(res.Entries) == 0 {
			return out, nil
		}
		var values []string
		values, attr, err = memberValues(res.Entries[0])
		if err != nil {
			return nil, target.Permanent(fmt.Sprintf("read the group %s: %v", group, err))
		}
		for _, v := range values {
			out = append(out, normalize(v))
		}
	}
	return out, nil
}

// memberValues reads an entry's member attribute: all of it, as OpenLDAP
// answers, or one range of it, as Active Directory answers for a group
// larger than its MaxValRange (member;range=0-1499), with the attribute
// that asks for the next range ("" when this was the last). Reading only
// the first range would prove a revocation that did not happen.
func memberValues(e *ldap.Entry) (values []string, next string, err error) {
	for _, a := range e.Attributes {
		name := strings.ToLower(a.Name)
		if name == "member" {
			return a.Values, "", nil
		}
		r, ok := strings.CutPrefix(name, "member;range=")
		if !ok {
			continue
		}
		_, hi, ok := strings.Cut(r, "-")
		if hi == "*" {
			return a.Values, "", nil
		}
		n, perr := strconv.Atoi(hi)
		if !ok || perr != nil {
			return nil, "", fmt.Errorf("the server answered the member attribute as %q, not a range this service reads", a.Name)
		}
		return a.Values, fmt.Sprintf("member;range=%d-*", n+1), nil
	}
	return nil, "", nil
}

func (g groups) Add(ctx context.Context, group, dn string) error {
	m := ldap.NewModifyRequest(group, nil)
	m.Add("member", []string{dn})
	err := g.c.Modify(m)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultAttributeOrValueExists) || ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		return nil // already a member
	}
	return refusal(err, "add "+dn+" to the group "+group)
}

func (g groups) Remove(ctx context.Context, group, dn string) error {
	m := ldap.NewModifyRequest(group, nil)
	m.Delete("member", []string{dn})
	err := g.c.Modify(m)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute):
		return nil // not a member
	case ldap.IsErrorWithCode(err, ldap.LDAPResultUnwillingToPerform):
		// Active Directory's "not a member" (0x561); anything else stays
		// an error, retried.
		if members, rerr := g.Members(ctx, group); rerr == nil && !slices.Contains(members, normalize(dn)) {
			return nil
		}
	case ldap.IsErrorWithCode(err, ldap.LDAPResultObjectClassViolation):
		return &target.Error{Msg: fmt.Sprintf("remove %s from the group %s: it is the group's last member, and a groupOfNames must keep one (LDAP 65): give the group a placeholder member that signs in nowhere", dn, group), Err: err}
	}
	return refusal(err, "remove "+dn+" from the group "+group)
}

// normalize writes a DN as the store keeps it: parsed and in lower case,
// so that spacing and case do not make two of one.
func normalize(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	parts := make([]string, len(p.RDNs))
	for i, r := range p.RDNs {
		attrs := make([]string, len(r.Attributes))
		for j, a := range r.Attributes {
			attrs[j] = a.Type + "=" + ldap.EscapeDN(a.Value)
		}
		parts[i] = strings.Join(attrs, "+")
	}
	return strings.ToLower(strings.Join(parts, ","))
}

func entryExists(c *ldap.Conn, dn string) (bool, error) {
	_, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return false, nil
	}
	return err == nil, refusal(err, "look up "+dn)
}

// group is the site's access group (a DN).
func (d *Directory) group(ctx context.Context, siteID string) (string, error) {
	g, err := d.AccessGroup(ctx, siteID)
	if err != nil {
		return "", err
	}
	return normalize(g), nil
}

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

// ReadPassword reads a target's bind password from the environment
// variable or the file the directory file names. Its errors name the
// source, never the value.
func ReadPassword(t store.Target) (string, error) {
	return secret.ReadNamed(t.SecretEnv, t.SecretFile, "the bind password", "the worker")
}
