package ldapdir

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/go-ldap/ldap/v3"

	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

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
