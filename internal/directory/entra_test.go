package directory_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

const entraFile = `partners:
  - id: northwind
    name: Northwind Partners
    customers:
      - id: contoso
        name: Contoso
        permission: granted
        entra:
          tenant_id: 6F1C0000-0000-0000-0000-000000000001
          client_id: 0a7e0000-0000-0000-0000-000000000002
          client_secret_env: CONTOSO_GRAPH_SECRET
          user_domain: Contoso.onmicrosoft.com
        sites:
          - {id: contoso-standard, name: Contoso Sage 200 Standard, edition: standard, access_group: 3b7f0000-0000-0000-0000-000000000003}
`

// withoutEntra is entraFile with Contoso back on the gateway alone.
var withoutEntra = strings.Replace(strings.Replace(entraFile, `        entra:
          tenant_id: 6F1C0000-0000-0000-0000-000000000001
          client_id: 0a7e0000-0000-0000-0000-000000000002
          client_secret_env: CONTOSO_GRAPH_SECRET
          user_domain: Contoso.onmicrosoft.com
`, "", 1), ", access_group: 3b7f0000-0000-0000-0000-000000000003", "", 1)

func TestApplyAddsChangesAndKeepsAnEntraTarget(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r, err := apply(t, st, entraFile, directory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.EntraTargets.Created != 1 || r.AccessGroups.Created != 1 {
			t.Fatalf("first apply: %+v", r)
		}
		got, err := st.CustomerTarget(ctx, "contoso")
		want := store.Target{Kind: store.TargetEntra, TenantID: "6f1c0000-0000-0000-0000-000000000001",
			ClientID: "0a7e0000-0000-0000-0000-000000000002", SecretEnv: "CONTOSO_GRAPH_SECRET", UserDomain: "contoso.onmicrosoft.com"}
		if err != nil || got != want {
			t.Fatalf("target %+v %v, want %+v", got, err, want)
		}
		if site, _ := st.SiteByID(ctx, "contoso-standard"); site.AccessGroup != "3b7f0000-0000-0000-0000-000000000003" {
			t.Fatalf("access group %q", site.AccessGroup)
		}

		// The same file again changes nothing.
		r, err = apply(t, st, entraFile, directory.Options{})
		unchanged := directory.Report{Partners: directory.Count{Unchanged: 1}, Customers: directory.Count{Unchanged: 1},
			Sites: directory.Count{Unchanged: 1}, Permissions: directory.Count{Unchanged: 1},
			EntraTargets: directory.Count{Unchanged: 1}, AccessGroups: directory.Count{Unchanged: 1}}
		if err != nil || !reflect.DeepEqual(r, unchanged) {
			t.Fatalf("second apply: %+v %v, want %+v", r, err, unchanged)
		}

		// With no assignment, everything of the target may change: app,
		// secret's source, domain, and the site's group.
		changed := strings.NewReplacer("client_secret_env: CONTOSO_GRAPH_SECRET", "client_secret_file: /run/secrets/contoso",
			"0a7e0000-0000-0000-0000-000000000002", "0a7e0000-0000-0000-0000-000000000004",
			"Contoso.onmicrosoft.com", "contoso.example",
			"3b7f0000-0000-0000-0000-000000000003", "3b7f0000-0000-0000-0000-000000000005").Replace(entraFile)
		if r, err = apply(t, st, changed, directory.Options{}); err != nil || (r.EntraTargets != directory.Count{Updated: 1}) ||
			(r.AccessGroups != directory.Count{Updated: 1}) {
			t.Fatalf("target changed: %+v %v", r, err)
		}
		want.ClientID, want.SecretEnv, want.SecretFile, want.UserDomain = "0a7e0000-0000-0000-0000-000000000004", "", "/run/secrets/contoso", "contoso.example"
		if got, _ := st.CustomerTarget(ctx, "contoso"); got != want {
			t.Fatalf("target after the change: %+v, want %+v", got, want)
		}
		if site, _ := st.SiteByID(ctx, "contoso-standard"); site.AccessGroup != "3b7f0000-0000-0000-0000-000000000005" {
			t.Fatalf("access group after the change %q", site.AccessGroup)
		}

		// And the customer may go back to the gateway alone.
		if r, err = apply(t, st, withoutEntra, directory.Options{}); err != nil || (r.EntraTargets != directory.Count{Updated: 1}) ||
			(r.AccessGroups != directory.Count{Updated: 1}) {
			t.Fatalf("target removed: %+v %v", r, err)
		}
		if got, _ := st.CustomerTarget(ctx, "contoso"); got.Kind != store.TargetGateway {
			t.Fatalf("target after removal: %+v", got)
		}
		if site, _ := st.SiteByID(ctx, "contoso-standard"); site.AccessGroup != "" {
			t.Fatalf("access group after removal %q", site.AccessGroup)
		}
		if r, err = apply(t, st, withoutEntra, directory.Options{}); err != nil || (r.EntraTargets != directory.Count{}) || (r.AccessGroups != directory.Count{}) {
			t.Fatalf("the gateway file again: %+v %v, want no target nor group counted", r, err)
		}
	})
}

