package server

import (
	"context"
	"crypto/subtle"
	"net/mail"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// sitesFor is the site dashboard of a user (§1): a partner user sees the
// sites of its partner's customers, a customer user its own customer's.
func (s *Server) sitesFor(ctx context.Context, u store.User) ([]store.Site, error) {
	if u.Kind == store.KindPartner {
		return s.store.SitesForPartner(ctx, u.PartnerID)
	}
	return s.store.SitesForCustomer(ctx, u.CustomerID)
}

// siteDetail is one site with who could be assigned and its assignments.
type siteDetail struct {
	Site        store.Site
	Assignable  []store.User // partner users only: the caller's partner's users
	Assignments []store.Assignment
}

func (s *Server) siteDetail(ctx context.Context, u store.User, siteID string) (siteDetail, error) {
	site, err := s.rules.VisibleSite(ctx, u, siteID)
	if err != nil {
		return siteDetail{}, err
	}
	d := siteDetail{Site: site}
	if u.Kind == store.KindPartner {
		if d.Assignable, err = s.store.PartnerUsers(ctx, u.PartnerID); err != nil {
			return d, err
		}
	}
	f := store.AssignmentFilter{SiteID: site.ID, Limit: 50}
	if u.Kind == store.KindPartner {
		f.PartnerID = u.PartnerID
	}
	d.Assignments, err = s.store.Assignments(ctx, f)
	d.Assignments = nonNil(d.Assignments)
	return d, err
}

// createCustomerUser lets a customer's administrator add a customer user
// (R6: partners cannot). The new user is invited: it registers to log in.
// A customer the caller may not see answers like a missing one.
func (s *Server) createCustomerUser(ctx context.Context, by store.User, customerID, email, name string, roles []string) (store.User, error) {
	cust, err := s.visibleCustomer(ctx, by, customerID)
	if err == nil {
		err = rules.CanCreateCustomerUser(by, customerID)
	}
	if err != nil {
		s.refuse(ctx, by, "customer_user.refused", "", "", err)
		return store.User{}, err
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != strings.TrimSpace(email) {
		return store.User{}, problem.Invalid("email", "email must be an address like name@example.com")
	}
	if _, err := rules.Note("", "email", email); err != nil {
		return store.User{}, err
	}
	if strings.TrimSpace(name) == "" {
		return store.User{}, problem.Invalid("name", "name is required")
	}
	if name, err = rules.Note("", "name", name); err != nil {
		return store.User{}, err
	}
	for _, r := range roles {
		if r != store.RoleCustomerAdmin && r != store.RoleCustomerOps {
			return store.User{}, problem.Invalid("roles", "roles may be %q or %q", store.RoleCustomerAdmin, store.RoleCustomerOps)
		}
	}
	u := store.User{ID: "u-" + secret.NewToken()[:12], Email: addr.Address, Name: name, Kind: store.KindCustomer,
		CustomerID: cust.ID, Status: store.StatusInvited, Roles: roles}
	if err := s.store.CreateUser(ctx, u); store.IsConstraint(err) {
		return store.User{}, problem.Conflict("a user with the email %s already exists", u.Email)
	} else if err != nil {
		return store.User{}, err
	}
	s.must(s.store.Audit(context.WithoutCancel(ctx), store.AuditEntry{At: s.now(), ActorID: by.ID, Action: "customer_user.created",
		Outcome: store.OutcomeOK, CustomerID: cust.ID, PartnerID: cust.PartnerID, Detail: u.ID + " " + u.Email}))
	return u, nil
}

// isGateway reports whether the caller sent the gateway token.
func (s *Server) isGateway(c *gin.Context) bool {
	t := s.cfg.GatewayToken
	got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	return t != "" && ok && subtle.ConstantTimeCompare([]byte(got), []byte(t)) == 1
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
