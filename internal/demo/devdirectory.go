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
	devFinanceGroup   = "c0470500-0000-4000-8000-0000000000a3"
	devFabrikamGroup  = "fab01ca0-0000-4000-8000-0000000000a2"
	// DevSecretEnv is the variable the demo's targets name for their
	// client secret; DevSecret answers for it instead of the environment.
	DevSecretEnv = "PARTNER_ACCESS_DEV_DIRECTORY_SECRET"
	devSecret    = "dev-directory-secret"
	// DevSubscription, DevResourceGroup and DevHostPool are where the dev
	// directory's desktop sessions are (internal/devarm, on the same
	// loopback port): each dev tenant's customer names this pool.
	DevSubscription  = "de5c0000-0000-4000-8000-0000000000d1"
	DevResourceGroup = "rg-dev-avd"
	DevHostPool      = "sage200-pool"
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
	for _, c := range []EntraSite{
		{Customer: Contoso, Site: ContosoSite, Tenant: DevContosoTenant, Group: devContosoGroup, Domain: "contoso.onmicrosoft.com", Own: []string{"it-admin", "accounts"}},
		{Customer: Fabrikam, Site: FabrikamSite, Tenant: DevFabrikamTenant, Group: devFabrikamGroup, Domain: "fabrikam.onmicrosoft.com", Own: []string{"it-admin", "accounts"}},
	} {
		if err := StandIn(ctx, st, g, c, store.Target{ClientID: devApp, SecretEnv: DevSecretEnv,
			AVDSubscription: DevSubscription, AVDResourceGroup: DevResourceGroup, AVDHostPools: DevHostPool}, devSecret); err != nil {
			return err
		}
		accounts, err := st.DirectoryAccounts(ctx, c.Customer)
		if err != nil {
			return err
		}
		grants, err := st.GrantsOnSite(ctx, c.Site, now)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			if a.TenantID != c.Tenant {
				continue
			}
			g.RestoreUser(c.Tenant, a.ObjectID, a.Login, a.Login, a.Enabled)
			for _, gr := range grants {
				if gr.UserID == a.UserID {
					g.AddToGroup(c.Tenant, c.Group, a.ObjectID)
				}
			}
		}
	}
	return financeGroup(ctx, st, g, now)
}

// financeGroup gives Contoso's Finance site an access group of its own in
// Contoso's tenant (one group per site: a member of another site's group
// would be drift), with the memberships of its grants still in force.
func financeGroup(ctx context.Context, st *store.Store, g *devgraph.Directory, now time.Time) error {
	g.AddGroup(DevContosoTenant, devFinanceGroup, "Sage 200 Finance AVD users")
	if err := st.SetSiteAccessGroup(ctx, ContosoFinance, devFinanceGroup); err != nil {
		return err
	}
	accounts, err := st.DirectoryAccounts(ctx, Contoso)
	if err != nil {
		return err
	}
	grants, err := st.GrantsOnSite(ctx, ContosoFinance, now)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		for _, gr := range grants {
			if gr.UserID == a.UserID && a.TenantID == DevContosoTenant {
				g.AddToGroup(DevContosoTenant, devFinanceGroup, a.ObjectID)
			}
		}
	}
	return nil
}

// EntraSite is a customer's site whose access a stand-in tenant enforces:
// the tenant, the site's access group, the UPN domain of the partner
// accounts, and the customer's own users already in the group.
type EntraSite struct {
	Customer, Site, Tenant, Group, Domain string
	Own                                   []string // local parts of the customer's own members
}

// StandIn makes the customer enforce access at the site in a tenant of g:
// the tenant, whose app registration is app.ClientID with secret, the
// site's group with the customer's own members, and the customer's target
// (app names where the worker reads the secret) and the site's group in
// the store.
func StandIn(ctx context.Context, st *store.Store, g *devgraph.Directory, c EntraSite, app store.Target, secret string) error {
	g.AddTenant(c.Tenant, app.ClientID, secret)
	g.AddGroup(c.Tenant, c.Group, "Sage 200 AVD users")
	for _, own := range c.Own {
		g.AddToGroup(c.Tenant, c.Group, g.AddUser(c.Tenant, own+"@"+c.Domain, own))
	}
	app.Kind, app.TenantID, app.UserDomain = store.TargetEntra, c.Tenant, c.Domain
	if err := st.SetCustomerTarget(ctx, c.Customer, &app); err != nil {
		return err
	}
	return st.SetSiteAccessGroup(ctx, c.Site, c.Group)
}
