package ldapdir

import (
	"testing"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Active Directory is not run in the tests; the requests it gets are
// checked here by their shape.
func TestActiveDirectoryRequests(t *testing.T) {
	if got := adPassword("ab1"); got != "\"\x00a\x00b\x001\x00\"\x00" {
		t.Fatalf("unicodePwd = %q, want the quoted password in UTF-16LE", got)
	}
	tg := store.Target{UserDomain: "ou=partners,dc=litware,dc=test"}
	in := activities.DirectoryInput{UserID: "northwind-solo", PartnerID: "northwind", DisplayName: "Sam Solo"}
	a := account(tg, in, true)
	if a.dn != "cn=northwind-solo.northwind,ou=partners,dc=litware,dc=test" || len(a.login) > 20 || a.login != account(tg, in, true).login {
		t.Fatalf("AD account %+v: want CN= under users_dn and a stable sAMAccountName of at most 20 characters", a)
	}
	r := a.addRequest(in)
	attrs := map[string][]string{}
	for _, at := range r.Attributes {
		attrs[at.Type] = at.Vals
	}
	if attrs["sAMAccountName"][0] != a.login || attrs["userAccountControl"][0] != adDisabled || attrs["objectClass"][3] != "user" {
		t.Fatalf("AD add request: %v", attrs)
	}
	if o := account(tg, in, false); o.dn != "uid=northwind-solo.northwind,ou=partners,dc=litware,dc=test" || o.login != "northwind-solo.northwind" {
		t.Fatalf("OpenLDAP account %+v", o)
	}
}
