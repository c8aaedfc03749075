package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
)

// policyDefaults is the seed's behaviour, from the settings: what a site
// is under when neither it nor its customer set a policy (R10).
func (s *Service) policyDefaults() policy.Effective {
	t := s.cfg.Timing
	return policy.Defaults(t.AccessDuration, t.ApprovalTimeout, t.MaxExtensions, rules.ApproverRoles)
}

// CustomerPolicy is a customer's policy as written, and each of its sites'
// own (SPEC §17: GET/PUT /api/v1/customers/{customer}/policy).
type CustomerPolicy struct {
	Customer store.Customer
	Policy   policy.Written
	Sites    []SitePolicy // every site of the customer, by name
}

// SitePolicy is one site's own policy and the policy in force there, also
// in words.
type SitePolicy struct {
	Site    store.Site
	Policy  policy.Written
	InForce policy.Effective
	Words   string
}

// Policy is a customer's policy, for its administrators.
func (s *Service) Policy(ctx context.Context, actor store.User, customerID string) (CustomerPolicy, error) {
	c, err := s.policyCustomer(ctx, actor, customerID)
	if err != nil {
		return CustomerPolicy{}, err
	}
	return s.customerPolicy(ctx, c)
}

// policyCustomer lets only an active Customer Administrator of the
// customer read or change its policy (R10, R6).
func (s *Service) policyCustomer(ctx context.Context, actor store.User, customerID string) (store.Customer, error) {
	c, err := s.visibleCustomer(ctx, actor, customerID)
	if err == nil {
		err = rules.CanSetPolicy(actor, customerID)
	}
	if err != nil {
		return c, s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionPolicyRefused}, err)
	}
	return c, nil
}

func (s *Service) customerPolicy(ctx context.Context, c store.Customer) (CustomerPolicy, error) {
	cp := CustomerPolicy{Customer: c}
	var err error
	if cp.Policy, err = policy.Decode(c.Policy); err != nil {
		return cp, err
	}
	sites, err := s.store.SitesForCustomer(ctx, c.ID)
	if err != nil {
		return cp, err
	}
	for _, site := range sites {
		sp := SitePolicy{Site: site}
		if sp.Policy, err = policy.Decode(site.Policy); err != nil {
			return cp, err
		}
		if sp.InForce, err = s.sitePolicy(site); err != nil {
			return cp, err
		}
		sp.Words = policyWords(site, sp.InForce)
		cp.Sites = append(cp.Sites, sp)
	}
	return cp, nil
}

// SetPolicy replaces a customer's policy and its sites' own (a site left
// out gets none). Every field is checked as directory apply checks the
// file, and every problem is answered at once; a change is audited
// policy.changed with the fields changed. It applies to later requests:
// a run under way keeps the policy it started with.
func (s *Service) SetPolicy(ctx context.Context, actor store.User, customerID string, w policy.Written, sites map[string]policy.Written) (CustomerPolicy, error) {
	c, err := s.policyCustomer(ctx, actor, customerID)
	if err != nil {
		return CustomerPolicy{}, err
	}
	was, err := s.customerPolicy(ctx, c)
	if err != nil {
		return was, err
	}
	limits, err := s.policyLimits(ctx, c.PartnerID)
	if err != nil {
		return was, err
	}
	p, ps := policy.Check(w, limits)
	var all []problem.FieldProblem
	for _, pr := range ps {
		all = append(all, problem.FieldProblem{Field: "policy." + pr.Field, Detail: pr.Text})
	}
	siteLimits := limits
	siteLimits.Inherited = limits.Inherited.With(p)
	encoded := map[string]string{}
	for _, id := range sortedKeys(sites) {
		if !slices.ContainsFunc(was.Sites, func(sp SitePolicy) bool { return sp.Site.ID == id }) {
			all = append(all, problem.FieldProblem{Field: "sites." + id, Detail: fmt.Sprintf("%s has no site %q", c.Name, id)})
			continue
		}
		_, ps := policy.Check(sites[id], siteLimits)
		for _, pr := range ps {
			all = append(all, problem.FieldProblem{Field: "sites." + id + "." + pr.Field, Detail: pr.Text})
		}
		if e := sites[id].Encode(); e != "" {
			encoded[id] = e
		}
	}
	if len(all) > 0 {
		return was, s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionPolicyRefused, Tenant: &tenant{CustomerID: c.ID, PartnerID: c.PartnerID}},
			policyProblems(all))
	}
	if err := s.store.SetPolicies(ctx, c.ID, w.Encode(), encoded); err != nil {
		return was, err
	}
	if changed := policyChanges(was, w, sites); changed != "" {
		s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), store.AuditEntry{At: s.now(), ActorID: actor.ID, Action: domain.ActionPolicyChanged,
			Outcome: store.OutcomeOK, CustomerID: c.ID, PartnerID: c.PartnerID, Detail: changed}))
	}
	if c, err = s.store.CustomerByID(ctx, c.ID); err != nil {
		return was, err
	}
	return s.customerPolicy(ctx, c)
}

// policyLimits are what a policy of a customer of partnerID is checked
// against: POLICY_MAX_DURATION, the settings, the roles, and the partner's
// users an auto_approve rule may name.
func (s *Service) policyLimits(ctx context.Context, partnerID string) (policy.Limits, error) {
	us, err := s.store.PartnerUsers(ctx, partnerID)
	if err != nil {
		return policy.Limits{}, err
	}
	l := policy.Limits{Ceiling: s.cfg.PolicyCeiling, Inherited: s.policyDefaults(), ApproverRoles: rules.ApproverRoles,
		PartnerRoles: rules.RolesOf(store.KindPartner)}
	for _, u := range us {
		l.PartnerUsers = append(l.PartnerUsers, u.ID)
	}
	return l, nil
}

// policyProblems is every problem of a policy, at once (422).
func policyProblems(all []problem.FieldProblem) error {
	lines := make([]string, len(all))
	for i, f := range all {
		lines[i] = f.Field + ": " + f.Detail
	}
	what := "problems"
	if len(all) == 1 {
		what = "problem"
	}
	p := problem.Unprocessable("R10", all[0].Field, "the policy has %d %s, nothing changed: %s", len(all), what, strings.Join(lines, "; "))
	p.Fields = all
	return p
}

// policyChanges says which fields changed, e.g. "approvals,
// reason_pattern; site contoso-finance: max_duration" ("" when none).
func policyChanges(was CustomerPolicy, w policy.Written, sites map[string]policy.Written) string {
	var parts []string
	if ch := policy.Changed(was.Policy, w); len(ch) > 0 {
		parts = append(parts, strings.Join(ch, ", "))
	}
	for _, sp := range was.Sites {
		if ch := policy.Changed(sp.Policy, sites[sp.Site.ID]); len(ch) > 0 {
			parts = append(parts, "site "+sp.Site.ID+": "+strings.Join(ch, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// policyWords says what the policy in force at site asks of a request.
func policyWords(site store.Site, e policy.Effective) string {
	return e.Words(site.CustomerName, site.Edition == domain.EditionStandard || e.ProfessionalApproval)
}

// sitePolicy is the policy in force at a site; a stored policy that
// cannot be read is our fault, not the reader's.
func (s *Service) sitePolicy(site store.Site) (policy.Effective, error) {
	e, err := rules.InForce(s.policyDefaults(), site)
	if err != nil {
		return e, errors.Join(fmt.Errorf("site %s", site.ID), err)
	}
	return e, nil
}
