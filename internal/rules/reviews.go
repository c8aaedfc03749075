package rules

import (
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// CanReview refuses anyone but an active administrator of the organization
// (kind, orgID) starting, reading or deciding its access reviews (SPEC §15).
func CanReview(actor store.User, kind, orgID string) error {
	switch {
	case actor.Kind != kind || (kind == store.KindPartner && actor.PartnerID != orgID) ||
		(kind == store.KindCustomer && actor.CustomerID != orgID):
		return problem.Forbidden("", "you can review only your own organization")
	case actor.Status != store.StatusActive:
		return problem.Forbidden("", "a suspended user cannot review")
	case kind == store.KindPartner && !actor.HasRole(store.RolePartnerAdmin):
		return problem.Forbidden("", "only a Partner Administrator can review the partner's access")
	case kind == store.KindCustomer && !actor.HasRole(store.RoleCustomerAdmin):
		return problem.Forbidden("", "only a Customer Administrator can review the customer's access")
	}
	return nil
}
