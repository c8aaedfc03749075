package ldapdir

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"

	"github.com/partneraccess/partneraccess/internal/target"
)

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
		return &target.Error{Msg: fmt.Sprintf("%s: %v", doing, err), Err: err}
	}
	switch le.ResultCode {
	case ldap.LDAPResultInvalidCredentials:
		return &target.Error{Msg: fmt.Sprintf("%s: the directory refused the bind DN or password (LDAP 49, invalid credentials): check bind_dn and the bind password the worker reads", doing), Permanent: true, Err: err}
	case ldap.LDAPResultInsufficientAccessRights:
		return &target.Error{Msg: fmt.Sprintf("%s: the bind account may not do this (LDAP 50, insufficient access): the directory's ACL must let it write the users' entries and the groups' member attribute", doing), Permanent: true, Err: err}
	case ldap.LDAPResultConfidentialityRequired, ldap.LDAPResultStrongAuthRequired:
		return &target.Error{Msg: fmt.Sprintf("%s: the directory refuses this without TLS or signing (LDAP %d, %s): use ldaps://, or start_tls: true", doing, le.ResultCode, ldap.LDAPResultCodeMap[le.ResultCode]), Permanent: true, Err: err}
	case ldap.LDAPResultNoSuchObject:
		return &target.Error{Msg: fmt.Sprintf("%s: no such entry (LDAP 32): check users_dn and the site's access_group", doing), Permanent: true, Err: err}
	case ldap.LDAPResultConstraintViolation, ldap.LDAPResultObjectClassViolation, ldap.LDAPResultInvalidDNSyntax, ldap.LDAPResultNamingViolation:
		return &target.Error{Msg: fmt.Sprintf("%s: %v", doing, le), Permanent: true, Err: err}
	}
	return &target.Error{Msg: fmt.Sprintf("%s: %v", doing, le), Err: err}
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
		return &target.Error{Msg: fmt.Sprintf("the LDAP server %s presented a certificate not signed by a trusted CA (set ca_file to the CA that signed it): %v", server, err), Permanent: true, Err: err}
	case errors.As(err, &host):
		return &target.Error{Msg: fmt.Sprintf("the LDAP server %s presented a certificate for another name: %v", server, err), Permanent: true, Err: err}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &target.Error{Msg: fmt.Sprintf("the LDAP server %s presented a certificate that has expired or is not yet valid: %v", server, err), Permanent: true, Err: err}
	case errors.As(err, &invalid):
		return &target.Error{Msg: fmt.Sprintf("the LDAP server %s presented a certificate not valid for a TLS server: %v", server, err), Permanent: true, Err: err}
	case errors.As(err, &rec):
		return &target.Error{Msg: fmt.Sprintf("the LDAP server %s does not speak TLS there: use ldaps:// on its LDAPS port, or ldap:// with start_tls", server), Permanent: true, Err: err}
	}
	return &target.Error{Msg: fmt.Sprintf("the LDAP server %s cannot be reached: %v", server, err), Err: err}
}
