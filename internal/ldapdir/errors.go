package ldapdir

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Error is a directory's refusal or failure, as activities.DirectoryError
// reads it: Permanent when retrying cannot fix it (a refused bind, missing
// rights, a certificate that is not trusted), else retried.
type Error struct {
	msg  string
	perm bool
	err  error
}

func (e *Error) Error() string             { return e.msg }
func (e *Error) Unwrap() error             { return e.err }
func (e *Error) Permanent() bool           { return e.perm }
func (e *Error) RetryAfter() time.Duration { return 0 }

func permanent(msg string) error { return &Error{msg: msg, perm: true} }

// refusal maps an LDAP result: invalid credentials (49), insufficient
// access (50), TLS required (8, 13) and a missing entry (32) are permanent
// and say what to fix; busy (51), unavailable (52), unwilling (53) and a
// lost connection are retried.
func refusal(err error, doing string) error {
	if err == nil {
		return nil
	}
	var le *ldap.Error
	if !errors.As(err, &le) {
		return &Error{msg: fmt.Sprintf("%s: %v", doing, err), err: err}
	}
	switch le.ResultCode {
	case ldap.LDAPResultInvalidCredentials:
		return &Error{msg: fmt.Sprintf("%s: the directory refused the bind DN or password (LDAP 49, invalid credentials): check bind_dn and the bind password the worker reads", doing), perm: true, err: err}
	case ldap.LDAPResultInsufficientAccessRights:
		return &Error{msg: fmt.Sprintf("%s: the bind account may not do this (LDAP 50, insufficient access): the directory's ACL must let it write the users' entries and the groups' member attribute", doing), perm: true, err: err}
	case ldap.LDAPResultConfidentialityRequired, ldap.LDAPResultStrongAuthRequired:
		return &Error{msg: fmt.Sprintf("%s: the directory refuses this without TLS or signing (LDAP %d, %s): use ldaps://, or start_tls: true", doing, le.ResultCode, ldap.LDAPResultCodeMap[le.ResultCode]), perm: true, err: err}
	case ldap.LDAPResultNoSuchObject:
		return &Error{msg: fmt.Sprintf("%s: no such entry (LDAP 32): check users_dn and the site's access_group", doing), perm: true, err: err}
	case ldap.LDAPResultConstraintViolation, ldap.LDAPResultObjectClassViolation, ldap.LDAPResultInvalidDNSyntax, ldap.LDAPResultNamingViolation:
		return &Error{msg: fmt.Sprintf("%s: %v", doing, le), perm: true, err: err}
	}
	return &Error{msg: fmt.Sprintf("%s: %v", doing, le), err: err}
}

// connectError says why the server could not be reached: a certificate
// problem is named and permanent; a server down or unreachable is retried.
func connectError(server string, err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var rec tls.RecordHeaderError
	switch {
	case errors.As(err, &unknown):
		return &Error{msg: fmt.Sprintf("the LDAP server %s presented a certificate not signed by a trusted CA (set ca_file to the CA that signed it): %v", server, err), perm: true, err: err}
	case errors.As(err, &host):
		return &Error{msg: fmt.Sprintf("the LDAP server %s presented a certificate for another name: %v", server, err), perm: true, err: err}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &Error{msg: fmt.Sprintf("the LDAP server %s presented a certificate that has expired or is not yet valid: %v", server, err), perm: true, err: err}
	case errors.As(err, &invalid):
		return &Error{msg: fmt.Sprintf("the LDAP server %s presented a certificate not valid for a TLS server: %v", server, err), perm: true, err: err}
	case errors.As(err, &rec):
		return &Error{msg: fmt.Sprintf("the LDAP server %s does not speak TLS there: use ldaps:// on its LDAPS port, or ldap:// with start_tls", server), perm: true, err: err}
	}
	return &Error{msg: fmt.Sprintf("the LDAP server %s cannot be reached: %v", server, err), err: err}
}
