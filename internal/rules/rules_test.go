package rules_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
)

func setup(t *testing.T) (*rules.Checker, *store.Store) {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := demo.Load(context.Background(), s, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	return &rules.Checker{Store: s, Defaults: policy.Defaults(72*time.Hour, 168*time.Hour, 2, rules.ApproverRoles), Now: time.Now}, s
}

func user(t *testing.T, s *store.Store, id string) store.User {
	t.Helper()
	u, err := s.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// allowed marks a case the check lets through: no check answers with an
// internal failure, the zero kind.
const allowed = problem.KindInternal

func TestCheckAssignRules(t *testing.T) {
	c, s := setup(t)
	cases := []struct {
		name  string
		actor string
		req   rules.AssignRequest
		kind  problem.Kind
		rule  string
		field string
		role  string // the role assigned when allowed
	}{
		{"allowed with an explicit role", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.Agent, store.RolePartnerConsultant, "case 1", "", ""}, allowed, "", "", store.RolePartnerConsultant},
		{"R3 single role is implied", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.Solo, "", "case 1", "", ""}, allowed, "", "", store.RolePartnerSupportAgent},
		{"R3 several roles need a choice", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.Agent, "", "case 1", "", ""}, problem.KindUnprocessable, "R3", "role", ""},
		{"R3 role not held", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.Solo, store.RolePartnerConsultant, "case 1", "", ""}, problem.KindUnprocessable, "R3", "role", ""},
		{"R1 customer has not given permission", demo.Agent, rules.AssignRequest{demo.LitwareSite, demo.Solo, "", "case 1", "", ""}, problem.KindForbidden, "R1", "", ""},
		{"R2 invited user", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.Invited, "", "case 1", "", ""}, problem.KindUnprocessable, "R2", "user_id", ""},
		{"R2 suspended user", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.Suspended, "", "case 1", "", ""}, problem.KindUnprocessable, "R2", "user_id", ""},
		{"R6 customer user cannot be assigned", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.ContosoAdmin, "", "case 1", "", ""}, problem.KindUnprocessable, "R6", "user_id", ""},
		{"R6 customer user cannot assign", demo.ContosoAdmin, rules.AssignRequest{demo.ContosoSite, demo.Solo, "", "case 1", "", ""}, problem.KindForbidden, "R6", "", ""},
		{"another partner's user is not found", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.TailspinAgent, "", "case 1", "", ""}, problem.KindNotFound, "", "user_id", ""},
		{"another partner's site is not found", demo.Agent, rules.AssignRequest{demo.AdatumSite, demo.Solo, "", "case 1", "", ""}, problem.KindNotFound, "", "site", ""},
		{"unknown site", demo.Agent, rules.AssignRequest{"nope", demo.Solo, "", "case 1", "", ""}, problem.KindNotFound, "", "site", ""},
		{"unknown user", demo.Agent, rules.AssignRequest{demo.ContosoSite, "nope", "", "case 1", "", ""}, problem.KindNotFound, "", "user_id", ""},
		{"R9 reason required", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.Solo, "", "  ", "", ""}, problem.KindUnprocessable, "R9", "reason", ""},
		{"R9 reason on one line", demo.Agent, rules.AssignRequest{demo.ContosoSite, demo.Solo, "", "a\nb", "", ""}, problem.KindUnprocessable, "R9", "reason", ""},
		{"R2 suspended actor", demo.Suspended, rules.AssignRequest{demo.ContosoSite, demo.Solo, "", "case", "", ""}, problem.KindForbidden, "R2", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := c.CheckAssign(context.Background(), user(t, s, tc.actor), tc.req)
			if tc.kind == allowed {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if plan.Role != tc.role || plan.Open != nil {
					t.Fatalf("plan role %q open %v, want role %q and nothing open", plan.Role, plan.Open, tc.role)
				}
				return
			}
			p := problem.As(err)
			if p == nil {
				t.Fatalf("got %v, want a problem of kind %d", err, tc.kind)
			}
			if p.Kind != tc.kind || p.Rule != tc.rule || p.Field != tc.field {
				t.Fatalf("got kind %d %s field %q (%s), want kind %d %s field %q", p.Kind, p.Rule, p.Field, p.Detail, tc.kind, tc.rule, tc.field)
			}
		})
	}
}

