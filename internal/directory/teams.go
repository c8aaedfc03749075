package directory

import (
	"context"
	"errors"
	"strings"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Teams opts a customer in to approvals in Microsoft Teams (SPEC §14):
// the Entra tenant where the service's bot is installed for its approvers.
// With an entra: block it is that block's tenant.
type Teams struct {
	TenantID string `yaml:"tenant_id"`
}

var teamsShape = &shape{what: "a teams block", fields: []string{"tenant_id"}}

// teams checks a customer's teams block: a tenant ID, the same as its
// entra: block's when there is one, and one customer's only.
func (c *checker) teams(path string, cu Customer) {
	if cu.Teams == nil {
		return
	}
	t := strings.ToLower(strings.TrimSpace(cu.Teams.TenantID))
	switch {
	case t == "":
		c.bad(path+".tenant_id", "is required: the ID (a GUID) of the customer's Microsoft 365 tenant")
	case !guid.MatchString(t):
		c.bad(path+".tenant_id", "%q is not an Entra tenant ID: a GUID like 6f1c0000-0000-0000-0000-000000000001", cu.Teams.TenantID)
	case cu.Entra != nil && !strings.EqualFold(strings.TrimSpace(cu.Entra.TenantID), t):
		c.bad(path+".tenant_id", "%s is not the tenant of the customer's entra: block (%s); approvals in Teams are in the tenant access is made in", t, cu.Entra.TenantID)
	default:
		c.once(path+".tenant_id", "teams:"+t, "Teams tenant")
	}
}

// teamsTenant plans a customer's Teams tenant: set, changed, or removed
// when the block is gone. A tenant another customer holds is refused.
func (c *checker) teamsTenant(ctx context.Context, st Reader, pl *plan, path string, cu Customer, partnerID string, exists bool) error {
	want := ""
	if cu.Teams != nil {
		want = strings.ToLower(strings.TrimSpace(cu.Teams.TenantID))
	}
	old := ""
	if exists {
		w, err := st.ChatWorkspace(ctx, cu.ID, chat.ViaTeams)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		old = w.WorkspaceID
	}
	if want != "" {
		w, err := st.CustomerOfWorkspace(ctx, chat.ViaTeams, want)
		switch {
		case err == nil && w.CustomerID != cu.ID:
			c.bad(path+".tenant_id", "tenant %s is customer %q's in Teams; a tenant is one customer's", want, w.CustomerID)
			return nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if want == old {
		return nil
	}
	pl.add(func(ctx context.Context, a *applier) error {
		if err := a.st.SetChatWorkspace(ctx, cu.ID, chat.ViaTeams, want); err != nil {
			return err
		}
		detail := "approvals in Teams, tenant " + want
		if want == "" {
			detail = "approvals in Teams off (was tenant " + old + ")"
		}
		if old == "" {
			a.report.Teams.Created++
		} else {
			a.report.Teams.Updated++
		}
		return a.audit(ctx, domain.ActionCustomerTeamsSet, partnerID, cu.ID, "", detail)
	})
	return nil
}
