package directory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
)

// PolicyLimits are what the file's policies are checked against.
type PolicyLimits struct {
	// Ceiling is POLICY_MAX_DURATION.
	Ceiling time.Duration
	// Defaults are the settings' (ACCESS_DURATION, APPROVAL_TIMEOUT,
	// MAX_EXTENSIONS), what a customer's policy sets fields over.
	Defaults policy.Effective
}

// limits fills what l leaves out with the settings' defaults.
func (l PolicyLimits) limits() policy.Limits {
	if l.Ceiling == 0 {
		l.Ceiling = policy.DefaultCeiling
	}
	if l.Defaults.Approvals == 0 {
		l.Defaults = policy.Defaults(72*time.Hour, 168*time.Hour, 2, rules.ApproverRoles)
	}
	return policy.Limits{Ceiling: l.Ceiling, Inherited: l.Defaults, ApproverRoles: rules.ApproverRoles,
		PartnerRoles: rules.RolesOf(store.KindPartner)}
}

func partnerUserIDs(ctx context.Context, st Reader, partnerID string) ([]string, error) {
	us, err := st.PartnerUsers(ctx, partnerID)
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids, err
}

// policy checks the policy block of a customer or site (kind) and plans
// it; it returns the policy in force there, for its sites. A block left
// out keeps what the store holds.
func (c *checker) policy(pl *plan, entry string, w *policy.Written, stored string, l policy.Limits, kind, id, customerID, partnerID string) (policy.Effective, error) {
	was, err := policy.Decode(stored)
	if err != nil {
		return l.Inherited, fmt.Errorf("%s %s: %w", kind, id, err)
	}
	if w == nil {
		p, err := policy.Parse(was)
		return l.Inherited.With(p), err
	}
	p, ps := policy.Check(*w, l)
	for _, pr := range ps {
		c.bad(entry+".policy."+pr.Field, "%s", pr.Text)
	}
	if len(ps) == 0 {
		pl.policy(kind, id, *w, was, customerID, partnerID)
	}
	return l.Inherited.With(p), nil
}

// policy plans a customer's or site's policy.
func (pl *plan) policy(kind, id string, w, was policy.Written, customerID, partnerID string) {
	changed := policy.Changed(was, w)
	if len(changed) == 0 {
		pl.keep(kindPolicy)
		return
	}
	pl.add(func(ctx context.Context, a *applier) error {
		var err error
		siteID := ""
		if kind == kindSite {
			siteID = id
			err = a.st.SetSitePolicy(ctx, id, w.Encode())
		} else {
			err = a.st.SetCustomerPolicy(ctx, id, w.Encode())
		}
		if err != nil {
			return err
		}
		if was.IsZero() {
			a.report.Policies.Created++
		} else {
			a.report.Policies.Updated++
		}
		return a.audit(ctx, domain.ActionPolicyChanged, partnerID, customerID, siteID, fmt.Sprintf("%s %s: %s", kind, id, strings.Join(changed, ", ")))
	})
}
