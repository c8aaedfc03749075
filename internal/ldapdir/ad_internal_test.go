package ldapdir

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// Active Directory is not run in the tests; the requests it gets are
// checked here by their shape.
func TestActiveDirectoryRequests(t *testing.T) {
	if got := adPassword("ab1"); got != "\"\x00a\x00b\x001\x00\"\x00" {
		t.Fatalf("unicodePwd = %q, want the quoted password in UTF-16LE", got)
	}
	tg := store.Target{UserDomain: "ou=partners,dc=litware,dc=test"}
	in := target.Input{UserID: "northwind-solo", PartnerID: "northwind", DisplayName: "Sam Solo"}
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
	if _, ok := attrs["unicodePwd"]; ok {
		t.Fatal("the account is made with a password: AD takes it only by a modify, once the entry exists")
	}
	if o := account(tg, in, false); o.dn != "uid=northwind-solo.northwind,ou=partners,dc=litware,dc=test" || o.login != "northwind-solo.northwind" {
		t.Fatalf("OpenLDAP account %+v", o)
	}

	// The password: an administrator's reset of unicodePwd, then pwdLastSet 0
	// so that it must be changed at the next sign-in.
	want := []string{"replace unicodePwd=" + adPassword("pw"), "replace pwdLastSet=0"}
	if got := changes(adPasswordRequest(a.dn, "pw")); !slices.Equal(got, want) {
		t.Fatalf("AD password request: %q, want %q", got, want)
	}
	for _, tc := range []struct {
		ad, on bool
		want   string
	}{
		{true, true, "replace userAccountControl=512"},
		{true, false, "replace userAccountControl=514"},
		{false, true, "delete pwdAccountLockedTime="},
		{false, false, "replace pwdAccountLockedTime=000001010000Z"},
	} {
		if got := changes(enableRequest(tc.ad, a.dn, tc.on)); len(got) != 1 || got[0] != tc.want {
			t.Errorf("enable(ad=%v, on=%v) = %q, want %q", tc.ad, tc.on, got, tc.want)
		}
	}
}

func changes(m *ldap.ModifyRequest) []string {
	var out []string
	for _, c := range m.Changes {
		op := map[uint]string{ldap.AddAttribute: "add", ldap.DeleteAttribute: "delete", ldap.ReplaceAttribute: "replace"}[c.Operation]
		out = append(out, op+" "+c.Modification.Type+"="+strings.Join(c.Modification.Vals, ","))
	}
	return out
}

// A users_dn written with spaces and capitals names the same entries as the
// server writes them back in a group's member.
func TestAccountDNIsWrittenAsTheGroupReadsIt(t *testing.T) {
	in := target.Input{UserID: "northwind-solo", PartnerID: "northwind"}
	for _, ad := range []bool{false, true} {
		spaced := account(store.Target{UserDomain: "OU=Partners, DC=litware,  DC=test"}, in, ad)
		plain := account(store.Target{UserDomain: "ou=partners,dc=litware,dc=test"}, in, ad)
		if spaced.dn != plain.dn || spaced.dn != normalize(strings.ToUpper(plain.dn)) {
			t.Errorf("ad=%v: %q and %q are one entry", ad, spaced.dn, plain.dn)
		}
	}
}

// Active Directory answers a large group's member attribute one range at a
// time; every range is read, or the read fails.
func TestMemberValuesFollowActiveDirectoryRanges(t *testing.T) {
	entry := func(name string, values ...string) *ldap.Entry {
		return &ldap.Entry{Attributes: []*ldap.EntryAttribute{{Name: "cn", Values: []string{"g"}}, {Name: name, Values: values}}}
	}
	for _, tc := range []struct {
		name, attr, next string
		fails            bool
	}{
		{"OpenLDAP, all at once", "member", "", false},
		{"AD's first range", "member;range=0-1499", "member;range=1500-*", false},
		{"AD's middle range", "member;range=1500-2999", "member;range=3000-*", false},
		{"AD's last range", "member;range=3000-*", "", false},
		{"capitals", "Member;Range=0-1499", "member;range=1500-*", false},
		{"a range not understood", "member;range=0-x", "", true},
	} {
		values, next, err := memberValues(entry(tc.attr, "cn=a", "cn=b"))
		if (err != nil) != tc.fails || next != tc.next || !tc.fails && len(values) != 2 {
			t.Errorf("%s: %v %q %v, want next %q (fails: %v)", tc.name, values, next, err, tc.next, tc.fails)
		}
	}
	if values, next, err := memberValues(&ldap.Entry{}); values != nil || next != "" || err != nil {
		t.Errorf("a group without member: %v %q %v", values, next, err)
	}
}
