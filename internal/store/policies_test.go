package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/store"
)

func TestPoliciesAreStoredPerCustomerAndSite(t *testing.T) {
	eachDialect(t, func(t *testing.T, db database) {
		ctx := context.Background()
		s := openDemo(t, db)
		if err := s.SetPolicies(ctx, demo.Contoso, `{"approvals":2}`, map[string]string{demo.ContosoSite: `{"max_duration":"24h"}`}); err != nil {
			t.Fatal(err)
		}
		c, err := s.CustomerByID(ctx, demo.Contoso)
		if err != nil || c.Policy != `{"approvals":2}` {
			t.Fatalf("customer policy = %q, %v", c.Policy, err)
		}
		site, err := s.SiteByID(ctx, demo.ContosoSite)
		if err != nil || site.Policy != `{"max_duration":"24h"}` || site.CustomerPolicy != c.Policy {
			t.Fatalf("site policies = %q over %q, %v", site.Policy, site.CustomerPolicy, err)
		}
		f, err := s.AssignFacts(ctx, demo.ContosoSite, "")
		if err != nil || f.Site.Policy != site.Policy || f.Site.CustomerPolicy != c.Policy {
			t.Fatalf("assign facts' policies = %+v, %v", f.Site, err)
		}
		// Another customer's site is refused, and nothing is written.
		err = s.SetPolicies(ctx, demo.Contoso, "", map[string]string{demo.FabrikamSite: `{"approvals":3}`})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another customer's site: %v", err)
		}
		if c, _ := s.CustomerByID(ctx, demo.Contoso); c.Policy != `{"approvals":2}` {
			t.Fatalf("a refused change wrote %q", c.Policy)
		}
		if err := s.SetSitePolicy(ctx, demo.ContosoSite, ""); err != nil {
			t.Fatal(err)
		}
		if site, _ := s.SiteByID(ctx, demo.ContosoSite); site.Policy != "" {
			t.Fatalf("cleared site policy = %q", site.Policy)
		}
	})
}
