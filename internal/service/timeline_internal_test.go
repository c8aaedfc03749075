package service

import "testing"

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
