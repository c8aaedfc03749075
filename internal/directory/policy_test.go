package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/directory"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

const withPolicy = `partners:
  - id: northwind
    name: Northwind Partners
    customers:
      - id: contoso
        name: Contoso
        policy:
          approvals: 2
          approver_roles: [Customer Administrator]
          access_duration: 8h
          max_duration: 24h
          max_lead: 0
          reason_pattern: '^(CS|INC)-[0-9]{4,}'
          reason_example: "CS-1234: month-end upgrade"
          auto_approve:
            - {roles: [Partner Consultant], max_duration: 4h}
        sites:
          - id: contoso-standard
            name: Contoso Sage 200 Standard
            edition: standard
            policy: {approvals: 1, max_lead: 48h}
`

func TestR10_ApplyStoresPoliciesAndAuditsChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r, err := apply(t, st, withPolicy, directory.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Policies.Created != 2 {
			t.Fatalf("policies = %+v, want 2 set", r.Policies)
		}
		c, _ := st.CustomerByID(ctx, "contoso")
		site, _ := st.SiteByID(ctx, "contoso-standard")
		if !strings.Contains(c.Policy, `"approvals":2`) || site.Policy != `{"approvals":1,"max_lead":"48h"}` {
			t.Fatalf("stored: customer %s, site %s", c.Policy, site.Policy)
		}
		// Again: nothing changes. Without the blocks: the stored ones stay.
		if r, err = apply(t, st, withPolicy, directory.Options{}); err != nil || r.Policies.Unchanged != 2 {
			t.Fatalf("again: %+v, %v", r.Policies, err)
		}
		changed := strings.Replace(withPolicy, "approvals: 2", "approvals: 3", 1)
		if r, err = apply(t, st, changed, directory.Options{}); err != nil || r.Policies.Updated != 1 {
			t.Fatalf("changed: %+v, %v", r.Policies, err)
		}
		entries, err := st.AuditLog(ctx, store.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, e := range entries {
			if e.Action == domain.ActionPolicyChanged {
				details = append(details, e.Detail)
			}
		}
		if len(details) != 3 || !strings.Contains(strings.Join(details, "|"), "customer contoso: approvals") {
			t.Fatalf("policy.changed entries: %q", details)
		}
	})
}

func TestR10_ApplyListsEveryPolicyProblemAtOnce(t *testing.T) {
	bad := `partners:
  - id: northwind
    name: Northwind Partners
    customers:
      - id: contoso
        name: Contoso
        policy:
          approvals: 0
          approver_roles: [Partner Consultant]
          access_duration: soon
          max_duration: 1000h
          max_extensions: -1
          approval_timeout: 0s
          max_lead: -1h
          reason_pattern: '^(CS'
          auto_approve:
            - {users: [nobody], roles: [Customer Administrator], max_duration: 2h}
          colour: blue
        sites:
          - id: contoso-standard
            name: Contoso Sage 200 Standard
            edition: standard
            policy: {reason_pattern: '^CS-', reason_example: 'month-end'}
`
	eachStore(t, func(t *testing.T, st *store.Store) {
		// An unknown field is a problem of the file's shape, found first.
		_, err := directory.Parse([]byte(bad))
		var ps directory.Problems
		if !errors.As(err, &ps) || len(ps) != 1 || !strings.Contains(ps[0].Path, "policy.colour") {
			t.Fatalf("parse: %v", err)
		}
		_, err = apply(t, st, strings.Replace(bad, "          colour: blue\n", "", 1), directory.Options{})
		if !errors.As(err, &ps) {
			t.Fatalf("apply: %v", err)
		}
		got := map[string]bool{}
		for _, p := range ps {
			if p.Line == 0 {
				t.Errorf("%s has no line", p)
			}
			got[strings.TrimPrefix(p.Path, "partners[0].customers[0].")] = true
		}
		for _, want := range []string{"policy.approvals", "policy.approver_roles[0]", "policy.access_duration", "policy.max_duration",
			"policy.max_extensions", "policy.approval_timeout", "policy.max_lead", "policy.reason_pattern",
			"policy.auto_approve[0].users[0]", "policy.auto_approve[0].roles[0]", "sites[0].policy.reason_example"} {
			if !got[want] {
				t.Errorf("no problem at %s; got %v", want, ps)
			}
		}
		if c, err := st.CustomerByID(context.Background(), "contoso"); err == nil {
			t.Fatalf("a refused file wrote %+v", c)
		}
	})
}
