package service

import (
	"slices"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The audit's details keep machine times and durations; the timeline writes
// them as people read them.
func TestHumanDetailWritesTimesAndDurationsForPeople(t *testing.T) {
	for in, want := range map[string]string{
		"access until 2026-12-08T06:41:02Z":              "access until Tue 8 Dec 2026 06:41 UTC",
		"ends 2026-12-08T07:41:02.123+01:00 now":         "ends Tue 8 Dec 2026 06:41 UTC now",
		"asked for 24h0m0s more":                         "asked for 1 day more",
		"asked for 5m0s more, then 1h30m0s":              "asked for 5 minutes more, then 1 hour and 30 minutes",
		"Case 24h0m0sx and 2026-12-08 stay as they were": "Case 24h0m0sx and 2026-12-08 stay as they were",
	} {
		if got := humanDetail(in); got != want {
			t.Errorf("humanDetail(%q) = %q, want %q", in, got, want)
		}
	}
}

// The workflow records the access made in the customer's directory before
// the approval that led to it; the timeline tells it the other way round
// (issue 40), and names the directory as people do.
func TestTimelinePutsTheApprovalBeforeTheAccessItMade(t *testing.T) {
	at := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	in := []store.AuditEntry{
		{At: at, Action: domain.ActionAssignmentRequested},
		{At: at.Add(time.Second), Action: domain.ActionAccessProvisioned},
		{At: at.Add(2 * time.Second), Action: domain.ActionAssignmentApproved},
		{At: at.Add(3 * time.Second), Action: domain.ActionRevocationProven},
	}
	out := approvalsFirst(in)
	var got []domain.Action
	for _, e := range out {
		got = append(got, e.Action)
	}
	want := []domain.Action{domain.ActionAssignmentRequested, domain.ActionAssignmentApproved, domain.ActionAccessProvisioned, domain.ActionRevocationProven}
	if !slices.Equal(got, want) || out[1].At.After(out[2].At) {
		t.Fatalf("approvalsFirst: %v, want %v in time order", out, want)
	}
	if in[1].Action != domain.ActionAccessProvisioned {
		t.Fatal("approvalsFirst changed the entries it was given")
	}
	if w := targetWords("x made in entra with a temporary password; in ldap: y"); w != "x made in Entra ID with a temporary password; in LDAP: y" {
		t.Errorf("targetWords: %q", w)
	}
}
