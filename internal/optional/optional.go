// Package optional decides what a test does when a part it needs is not on
// the machine (Chromium, axe-core, PostgreSQL, OpenLDAP, the topology's
// PostgreSQL): it skips, naming the variable that makes the part
// required, or fails when that variable or REQUIRE_ALL is 1, as in CI.
package optional

import (
	"fmt"
	"os"
	"testing"
)

// All makes every part required.
const All = "REQUIRE_ALL"

// Part is one optional part of the test suite.
type Part struct {
	Name     string // what is missing
	Variable string // REQUIRE_…=1 makes it required
	Needs    string // how to have it
}

// The optional parts, as the README's testing section lists them.
var (
	Browser  = Part{"Chromium", "REQUIRE_BROWSER", "apt-get install chromium, or CHROMIUM=/path/to/it"}
	Axe      = Part{"axe-core", "REQUIRE_AXE", "npm install --prefix .ci/node axe-core@4.13, or AXE_CORE=/path/to/axe.min.js"}
	Postgres = Part{"PostgreSQL", "REQUIRE_POSTGRES", "PG_TEST_URL, a URL whose role may create databases (.ci/start-postgres prints one)"}
	LDAP     = Part{"OpenLDAP", "REQUIRE_LDAP", "apt-get install slapd ldap-utils"}
	Topology = Part{"the topology test's PostgreSQL", "REQUIRE_TOPOLOGY", "PG_TEST_URL, as for REQUIRE_POSTGRES"}
)

// Parts are all of them.
var Parts = []Part{Browser, Axe, Postgres, LDAP, Topology}

// Required reports whether the part must be there: its variable or
// REQUIRE_ALL is 1.
func (p Part) Required() bool {
	return os.Getenv(p.Variable) == "1" || os.Getenv(All) == "1"
}

// Missing ends t because the part is missing (why says how it was
// found missing): a failure when the part is required, else a skip whose
// message names the variable that would make it one.
func (p Part) Missing(t testing.TB, why string) {
	t.Helper()
	what := fmt.Sprintf("%s is missing (%s); to have it: %s", p.Name, why, p.Needs)
	if p.Required() {
		t.Fatalf("%s; it is required (%s=1 or %s=1)", what, p.Variable, All)
	}
	t.Skipf("skipped: %s; %s=1 (or %s=1) makes this a failure", what, p.Variable, All)
}
