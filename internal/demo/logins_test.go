package demo

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Every demo user is listed in Logins, which the banner prints, and in the
// README's table of demo logins (issue 40: 7 in one, 10 in the other).
func TestEveryDemoUserIsListedInTheLoginsAndTheREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "| login | who |")
	table, _, _ = strings.Cut(table, "\n\n")
	var listed []string
	for _, l := range Logins {
		listed = append(listed, l.Email)
		if !strings.Contains(table, "`"+l.Email+"`") {
			t.Errorf("the README's demo logins lack %s", l.Email)
		}
	}
	for _, u := range append(append([]user(nil), partnerUsers...), customerUsers...) {
		if !slices.Contains(listed, u.email) {
			t.Errorf("Logins lacks the demo user %s", u.email)
		}
	}
	if n := strings.Count(table, "\n| `"); n != len(Logins) {
		t.Errorf("the README's table has %d rows, Logins %d: one row per login", n, len(Logins))
	}
}
