package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/workflows"
)

func TestR10_CustomerAdministratorSetsThePolicy(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	admin := e.Login("admin@contoso.example")
	path := "/api/v1/customers/" + demo.Contoso + "/policy"

	code, body := admin.Do("GET", path, nil)
	var got struct {
		Policy  map[string]any            `json:"policy"`
		Sites   map[string]map[string]any `json:"sites"`
		InForce map[string]struct {
			Approvals   int    `json:"approvals"`
			MaxDuration string `json:"max_duration"`
			Summary     string `json:"summary"`
		} `json:"in_force"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Sites[demo.ContosoFinance]["approvals"] != 2.0 ||
		got.InForce[demo.ContosoSite].Approvals != 1 {
		t.Fatalf("GET: %d %s", code, body)
	}

	code, body = admin.Do("PUT", path, `{"policy":{"max_duration":"96h","reason_pattern":"^CS-"},"sites":{"`+demo.ContosoFinance+`":{"approvals":2}}}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"field":"policy.reason_example"`) {
		t.Fatalf("a pattern without its example: %d %s", code, body)
	}
	code, body = admin.Do("PUT", path, `{"policy":{"approvals":0,"max_duration":"2000h","auto_approve":[{"roles":["Customer Administrator"]}]},"sites":{"nowhere":{}}}`)
	var p struct {
		Rule   string                   `json:"rule"`
		Errors []struct{ Field string } `json:"errors"`
	}
	json.Unmarshal(body, &p)
	if code != http.StatusUnprocessableEntity || p.Rule != "R10" || len(p.Errors) != 4 {
		t.Fatalf("every problem at once: %d %s", code, body)
	}

	code, body = admin.Do("PUT", path, `{"policy":{"max_duration":"96h"},"sites":{"`+demo.ContosoFinance+`":{"approvals":2,"reason_pattern":"^CS-","reason_example":"CS-1: x"}}}`)
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || got.InForce[demo.ContosoSite].MaxDuration != "96h" {
		t.Fatalf("PUT: %d %s", code, body)
	}
	entries, err := e.Store.AuditLog(t.Context(), store.AuditFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var detail string
	for _, a := range entries {
		if a.Action == domain.ActionPolicyChanged {
			detail = a.Detail
		}
	}
	if detail != "max_duration; site contoso-finance: reason_pattern, reason_example" {
		t.Fatalf("policy.changed detail = %q", detail)
	}

	// A partner is refused under R6, another customer's administrator
	// sees no such customer, a customer user who is not an administrator
	// is refused.
	for _, c := range []struct {
		who    string
		status int
	}{{"agent@partner.example", http.StatusForbidden}, {"admin@fabrikam.example", http.StatusNotFound}, {"ops@contoso.example", http.StatusForbidden}} {
		s := e.Login(c.who)
		for _, m := range []string{"GET", "PUT"} {
			var b any
			if m == "PUT" {
				b = `{"policy":{}}`
			}
			if code, body := s.Do(m, path, b); code != c.status {
				t.Errorf("%s %s as %s: %d %s, want %d", m, path, c.who, code, body, c.status)
			}
		}
	}
}

// seedTiming has the seed's 72 hours, so the policies' durations read as
// in the demo.
func seedTiming() workflows.Timing {
	tm := testenv.FastTiming
	tm.AccessDuration = 72 * time.Hour
	return tm
}

func TestR10_RequestsBreakingThePolicyAreRefused(t *testing.T) {
	e := testenv.New(t, testenv.Options{Timing: seedTiming()})
	agent := e.Login("agent@partner.example")
	tooFar := time.Now().Add(400 * time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		what, site, body, field, allowed string
	}{
		{"a reason without a ticket", demo.ContosoFinance, `{"user_id":"northwind-solo","reason":"month-end"}`, "reason", `"reason_example":"CS-1234: month-end upgrade"`},
		{"a duration over max_duration", demo.ContosoSite, `{"user_id":"northwind-solo","reason":"x","duration":"73h"}`, "duration", `"max_duration":"72h"`},
		{"a duration that is none", demo.ContosoSite, `{"user_id":"northwind-solo","reason":"x","duration":"long"}`, "duration", `"max_duration":"72h"`},
		{"a start in the past", demo.ContosoSite, `{"user_id":"northwind-solo","reason":"x","starts_at":"2020-01-01T00:00:00Z"}`, "starts_at", `"latest_start":`},
		{"a start beyond max_lead", demo.ContosoSite, `{"user_id":"northwind-solo","reason":"x","starts_at":"` + tooFar + `"}`, "starts_at", `"max_lead":"336h"`},
		{"a start that is no time", demo.ContosoSite, `{"user_id":"northwind-solo","reason":"x","starts_at":"tomorrow"}`, "starts_at", `"latest_start":`},
		{"a duration for Professional access", demo.FabrikamSite, `{"user_id":"northwind-solo","reason":"x","duration":"1h"}`, "duration", ``},
	} {
		code, body := agent.Do("POST", "/api/v1/sites/"+c.site+"/assignments", c.body)
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"rule":"R10"`) ||
			!strings.Contains(string(body), `"field":"`+c.field+`"`) || !strings.Contains(string(body), c.allowed) {
			t.Errorf("%s: %d %s", c.what, code, body)
		}
	}
	// Within the policy: a request with its ticket and duration starts.
	code, body := agent.Do("POST", "/api/v1/sites/"+demo.ContosoFinance+"/assignments", `{"user_id":"northwind-solo","reason":"CS-1234: month-end","duration":"2h"}`)
	if code != http.StatusCreated {
		t.Fatalf("within the policy: %d %s", code, body)
	}
}