// openAssignment records an open assignment of a new partner user on the
// site: its access lives in the customer's directory.
func openAssignment(t *testing.T, st *store.Store, id, siteID string) {
	t.Helper()
	ctx := context.Background()
	u := store.User{ID: "u-" + id, Email: id + "@partner.example", Name: "Agent " + id, Kind: store.KindPartner, PartnerID: "northwind",
		Status: store.StatusActive, RegisteredAt: ptr(time.Now()), Roles: []string{store.RolePartnerSupportAgent}}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAssignment(ctx, store.Assignment{ID: id, WorkflowID: "w-" + id, SiteID: siteID, PartnerUserID: u.ID,
		Role: store.RolePartnerSupportAgent, Reason: "case", Edition: domain.EditionStandard, RequestedBy: u.ID, RequestedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func TestApplyKeepsTheTargetOfOpenAssignments(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := apply(t, st, entraFile, directory.Options{}); err != nil {
			t.Fatal(err)
		}
		openAssignment(t, st, "a1", "contoso-standard")
		before, _ := st.AuditLog(ctx, store.AuditFilter{Limit: 1000})
		// Each refused file also renames the customer and adds a site:
		// a file is applied whole or not at all.
		refused := func(text string) string {
			return strings.Replace(text, "name: Contoso\n", "name: Contoso Ltd\n", 1) +
				"          - {id: contoso-new, name: New, edition: standard, access_group: 3b7f0000-0000-0000-0000-000000000007}\n"
		}
		otherTenant := strings.Replace(entraFile, "6F1C0000-0000-0000-0000-000000000001", "6f1c0000-0000-0000-0000-000000000009", 1)
		otherGroup := strings.Replace(entraFile, "3b7f0000-0000-0000-0000-000000000003", "3b7f0000-0000-0000-0000-000000000009", 1)
		check := func(name, text string, want ...string) {
			t.Helper()
			_, err := apply(t, st, refused(text), directory.Options{})
			var ps directory.Problems
			if !errors.As(err, &ps) || len(ps) != len(want) {
				t.Fatalf("%s: %v, want %d problems", name, err, len(want))
			}
			for i, w := range want {
				if !strings.HasPrefix(ps[i].String(), w) {
					t.Errorf("%s: problem %d is %q, want it to start %q", name, i, ps[i].String(), w)
				}
			}
		}
		check("removed", withoutEntra,
			`partners[0].customers[0].id (line 5): customer "contoso" still has access in its Entra tenant (1 open assignment): its entra: block stays until that access is removed`,
			`partners[0].customers[0].sites[0].access_group (line 9): site "contoso-standard" still has access in group 3b7f0000-0000-0000-0000-000000000003 (1 open assignment): the group changes once that access is removed`,
			`partners[0].customers[0].sites[1].access_group (line 10): needs an entra: or ldap: block on its customer`)
		check("other tenant", otherTenant,
			`partners[0].customers[0].entra.tenant_id (line 9): customer "contoso" still has access in tenant 6f1c0000-0000-0000-0000-000000000001 (1 open assignment): the tenant changes once that access is removed`)
		check("other group", otherGroup,
			`partners[0].customers[0].sites[0].access_group (line 14): site "contoso-standard" still has access in group 3b7f0000-0000-0000-0000-000000000003 (1 open assignment): the group changes once that access is removed`)

		// Ended, but the directory has not let the revocation happen yet:
		// the access is still there.
		if err := st.ApplyTransition(ctx, store.Transition{AssignmentID: "a1", Seq: 1, State: domain.StateRevoked, At: time.Now(),
			Actor: "u-a1", Action: "access.revoked"}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetRevocationPending(ctx, "a1", time.Now(), "graph: 503"); err != nil {
			t.Fatal(err)
		}
		openAssignment(t, st, "a2", "contoso-standard")
		check("other tenant, a revocation pending", otherTenant,
			`partners[0].customers[0].entra.tenant_id (line 9): customer "contoso" still has access in tenant 6f1c0000-0000-0000-0000-000000000001 (1 open assignment, 1 revocation the directory has not let happen yet)`)

		after, _ := st.AuditLog(ctx, store.AuditFilter{Limit: 1000})
		if len(after) != len(before)+1 { // a1 revoked
			t.Fatalf("%d audit entries written by refused files", len(after)-len(before)-1)
		}
		if c, _ := st.CustomerByID(ctx, "contoso"); c.Name != "Contoso" {
			t.Fatalf("customer renamed to %q by a refused file", c.Name)
		}
		if _, err := st.SiteByID(ctx, "contoso-new"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("site added by a refused file: %v", err)
		}
		if got, _ := st.CustomerTarget(ctx, "contoso"); got.TenantID != "6f1c0000-0000-0000-0000-000000000001" {
			t.Fatalf("target %+v: want the tenant kept", got)
		}
		if site, _ := st.SiteByID(ctx, "contoso-standard"); site.AccessGroup != "3b7f0000-0000-0000-0000-000000000003" {
			t.Fatalf("access group %q: want it kept", site.AccessGroup)
		}

		// What does not move the access may change at any time.
		other := strings.NewReplacer("client_secret_env: CONTOSO_GRAPH_SECRET", "client_secret_file: /run/secrets/contoso",
			"0a7e0000-0000-0000-0000-000000000002", "0a7e0000-0000-0000-0000-000000000004",
			"Contoso.onmicrosoft.com", "contoso.example").Replace(entraFile)
		if r, err := apply(t, st, other, directory.Options{}); err != nil || (r.EntraTargets != directory.Count{Updated: 1}) {
			t.Fatalf("app, secret and domain changed: %+v %v", r, err)
		}
		if got, _ := st.CustomerTarget(ctx, "contoso"); got.TenantID != "6f1c0000-0000-0000-0000-000000000001" ||
			got.ClientID != "0a7e0000-0000-0000-0000-000000000004" || got.SecretFile != "/run/secrets/contoso" || got.UserDomain != "contoso.example" {
			t.Fatalf("target %+v: want the tenant kept and the rest changed", got)
		}
	})
}

// A run that started on the gateway stays there, and a site without a
// group has nothing in one: a customer with open assignments may get an
// entra: block and its sites their groups.
func TestApplyAddsATargetDespiteOpenAssignments(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := apply(t, st, withoutEntra, directory.Options{}); err != nil {
			t.Fatal(err)
		}
		openAssignment(t, st, "a1", "contoso-standard")
		r, err := apply(t, st, entraFile, directory.Options{})
		if err != nil || (r.EntraTargets != directory.Count{Created: 1}) || (r.AccessGroups != directory.Count{Created: 1}) {
			t.Fatalf("target added: %+v %v", r, err)
		}
		if got, _ := st.CustomerTarget(ctx, "contoso"); got.Kind != store.TargetEntra {
			t.Fatalf("target %+v", got)
		}
	})
}

func ptr[T any](v T) *T { return &v }
