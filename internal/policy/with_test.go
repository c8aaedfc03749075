package policy_test

import (
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/policy"
)

// A site's policy overrides its customer's field by field: a site that
// names only access_duration keeps the customer's max_duration, and
// max_duration follows access_duration only while no level names it.
func TestWithOverridesFieldByField(t *testing.T) {
	d := func(v time.Duration) *time.Duration { return &v }
	base := policy.Defaults(72*time.Hour, 168*time.Hour, 2, nil)
	for _, tc := range []struct {
		name           string
		levels         []policy.Policy
		access, maxDur time.Duration
	}{
		{"defaults", nil, 72 * time.Hour, 72 * time.Hour},
		{"access only: the max follows", []policy.Policy{{AccessDuration: d(8 * time.Hour)}}, 8 * time.Hour, 8 * time.Hour},
		{"customer's max kept under a site's access", []policy.Policy{{MaxDuration: d(24 * time.Hour)}, {AccessDuration: d(4 * time.Hour)}}, 4 * time.Hour, 24 * time.Hour},
		{"site's own max", []policy.Policy{{MaxDuration: d(24 * time.Hour)}, {AccessDuration: d(4 * time.Hour), MaxDuration: d(6 * time.Hour)}}, 4 * time.Hour, 6 * time.Hour},
	} {
		e := base
		for _, p := range tc.levels {
			e = e.With(p)
		}
		if e.AccessDuration != tc.access || e.MaxDuration != tc.maxDur {
			t.Errorf("%s: access %v, max %v; want %v, %v", tc.name, e.AccessDuration, e.MaxDuration, tc.access, tc.maxDur)
		}
	}
}
