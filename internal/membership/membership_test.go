package membership_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/membership"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// groups is a directory's access groups in memory.
type groups map[string][]string

func (g groups) Members(_ context.Context, group string) ([]string, error) { return g[group], nil }
func (g groups) Add(_ context.Context, group, id string) error {
	g[group] = append(g[group], id)
	return nil
}
func (g groups) Remove(_ context.Context, group, id string) error {
	g[group] = slices.DeleteFunc(g[group], func(m string) bool { return m == id })
	return nil
}

// A restored membership names the assignment whose grant it serves, so
// that the assignment's own audit log can show it; a removed one, which no
// grant justifies, names none.
func TestRepairNamesTheAssignmentOfARestoredMembership(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := demo.Load(ctx, st, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	tg := store.Target{Kind: store.TargetEntra, TenantID: "t1", ClientID: "c1", SecretEnv: "S", UserDomain: "contoso.example"}
	if err := st.SetCustomerTarget(ctx, demo.Contoso, &tg); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSiteAccessGroup(ctx, demo.ContosoSite, "g1"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, u := range []struct{ id, object string }{{demo.Solo, "o-solo"}, {demo.Agent, "o-agent"}} {
		if err := st.SaveDirectoryAccount(ctx, store.DirectoryAccount{UserID: u.id, CustomerID: demo.Contoso, Kind: store.TargetEntra,
			TenantID: "t1", ObjectID: u.object, Login: u.id + "@contoso.example", Enabled: true, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	// Solo's access is in force but its membership was taken away; the
	// agent, whose assignment ended, was put back by hand.
	if err := st.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w1", SiteID: demo.ContosoSite, PartnerUserID: demo.Solo,
		Role: store.RolePartnerSupportAgent, Reason: "case", Edition: domain.EditionStandard, RequestedBy: demo.Solo, RequestedAt: now}); err != nil {
		t.Fatal(err)
	}
	ends := now.Add(time.Hour)
	if err := st.PutGrant(ctx, store.Grant{AssignmentID: "a1", SiteID: demo.ContosoSite, UserID: demo.Solo, GrantedAt: now, ExpiresAt: &ends}); err != nil {
		t.Fatal(err)
	}
	g := groups{"g1": {"o-agent", "customer-own"}}

	repairs, err := membership.Repair(ctx, st, g, "t1", demo.Contoso, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []target.DriftRepair{
		{Kind: target.DriftRemoved, SiteID: demo.ContosoSite, UserID: demo.Agent, Login: demo.Agent + "@contoso.example"},
		{Kind: target.DriftRestored, SiteID: demo.ContosoSite, UserID: demo.Solo, Login: demo.Solo + "@contoso.example", AssignmentID: "a1"},
	}
	if !slices.Equal(repairs, want) {
		t.Fatalf("repairs %+v, want %+v", repairs, want)
	}
	if !slices.Equal(g["g1"], []string{"customer-own", "o-solo"}) {
		t.Fatalf("group %v, want the customer's own member and Solo", g["g1"])
	}
}
