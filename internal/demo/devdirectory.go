package demo

import (
	"context"
	"time"

	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The dev directory: in one-process mode with demo data, Contoso and
// Fabrikam enforce access in Entra tenants of their own, served by devgraph
// inside the process, so a newcomer sees accounts made, enabled, added and
// removed at /dev/directory.
const (
	DevContosoTenant  = "c0470500-0000-4000-8000-000000000001"
	DevFabrikamTenant = "fab01ca0-0000-4000-8000-000000000002"
	devApp            = "9a7e0000-0000-4000-8000-00000000000a"
	devContosoGroup   = "c0470500-0000-4000-8000-0000000000a1"
	devFabrikamGroup  = "fab01ca0-0000-4000-8000-0000000000a2"
	// DevSecretEnv is the variable the demo's targets name for their
	// client secret; DevSecret answers for it instead of the environment.
	DevSecretEnv = "PARTNER_ACCESS_DEV_DIRECTORY_SECRET"
	devSecret    = "dev-directory-secret"
)

// DevTenants maps each dev tenant to its customer.
var DevTenants = map[string]string{DevContosoTenant: Contoso, DevFabrikamTenant: Fabrikam}

// DevSecret is the dev directory's client secret when t is one of its
// targets.
func DevSecret(t store.Target) (string, bool) {
	if t.SecretEnv == DevSecretEnv && DevTenants[t.TenantID] != "" {
		return devSecret, true
	}
	return "", false
}

// DevDirectory wires Contoso and Fabrikam to the dev directory g: their
// tenants, each with an access group holding two of the customer's own
// users, their targets and sites' groups in the store, and the accounts
// made in an earlier run of the process, with the memberships of the grants
// still in force.
func DevDirectory(ctx context.Context, st *store.Store, g *devgraph.Directory, now time.Time) error {
	for _, c := range []struct{ customer, tenant, group, site, domain string }{
		{Contoso, DevContosoTenant, devContosoGroup, ContosoSite, "contoso.onmicrosoft.com"},
		{Fabrikam, DevFabrikamTenant, devFabrikamGroup, FabrikamSite, "fabrikam.onmicrosoft.com"},
	} {
		g.AddTenant(c.tenant, devApp, devSecret)
		g.AddGroup(c.tenant, c.group, "Sage 200 AVD users")
		for _, own := range []string{"it-admin", "accounts"} {
			g.AddToGroup(c.tenant, c.group, g.AddUser(c.tenant, own+"@"+c.domain, own))
		}
		if err := st.SetCustomerTarget(ctx, c.customer, &store.Target{Kind: store.TargetEntra, TenantID: c.tenant,
			ClientID: devApp, SecretEnv: DevSecretEnv, UserDomain: c.domain}); err != nil {
			return err
		}
		if err := st.SetSiteAccessGroup(ctx, c.site, c.group); err != nil {
			return err
		}
		accounts, err := st.DirectoryAccounts(ctx, c.customer)
		if err != nil {
			return err
		}
		grants, err := st.GrantsOnSite(ctx, c.site, now)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			if a.TenantID != c.tenant {
				continue
			}
			g.RestoreUser(c.tenant, a.ObjectID, a.Login, a.Login, a.Enabled)
			for _, gr := range grants {
				if gr.UserID == a.UserID {
					g.AddToGroup(c.tenant, c.group, a.ObjectID)
				}
			}
		}
	}
	return nil
}
