package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/store"
)

func TestApplySetsReviewSettingsAndAPermissionsEnd(t *testing.T) {
	until := time.Now().AddDate(0, 2, 0).UTC().Format(time.DateOnly)
	text := strings.Replace(strings.Replace(file, "        permission: granted\n",
		"        permission: {granted_until: "+until+"}\n        review: {every: 720h, due_in: 168h, on_missed: report}\n", 1),
		"    customers:\n", "    review: {due_in: 240h}\n    customers:\n", 1)
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := apply(t, st, text, directory.Options{}); err != nil {
			t.Fatal(err)
		}
		p, err := st.PermissionOf(ctx, "contoso", "northwind")
		if err != nil || !p.Granted || p.GrantedUntil == nil || p.GrantedUntil.Format(time.DateOnly) != until {
			t.Fatalf("permission %+v %v", p, err)
		}
		rs, ok, err := st.ReviewSettingsOf(ctx, "contoso")
		if err != nil || !ok || rs.Every != 720*time.Hour || rs.DueIn != 168*time.Hour || rs.OnMissed != store.OnMissedReport {
			t.Fatalf("contoso's settings %+v %v %v", rs, ok, err)
		}
		rs, ok, _ = st.ReviewSettingsOf(ctx, "northwind")
		if !ok || rs.Every != directory.DefaultReviewEvery || rs.DueIn != 240*time.Hour || rs.OnMissed != store.OnMissedSuspend {
			t.Fatalf("northwind's settings %+v", rs)
		}
		r, err := apply(t, st, text, directory.Options{})
		if err != nil || r.Permissions != (directory.Count{Unchanged: 1}) {
			t.Fatalf("again: %+v %v", r.Permissions, err)
		}
	})
}

func TestApplyRefusesBadReviewAndPermissionEnds(t *testing.T) {
	for _, c := range []struct{ in, out, want string }{
		{"        permission: granted\n", "        permission: {granted_until: soon}\n", "permission.granted_until"},
		{"        permission: granted\n", "        permission: {granted_until: 2001-01-01}\n", "has passed"},
		{"        permission: granted\n", "        permission: granted\n        review: {every: 1h}\n", "review.every"},
		{"        permission: granted\n", "        permission: granted\n        review: {every: 240h, due_in: 720h}\n", "must be shorter than every"},
		{"        permission: granted\n", "        permission: granted\n        review: {on_missed: forget}\n", "review.on_missed"},
	} {
		t.Run(c.want, func(t *testing.T) {
			eachStore(t, func(t *testing.T, st *store.Store) {
				_, err := apply(t, st, strings.Replace(file, c.in, c.out, 1), directory.Options{})
				var ps directory.Problems
				if !errors.As(err, &ps) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want a problem with %q", err, c.want)
				}
				if _, err := st.CustomerByID(context.Background(), "contoso"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("a refused file wrote: %v", err)
				}
			})
		})
	}
}

func TestParseRefusesAnUnknownFieldInAPermissionBlock(t *testing.T) {
	_, err := directory.Parse([]byte(strings.Replace(file, "        permission: granted\n", "        permission: {until: 2031-01-01}\n", 1)))
	if err == nil || !strings.Contains(err.Error(), "permission.until (line 9): unknown field; a permission block has granted_until") {
		t.Fatalf("got %v", err)
	}
}
