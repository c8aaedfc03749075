package password_test

import (
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/password"
	"github.com/partneraccess/partneraccess/internal/problem"
)

func TestR2PasswordPolicy(t *testing.T) {
	personal := []string{"ivy.invited@partner.example", "Ivy Invited"}
	for _, tc := range []struct {
		name, pw, why string
	}{
		{"too short", "short-pw-11", "too short"},
		{"common", "Password1234", "most common"},
		{"common with a year", "welcome2024!", "most common"},
		{"keyboard walk", "1qaz2wsx3edc", "most common"},
		{"repeats", "abababababab", "repeats"},
		{"own address", "ivy.invited1", "own name"},
		{"own name", "IvyInvited99", "own name"},
		{"too long", strings.Repeat("x9", 40), "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := password.Check(tc.pw, personal...)
			p := problem.As(err)
			if p == nil || p.Kind != problem.KindUnprocessable || p.Field != "password" || !strings.Contains(p.Detail, tc.why) {
				t.Fatalf("Check(%q) = %v; want an unprocessable refusal of password saying %q", tc.pw, err, tc.why)
			}
			if strings.Contains(p.Detail, tc.pw) {
				t.Fatalf("the refusal repeats the password: %s", p.Detail)
			}
		})
	}
	for _, ok := range []string{"correct horse battery", "lantern-orbit-cactus", "ivy likes green tea at noon", "12 characters"} {
		if err := password.Check(ok, personal...); err != nil {
			t.Errorf("Check(%q) = %v; want it accepted (no composition rules)", ok, err)
		}
	}
}

// Passwords made of the user's own name, address or organization, with
// digits and punctuation around them, are refused; a password that only
// mentions one of those words among its own is not.
func TestR2PasswordsBuiltOnTheUsersOwnWordsAreRefused(t *testing.T) {
	ivy := []string{"ivy.green@northwind.example", "Ivy Green", "Northwind Partners"}
	for _, pw := range []string{"Ivy Green 2024", "Northwind Partners 1", "ivygreen!2024", "IVY.GREEN@2024", "green-northwind-7",
		"Northwind2024!!", "partners-ivy-99"} {
		p := problem.As(password.Check(pw, ivy...))
		if p == nil || !strings.Contains(p.Detail, "own name") {
			t.Errorf("Check(%q) = %v; want it refused as built on her own words", pw, p)
		}
	}
	for _, pw := range []string{"green tea over breakfast", "northwind sails at dawn", "lantern-orbit-cactus"} {
		if err := password.Check(pw, ivy...); err != nil {
			t.Errorf("Check(%q) = %v; want it accepted", pw, err)
		}
	}
}
