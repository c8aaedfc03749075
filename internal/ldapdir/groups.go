package ldapdir

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/partneraccess/partneraccess/internal/target"
)

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
