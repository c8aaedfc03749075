package directory

import (
	"strings"
	"testing"
)

func TestEntraBlockProblemsAllAtOnce(t *testing.T) {
	file := `partners:
  - id: northwind
    name: Northwind
    customers:
      - id: contoso
        name: Contoso
        entra:
          tenant_id: not-a-guid
          client_id: ""
          client_secret_env: lower-case
          user_domain: "contoso"
        sites:
          - {id: s1, name: S1, edition: standard}
          - {id: s2, name: S2, edition: standard, access_group: "group one"}
      - id: fabrikam
        name: Fabrikam
        entra:
          tenant_id: 6f1c0000-0000-0000-0000-000000000001
          client_id: 0a7e0000-0000-0000-0000-000000000002
          client_secret_env: FABRIKAM_SECRET
          client_secret_file: /run/secrets/fabrikam
          user_domain: fabrikam.onmicrosoft.com
          client_secret: hunter2
      - id: litware
        name: Litware
        sites:
          - {id: s3, name: S3, edition: standard, access_group: 3b7f0000-0000-0000-0000-000000000003}
      - id: adatum
        name: Adatum
        entra:
          client_id: 0a7e0000-0000-0000-0000-000000000002
      - id: woodgrove
        name: Woodgrove
        entra:
          tenant_id: 6f1c0000-0000-0000-0000-000000000001
          client_id: 0a7e0000-0000-0000-0000-000000000002
          client_secret_file: secrets/woodgrove
          user_domain: "woodgrove..example"
`
	// The secret itself has no field, and a refused one is not echoed.
	if _, err := Parse([]byte(file)); err == nil || !strings.Contains(err.Error(), "entra.client_secret (line 23): unknown field") ||
		strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("a client secret in the entra block: %v", err)
	}
	file = strings.Replace(file, "          client_secret: hunter2\n", "", 1)
	want := []string{
		`partners[0].customers[0].entra.tenant_id (line 8): "not-a-guid" is not an Entra ID`,
		"partners[0].customers[0].entra.client_id (line 9): is required",
		`partners[0].customers[0].entra.client_secret_env (line 10): "lower-case" is not an environment variable's name`,
		`partners[0].customers[0].entra.user_domain (line 11): "contoso" is not a domain name`,
		"partners[0].customers[0].sites[0].access_group (line 13): is required when the customer has an entra: block",
		`partners[0].customers[0].sites[1].access_group (line 14): "group one" is not a group's object ID`,
		"partners[0].customers[1].entra.client_secret_file (line 21): give client_secret_env or client_secret_file, not both",
		"partners[0].customers[2].sites[0].access_group (line 26): needs an entra: or ldap: block on its customer",
		"partners[0].customers[3].entra.tenant_id (line 29): is required",
		"partners[0].customers[3].entra (line 29): names no client secret",
		"partners[0].customers[3].entra.user_domain (line 29): is required",
		`partners[0].customers[4].entra.client_secret_file (line 36): "secrets/woodgrove" must be an absolute path`,
		`partners[0].customers[4].entra.user_domain (line 37): "woodgrove..example" is not a domain name`,
	}
	ps := problemsOf(t, file)
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i].String(), w) {
			t.Errorf("problem %d: got %q, want it to start %q", i, ps[i].String(), w)
		}
	}
}

// An avd block names its subscription by ID, its resource group and at
// least one host pool by their names, each once; the target keeps them.
func TestAVDBlockIsChecked(t *testing.T) {
	const bad = `
partners:
  - id: northwind
    name: Northwind
    customers:
      - id: contoso
        name: Contoso
        entra:
          tenant_id: 6f1c0000-0000-0000-0000-000000000001
          client_id: 0a7e0000-0000-0000-0000-000000000002
          client_secret_env: GRAPH_SECRET
          user_domain: contoso.onmicrosoft.com
          avd:
            subscription_id: "not-a-guid"
            resource_group: "rg with spaces"
            host_pools: [pool-a, Pool-A, "bad/pool"]
        sites:
          - id: contoso-standard
            name: Contoso Sage 200
            edition: standard
            access_group: 3b7f0000-0000-0000-0000-000000000003
`
	f, err := Parse([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	problems := f.Check()
	if len(problems) == 0 {
		t.Fatal("a bad avd block passed")
	}
	err = problems
	for _, want := range []string{
		`entra.avd.subscription_id (line 14): "not-a-guid" is not a subscription ID`,
		`entra.avd.resource_group (line 15): "rg with spaces" is not a resource group's name`,
		`entra.avd.host_pools[1]`, `"Pool-A" is named twice`,
		`entra.avd.host_pools[2]`, `"bad/pool" is not a host pool's name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	good := strings.NewReplacer(`"not-a-guid"`, "9a1c0000-0000-0000-0000-000000000001", `"rg with spaces"`, "rg-avd",
		`[pool-a, Pool-A, "bad/pool"]`, "[pool-a, pool-b]").Replace(bad)
	if f, err = Parse([]byte(good)); err != nil {
		t.Fatal(err)
	}
	if p := f.Check(); len(p) > 0 {
		t.Fatal(p)
	}
	a := f.Partners[0].Customers[0].Entra.AVD
	if a == nil || a.SubscriptionID != "9a1c0000-0000-0000-0000-000000000001" || a.ResourceGroup != "rg-avd" || strings.Join(a.HostPools, ",") != "pool-a,pool-b" {
		t.Fatalf("avd block %+v", a)
	}
}