func TestCheckAssignPlansApproversAndCustomerUsers(t *testing.T) {
	c, s := setup(t)
	plan, err := c.CheckAssign(context.Background(), user(t, s, demo.Agent),
		rules.AssignRequest{SiteID: demo.ContosoSite, UserID: demo.Solo, Reason: "case 7"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Approvers) != 2 {
		t.Fatalf("approvers %v: want admin and ops (not the viewer)", plan.Approvers)
	}
	if len(plan.CustomerUsers) != 3 {
		t.Fatalf("customer users %d, want 3", len(plan.CustomerUsers))
	}
}

func TestR8OpenAssignmentIsReturned(t *testing.T) {
	c, s := setup(t)
	ctx := context.Background()
	if err := s.CreateAssignment(ctx, store.Assignment{ID: "a1", WorkflowID: "w", SiteID: demo.ContosoSite, PartnerUserID: demo.Solo,
		Role: store.RolePartnerSupportAgent, Reason: "case", Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	plan, err := c.CheckAssign(ctx, user(t, s, demo.Agent), rules.AssignRequest{SiteID: demo.ContosoSite, UserID: demo.Solo, Reason: "again"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Open == nil || plan.Open.ID != "a1" {
		t.Fatalf("open = %v, want a1", plan.Open)
	}
}

func TestDecideUnassignAndPermissionRules(t *testing.T) {
	_, s := setup(t)
	pending := store.Assignment{ID: "a1", CustomerID: demo.Contoso, PartnerID: demo.Northwind, State: domain.StatePendingApproval}
	active := pending
	active.State = domain.StateActive
	ended := pending
	ended.State = domain.StateExpired
	cases := []struct {
		name  string
		check func() error
		kind  problem.Kind
		rule  string
	}{
		{"R4 admin decides", func() error { return rules.CanDecide(user(t, s, demo.ContosoAdmin), pending) }, allowed, ""},
		{"R4 ops agent decides", func() error { return rules.CanDecide(user(t, s, demo.ContosoOps), pending) }, allowed, ""},
		{"R4 user without approver role", func() error { return rules.CanDecide(user(t, s, demo.ContosoViewer), pending) }, problem.KindForbidden, "R4"},
		{"R6 partner cannot approve its own request", func() error { return rules.CanDecide(user(t, s, demo.Agent), pending) }, problem.KindForbidden, "R6"},
		{"another customer cannot decide", func() error { return rules.CanDecide(user(t, s, demo.FabrikamAdmin), pending) }, problem.KindNotFound, ""},
		{"decided request", func() error { return rules.CanDecide(user(t, s, demo.ContosoAdmin), active) }, problem.KindConflict, "R4"},
		{"R7 partner user unassigns", func() error { return rules.CanUnassign(user(t, s, demo.Solo), active) }, allowed, ""},
		{"R7 customer user unassigns", func() error { return rules.CanUnassign(user(t, s, demo.ContosoViewer), active) }, allowed, ""},
		{"R7 other partner cannot", func() error { return rules.CanUnassign(user(t, s, demo.TailspinAgent), active) }, problem.KindNotFound, ""},
		{"R7 ended assignment", func() error { return rules.CanUnassign(user(t, s, demo.Solo), ended) }, problem.KindConflict, ""},
		{"R1 admin sets permission", func() error { return rules.CanSetPermission(user(t, s, demo.ContosoAdmin), demo.Contoso) }, allowed, ""},
		{"R1 ops agent cannot set permission", func() error { return rules.CanSetPermission(user(t, s, demo.ContosoOps), demo.Contoso) }, problem.KindForbidden, "R1"},
		{"R6 partner cannot grant itself permission", func() error { return rules.CanSetPermission(user(t, s, demo.Agent), demo.Litware) }, problem.KindForbidden, "R6"},
		{"R6 partner cannot create customer users", func() error { return rules.CanManageUsers(user(t, s, demo.Agent), store.KindCustomer, demo.Contoso) }, problem.KindForbidden, "R6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check()
			if tc.kind == allowed {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			p := problem.As(err)
			if p == nil || p.Kind != tc.kind || p.Rule != tc.rule {
				t.Fatalf("got %v, want kind %d %s", err, tc.kind, tc.rule)
			}
		})
	}
}
