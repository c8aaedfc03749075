// Package password holds the password policy of registration and password
// reset, after NIST SP 800-63B §5.1.1.2: long enough, not a known common
// password nor one built from the user's own name or address, and no
// composition rules (no "one digit and one symbol"), which only make
// passwords harder to remember without making them harder to guess.
package password

import (
	"bufio"
	_ "embed"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/partneraccess/partneraccess/internal/problem"
)

// MinLen is the fewest characters a password may have.
const MinLen = 12

// MaxBytes is the most a password may have: bcrypt reads no further.
const MaxBytes = 72

//go:embed common.txt
var commonList string

var (
	loadOnce sync.Once
	common   map[string]struct{}
)

func load() {
	common = map[string]struct{}{}
	sc := bufio.NewScanner(strings.NewReader(commonList))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			common[line] = struct{}{}
		}
	}
}

// Check applies the policy to a new password. personal are words of the
// user's own (the email address, the name, the organization) that the
// password must not be built on. The refusal is unprocessable, naming
// the field "password"; it never repeats the password.
func Check(pw string, personal ...string) error {
	loadOnce.Do(load)
	refuse := func(format string, args ...any) error {
		return problem.Unprocessable("", "password", format, args...)
	}
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return refuse("password must be text")
	case n < MinLen:
		return refuse("password is too short: use at least %d characters (a few words you can remember make a good one)", MinLen)
	case len(pw) > MaxBytes:
		return refuse("password is too long: at most %d bytes (about 64 letters)", MaxBytes)
	}
	lower := strings.ToLower(pw)
	if _, ok := common[lower]; ok {
		return refuse("password is one of the most common passwords, which attackers try first; choose another")
	}
	if distinct(lower) < 4 {
		return refuse("password repeats too few characters; choose another")
	}
	if builtOn(lower, personal) {
		return refuse("password is built on your own name, email address or organization, which is easy to guess; choose another")
	}
	return nil
}

// minOwn is how many letters of its own a password built partly on the
// user's words must keep once those words, digits, spaces and punctuation
// are taken out ("Ivy Green 2024" keeps none).
const minOwn = 6

// builtOn reports whether pw (lower case) is made of the user's own words
// (each part of the name, email address and organization of three letters
// or more, and each of them whole, without its spaces or dots) with little
// else but digits and punctuation.
func builtOn(pw string, personal []string) bool {
	var parts []string
	for _, p := range personal {
		ws := words(p)
		parts = append(parts, ws...)
		if len(ws) > 1 {
			parts = append(parts, strings.Join(ws, ""))
		}
	}
	sort.Slice(parts, func(i, j int) bool { return len(parts[i]) > len(parts[j]) }) // longest first
	rest, found := pw, false
	for _, part := range parts {
		if utf8.RuneCountInString(part) >= 3 && strings.Contains(rest, part) {
			rest, found = strings.ReplaceAll(rest, part, ""), true
		}
	}
	if !found {
		return false
	}
	own := 0
	for _, r := range rest {
		if unicode.IsLetter(r) {
			own++
		}
	}
	return own < minOwn
}

func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// words splits a name or address into lower-case parts ("Ada Admin",
// "ada.admin@partner.example" → ada, admin, partner, example).
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return r == ' ' || r == '.' || r == '@' || r == '-' || r == '_' || r == '+'
	})
}
