package directory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/store"
)

// withTeams is entraFile with Contoso opted in to Teams with tenant.
func withTeams(tenant string) string {
	return strings.Replace(entraFile, "        sites:\n", "        teams: {tenant_id: "+tenant+"}\n        sites:\n", 1)
}

func TestApplyOptsACustomerInToTeamsAndOut(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r, err := apply(t, st, withTeams("6F1C0000-0000-0000-0000-000000000001"), directory.Options{})
		if err != nil || r.Teams.Created != 1 {
			t.Fatalf("first apply: %+v %v", r, err)
		}
		w, err := st.ChatWorkspace(ctx, "contoso", chat.ViaTeams)
		if err != nil || w.WorkspaceID != "6f1c0000-0000-0000-0000-000000000001" {
			t.Fatalf("workspace %+v %v", w, err)
		}
		if r, err = apply(t, st, withTeams("6f1c0000-0000-0000-0000-000000000001"), directory.Options{}); err != nil || r.Teams != (directory.Count{}) {
			t.Fatalf("the same file again: %+v %v", r.Teams, err)
		}
		if r, err = apply(t, st, entraFile, directory.Options{}); err != nil || r.Teams.Updated != 1 {
			t.Fatalf("the block left out: %+v %v", r.Teams, err)
		}
		if _, err := st.ChatWorkspace(ctx, "contoso", chat.ViaTeams); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("still opted in: %v", err)
		}
	})
}

func TestCheckRefusesATeamsBlockAtFault(t *testing.T) {
	for _, tc := range []struct{ name, tenant, want string }{
		{"no tenant", `""`, "teams.tenant_id (line 13): is required"},
		{"not a GUID", "contoso.onmicrosoft.com", `"contoso.onmicrosoft.com" is not an Entra tenant ID`},
		{"not the entra tenant", "7e110000-0000-0000-0000-0000000000ff", "is not the tenant of the customer's entra: block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := directory.Parse([]byte(withTeams(tc.tenant)))
			if err != nil {
				t.Fatal(err)
			}
			ps := f.Check()
			if got := fmt.Sprint(ps); len(ps) != 1 || !strings.Contains(got, tc.want) {
				t.Fatalf("problems %s, want one with %q", got, tc.want)
			}
		})
	}
}
