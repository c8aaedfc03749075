package server

import (
	"context"
	"crypto/subtle"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

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
