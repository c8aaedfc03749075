package directory_test

import (
	"context"
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

func TestApplyAddsChangesAndKeepsAnEntraTarget(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r, err := apply(t, st, entraFile, directory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Targets.Created != 1 || r.AccessGroups.Created != 1 {
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
		r, err = apply(t, st, entraFile, directory.Options{})
		if err != nil || (r.Targets != directory.Count{Unchanged: 1}) || (r.AccessGroups != directory.Count{Unchanged: 1}) {
			t.Fatalf("second apply: %+v %v, want nothing changed", r, err)
		}
		// The secret's source may change at any time.
		changed := strings.Replace(entraFile, "client_secret_env: CONTOSO_GRAPH_SECRET", "client_secret_file: /run/secrets/contoso", 1)
		if r, err = apply(t, st, changed, directory.Options{}); err != nil || r.Targets.Updated != 1 {
			t.Fatalf("secret source changed: %+v %v", r, err)
		}
		if got, _ := st.CustomerTarget(ctx, "contoso"); got.SecretFile != "/run/secrets/contoso" || got.SecretEnv != "" {
			t.Fatalf("target after the change: %+v", got)
		}
	})
}

func TestApplyKeepsTheTargetOfOpenAssignments(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := apply(t, st, entraFile, directory.Options{}); err != nil {
			t.Fatal(err)
		}
		// An open assignment: its access lives in the tenant and its group.
		agent := store.User{ID: "u-agent", Email: "agent@partner.example", Name: "Agent", Kind: store.KindPartner, PartnerID: "northwind",
			Status: store.StatusActive, RegisteredAt: ptr(time.Now()), Roles: []string{store.RolePartnerSupportAgent}}
		if err := st.CreateUser(ctx, agent); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w1", SiteID: "contoso-standard", PartnerUserID: agent.ID,
			Role: store.RolePartnerSupportAgent, Reason: "case", Edition: domain.EditionStandard, RequestedBy: agent.ID, RequestedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		before, _ := st.AuditLog(ctx, store.AuditFilter{Limit: 1000})
		gateway := strings.Replace(entraFile, `        entra:
          tenant_id: 6F1C0000-0000-0000-0000-000000000001
          client_id: 0a7e0000-0000-0000-0000-000000000002
          client_secret_env: CONTOSO_GRAPH_SECRET
          user_domain: Contoso.onmicrosoft.com
`, "", 1)
		gateway = strings.Replace(gateway, ", access_group: 3b7f0000-0000-0000-0000-000000000003", "", 1)
		otherTenant := strings.Replace(entraFile, "6F1C0000-0000-0000-0000-000000000001", "6f1c0000-0000-0000-0000-000000000009", 1)
		otherGroup := strings.Replace(entraFile, "3b7f0000-0000-0000-0000-000000000003", "3b7f0000-0000-0000-0000-000000000009", 1)
		for name, c := range map[string]struct{ text, problem string }{
			"removed":       {gateway, "has 1 open assignments whose access is in its Entra tenant"},
			"other tenant":  {otherTenant, "has 1 open assignments whose access is in tenant 6f1c0000-0000-0000-0000-000000000001"},
			"other group":   {otherGroup, `has 1 open assignments whose access is in group "3b7f0000-0000-0000-0000-000000000003"`},
			"new secret ok": {strings.Replace(entraFile, "CONTOSO_GRAPH_SECRET", "CONTOSO_GRAPH_SECRET_2", 1), ""},
		} {
			_, err := apply(t, st, c.text, directory.Options{})
			if c.problem == "" {
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), c.problem) {
				t.Fatalf("%s: %v, want %q", name, err, c.problem)
			}
		}
		if got, _ := st.CustomerTarget(ctx, "contoso"); got.TenantID != "6f1c0000-0000-0000-0000-000000000001" || got.SecretEnv != "CONTOSO_GRAPH_SECRET_2" {
			t.Fatalf("target %+v: want the tenant kept and only the secret's variable changed", got)
		}
		after, _ := st.AuditLog(ctx, store.AuditFilter{Limit: 1000})
		if len(after) != len(before)+1 {
			t.Fatalf("%d audit entries written, want only the secret change's", len(after)-len(before))
		}
	})
}

func ptr[T any](v T) *T { return &v }