func TestR10_APartnerSeesThePolicyInForce(t *testing.T) {
	e := testenv.New(t, testenv.Options{Timing: seedTiming()})
	agent := e.Login("agent@partner.example")
	code, body := agent.Do("GET", "/api/v1/sites/"+demo.ContosoFinance, nil)
	var site struct {
		Policy struct {
			Approvals     int      `json:"approvals"`
			ApproverRoles []string `json:"approver_roles"`
			MaxDuration   string   `json:"max_duration"`
			ReasonExample string   `json:"reason_example"`
			Summary       string   `json:"summary"`
		} `json:"policy"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &site) != nil {
		t.Fatalf("GET site: %d %s", code, body)
	}
	p := site.Policy
	if p.Approvals != 2 || len(p.ApproverRoles) != 2 || p.MaxDuration != "72h" || p.ReasonExample != "CS-1234: month-end upgrade" ||
		!strings.HasPrefix(p.Summary, "Contoso asks for 2 approvals, at most 72 h, and a reason like “CS-1234: month-end upgrade”") {
		t.Fatalf("policy in force: %+v", p)
	}
	// The assign form says it before anyone submits.
	if _, page := agent.Page("/sites/" + demo.ContosoFinance); !strings.Contains(page, "Contoso asks for 2 approvals, at most 72 h") {
		t.Fatalf("the assign form does not state the policy:\n%s", page)
	}
}

// The Policy page: a customer administrator reads the policy in force at
// each site, saves a change through the form (audited as through the
// API), and sees a refused one with every field at fault; a partner user
// does not reach it.
func TestR10_PolicyPage(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	admin := e.Login("admin@contoso.example")
	path := "/customers/" + demo.Contoso + "/policy"
	code, page := admin.Page(path)
	if code != http.StatusOK || !strings.Contains(page, `id="policy-in-force"`) || !strings.Contains(page, "Contoso Sage 200 Finance") {
		t.Fatalf("GET %s: %d\n%s", path, code, page)
	}
	code, body, to := admin.Form(path, map[string]string{"policy": `{"policy":{"max_duration":"96h"},"sites":{"` + demo.ContosoFinance + `":{"approvals":2}}}`})
	if code != http.StatusSeeOther || to != path+"?notice=saved" {
		t.Fatalf("save: %d to %q\n%s", code, to, body)
	}
	if _, page := admin.Page(to); !strings.Contains(page, "96h") {
		t.Fatalf("the saved policy is not shown:\n%s", page)
	}
	c, err := e.Store.CustomerByID(t.Context(), demo.Contoso)
	if err != nil || !strings.Contains(c.Policy, `"max_duration":"96h"`) {
		t.Fatalf("stored policy %q (%v)", c.Policy, err)
	}
	log, _ := e.Store.AuditLog(t.Context(), store.AuditFilter{CustomerID: demo.Contoso})
	if !slices.ContainsFunc(log, func(r store.AuditEntry) bool { return r.Action == domain.ActionPolicyChanged }) {
		t.Fatal("the change through the page is not audited")
	}
	code, body, _ = admin.Form(path, map[string]string{"policy": `{"policy":{"approvals":0}}`})
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), `id="policy-error"`) || !strings.Contains(string(body), "approvals") {
		t.Fatalf("a refused change: %d\n%s", code, body)
	}
	if code, _ := e.Login("agent@partner.example").Page(path); code == http.StatusOK {
		t.Fatal("a partner user reached the customer's policy page")
	}
}
