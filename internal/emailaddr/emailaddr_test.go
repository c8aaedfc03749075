package emailaddr_test

import (
	"testing"

	"github.com/partneraccess/partneraccess/internal/emailaddr"
)

func TestLookAlikesAndHiddenCharactersAreRefused(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"admin@contoso.example", true},
		{" admin@contoso.example ", true},
		{"jürgen.müller@beispiel.de", true},
		{"пользователь@пример.рф", true},
		{"\u0430dmin@contoso.example", false},     // Cyrillic а in a Latin name
		{"admin@c\u043entoso.example", false},     // Cyrillic о in the domain
		{"ad\u200bmin@contoso.example", false},    // zero-width space
		{"admin@contoso.example\u202e", false},    // right-to-left override
		{"Admin <admin@contoso.example>", false},  // a display name
		{"admin@contoso..example", false},         // not a host name
		{"admin", false},                          // no domain
		{"a@" + string(make([]byte, 260)), false}, // too long, and NULs
	} {
		got, err := emailaddr.Check(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: %q, %v; want ok %v", tc.in, got, err, tc.ok)
		}
	}
}
