package optional_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/optional"
)

// recorder is a testing.TB that keeps how it ended.
type recorder struct {
	testing.TB
	failed, skipped string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.failed = sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skipped = sprintf(format, a...) }

func TestAMissingPartSkipsNamingItsVariableOrFailsWhenRequired(t *testing.T) {
	for _, p := range optional.Parts {
		for _, tc := range []struct {
			env  map[string]string
			fail bool
		}{
			{map[string]string{p.Variable: "", optional.All: ""}, false},
			{map[string]string{p.Variable: "1", optional.All: ""}, true},
			{map[string]string{p.Variable: "", optional.All: "1"}, true},
		} {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := &recorder{TB: t}
			p.Missing(r, "not found")
			msg := r.skipped + r.failed
			if (r.failed != "") != tc.fail || !strings.Contains(msg, p.Variable) || !strings.Contains(msg, p.Name) || !strings.Contains(msg, p.Needs) {
				t.Errorf("%s with %v: failed %q, skipped %q", p.Name, tc.env, r.failed, r.skipped)
			}
		}
	}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
