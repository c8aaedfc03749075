package server

import (
	"testing"

	"github.com/partneraccess/partneraccess/internal/problem"
)

// Each kind of problem has a status of its own, so no two kinds look alike
// to a caller and none falls through to a 500 unnoticed.
func TestEveryKindOfProblemHasItsOwnStatus(t *testing.T) {
	seen := map[int]problem.Kind{}
	for k := problem.KindInternal; k <= problem.KindWrongHost; k++ {
		st, ok := statuses[k]
		if !ok {
			t.Fatalf("kind %d has no status", k)
		}
		if other, dup := seen[st]; dup {
			t.Fatalf("kinds %d and %d both map to %d", other, k, st)
		}
		seen[st] = k
	}
	if len(statuses) != len(seen) {
		t.Fatalf("statuses maps %d kinds, want the %d declared", len(statuses), len(seen))
	}
}
