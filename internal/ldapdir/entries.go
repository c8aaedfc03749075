package ldapdir

import (
	"strings"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// lockedForever is ppolicy's pwdAccountLockedTime for an account locked
// until an administrator unlocks it.
const lockedForever = "000001010000Z"

// Active Directory's userAccountControl: a normal account, enabled or not.
const (
	adEnabled  = "512"
	adDisabled = "514"
)

func entryExists(c *ldap.Conn, dn string) (bool, error) {
	_, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return false, nil
	}
	return err == nil, refusal(err, "look up "+dn)
}

// setPassword sets an entry's password as an administrator's reset, to be
// changed at its first sign-in. OpenLDAP hashes it itself (the Password
// Modify operation of RFC 3062; ppolicy's pwdMustChange marks it for
// change); on Active Directory it is unicodePwd, with pwdLastSet 0.
func setPassword(c *ldap.Conn, ad bool, dn, password string) error {
	if ad {
		return refusal(c.Modify(adPasswordRequest(dn, password)), "set the password of "+dn)
	}
	_, err := c.PasswordModify(ldap.NewPasswordModifyRequest(dn, "", password))
	return refusal(err, "set the password of "+dn)
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
