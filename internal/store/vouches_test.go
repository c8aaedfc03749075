package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/store"
)

// A vouch is used once: the run that consumes it may ask again (its check
// retried), any other run is refused, and so is a start no server recorded
// or one that claims another workflow or grant.
func TestVouchIsConsumedOnceByOneRun(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		now := time.Now()
		if err := s.PutVouch(ctx, "v1", "assignment", "assignment/site/user", "access of user to site", now); err != nil {
			t.Fatal(err)
		}
		if err := s.PutVouch(ctx, "v1", "assignment", "assignment/site/user", "access of user to site", now); err != nil {
			t.Fatalf("recording again: %v", err)
		}
		for _, tc := range []struct {
			name                 string
			id, kind, wf, grants string
			run                  string
			want                 error
		}{
			{"never recorded", "v2", "assignment", "assignment/site/user", "access of user to site", "run-1", store.ErrNotFound},
			{"another workflow", "v1", "assignment", "assignment/site/other", "access of user to site", "run-1", store.ErrVouchMismatch},
			{"another grant", "v1", "assignment", "assignment/site/user", "more access", "run-1", store.ErrVouchMismatch},
			{"another kind", "v1", "reissue", "assignment/site/user", "access of user to site", "run-1", store.ErrVouchMismatch},
			{"the first run", "v1", "assignment", "assignment/site/user", "access of user to site", "run-1", nil},
			{"the first run again", "v1", "assignment", "assignment/site/user", "access of user to site", "run-1", nil},
			{"a replayed start", "v1", "assignment", "assignment/site/user", "access of user to site", "run-2", store.ErrVouchUsed},
		} {
			v, err := s.ConsumeVouch(ctx, tc.id, tc.kind, tc.wf, tc.grants, tc.run, now)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if tc.want == nil && (v.ConsumedBy != "run-1" || v.ConsumedAt == nil) {
				t.Fatalf("%s: %+v, want consumed by run-1", tc.name, v)
			}
		}
	})
}
