// Package emailaddr checks an email address a person is created with, the
// same way for an administrator's invitation and for directory apply: one
// plain address, no character that changes how it is displayed, a domain
// that is a valid (internationalized) host name, and no part that mixes
// scripts, the way a look-alike of another address does ("аdmin" with a
// Cyrillic "а").
package emailaddr

import (
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/net/idna"

	"github.com/partneraccess/partneraccess/internal/textcheck"
)

// MaxLen bounds an address (RFC 5321's path limit).
const MaxLen = 254

// ErrNotAnAddress: the text is not one plain address.
var ErrNotAnAddress = errors.New("not an email address: write it alone, like name@example.com")

// Check returns the address, trimmed, or why it is refused.
func Check(s string) (string, error) {
	s = strings.TrimSpace(s)
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || len(s) > MaxLen {
		return "", ErrNotAnAddress
	}
	if r, bad := textcheck.First(s); bad {
		return "", fmt.Errorf("%s (a control or format character) is not allowed in an email address", textcheck.Describe(r))
	}
	local, domain, _ := strings.Cut(s, "@")
	if _, err := idna.Lookup.ToASCII(domain); err != nil {
		return "", fmt.Errorf("the domain %q is not a valid host name", domain)
	}
	for _, part := range append([]string{local}, strings.Split(domain, ".")...) {
		if scripts := scriptsOf(part); len(scripts) > 1 {
			return "", fmt.Errorf("%q mixes scripts (%s), as a look-alike of another address does", part, strings.Join(scripts, " and "))
		}
	}
	return s, nil
}

// scriptsOf names the scripts of the letters in s; digits and punctuation
// (Common, Inherited) belong to none.
func scriptsOf(s string) []string {
	seen := map[string]bool{}
	for _, r := range s {
		if r < unicode.MaxASCII && !unicode.IsLetter(r) {
			continue
		}
		for name, table := range unicode.Scripts {
			if name != "Common" && name != "Inherited" && unicode.Is(table, r) {
				seen[name] = true
				break
			}
		}
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
