package server_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/docs"
	"github.com/partneraccess/partneraccess/internal/apicheck"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// Every refusal the API gives (a problem document with status 400 or more)
// names its rule, with the type that links to the rule, or has the type
// about:blank and a status the rules document explains (docs.Unruled).
// Every operation of the OpenAPI document is refused in each way a caller
// can get it wrong, and the rules are broken one by one.
func TestEveryRefusalNamesItsRuleOrADocumentedType(t *testing.T) {
	tm := extensionTiming
	tm.AccessDuration, tm.MaxExtensions = time.Hour, 1
	e := testenv.New(t, testenv.Options{Timing: tm})
	agent := e.Login("agent@partner.example")
	partnerAdmin := e.Login("admin@partner.example")
	customerAdmin := e.Login("admin@contoso.example")
	anon := e.Anonymous()
	bogus := e.Anonymous()
	bogus.Token = strings.Repeat("B", 43)

	// A Standard access, approved, with its one request for more time
	// decided; a Professional one; a first request still pending.
	code, std, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 1")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(std.ID, domain.StatePendingApproval, 10*time.Second)
	if code, body := customerAdmin.Do("POST", "/api/v1/assignments/"+std.ID+"/decision", map[string]string{"decision": "approve"}); code >= 300 {
		t.Fatalf("approve: %d %s", code, body)
	}
	e.WaitState(std.ID, domain.StateActive, 10*time.Second)
	if code, body := askMore(agent, std.ID, "1m", "overran"); code != http.StatusAccepted {
		t.Fatalf("ask for more: %d %s", code, body)
	}
	if code, body := customerAdmin.Do("POST", "/api/v1/assignments/"+std.ID+"/decision", map[string]any{"decision": "deny", "extension": 1}); code >= 300 {
		t.Fatalf("deny more time: %d %s", code, body)
	}
	code, pro, body := agent.Assign(demo.FabrikamSite, demo.Agent, "Partner Consultant", "Case 2")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	code, pending, body := agent.Assign(demo.ContosoSite, demo.Agent, "Partner Consultant", "Case 3")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(pending.ID, domain.StatePendingApproval, 10*time.Second)

	type refusal struct {
		what   string
		status int
		body   []byte
	}
	var got []refusal
	send := func(what string, s *testenv.Session, method, path, ctype, raw string) {
		t.Helper()
		var req *http.Request
		if raw == "" {
			req, _ = http.NewRequest(method, e.HTTP.URL+path, nil)
		} else {
			req, _ = http.NewRequest(method, e.HTTP.URL+path, strings.NewReader(raw))
			req.Header.Set("Content-Type", ctype)
		}
		status, body := s.Send(req)
		got = append(got, refusal{fmt.Sprintf("%s: %s %s", what, method, path), status, body})
	}

	// Each operation, wrongly called.
	ops, err := docs.Operations()
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	methods := map[string][]string{}
	for _, op := range ops {
		methods[op.Path] = append(methods[op.Path], op.Method)
		path := "/api/v1" + strings.TrimPrefix(param.ReplaceAllString(op.Path, "no-such-thing"), "/api/v1")
		if !op.Anonymous {
			send("no login", anon, op.Method, path, "", "")
			send("a token that is no session", bogus, op.Method, path, "", "")
		}
		caller := agent
		if op.Path == "/api/v1/session" { // a logout would end the session the others use
			caller = e.Login("agent@partner.example")
		}
		send("nothing of that ID", caller, op.Method, path, "", "")
		if op.Method != "GET" {
			send("not JSON", caller, op.Method, path, "application/json", `{"reason":`)
			send("an unknown field", caller, op.Method, path, "application/json", `{"no_such_field":1}`)
			send("not a JSON body", caller, op.Method, path, "text/plain", `reason`)
		}
	}
	for path, ms := range methods {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if !slices.Contains(ms, m) && !(m == "GET" && slices.Contains(ms, "HEAD")) {
				send("a method the path does not take", agent, m, "/api/v1"+strings.TrimPrefix(param.ReplaceAllString(path, "x"), "/api/v1"), "", "")
				break
			}
		}
	}
	send("no such route", agent, "GET", "/api/v1/no-such-route", "", "")

	// The rules, broken.
	assign := "/api/v1/sites/" + demo.ContosoSite + "/assignments"
	for _, c := range []struct {
		what         string
		as           *testenv.Session
		method, path string
		body         string
		status       int
		rule         string
	}{
		{"R1: a site whose customer gave no permission", agent, "POST", "/api/v1/sites/" + demo.LitwareSite + "/assignments", `{"user_id":"northwind-agent","role":"Partner Consultant","reason":"x"}`, 403, "R1"},
		{"R2: assigning a suspended user", agent, "POST", "/api/v1/sites/" + demo.FabrikamSite + "/assignments", `{"user_id":"` + demo.Suspended + `","reason":"x"}`, 422, "R2"},
		{"R2: a status that is not one", partnerAdmin, "PATCH", "/api/v1/users/" + demo.Agent, `{"status":"gone"}`, 422, "R2"},
		{"R3: a role the user does not hold", agent, "POST", "/api/v1/sites/" + demo.FabrikamSite + "/assignments", `{"user_id":"northwind-solo","role":"Partner Consultant","reason":"x"}`, 422, "R3"},
		{"R3: a partner user with no role", partnerAdmin, "PATCH", "/api/v1/users/" + demo.Agent, `{"roles":[]}`, 422, "R3"},
		{"R4: a decision on a decided request", customerAdmin, "POST", "/api/v1/assignments/" + std.ID + "/decision", `{"decision":"deny"}`, 409, "R4"},
		{"R4: a decision on decided more time", customerAdmin, "POST", "/api/v1/assignments/" + std.ID + "/decision", `{"decision":"approve","extension":1}`, 409, "R4"},
		{"R4: more time that is no duration", agent, "POST", "/api/v1/assignments/" + std.ID + "/extension", `{"duration":"long","reason":"x"}`, 422, "R4"},
		{"R4: more time asked by the customer", customerAdmin, "POST", "/api/v1/assignments/" + std.ID + "/extension", `{"duration":"1m","reason":"x"}`, 403, "R4"},
		{"R4: more time beyond MAX_EXTENSIONS", agent, "POST", "/api/v1/assignments/" + std.ID + "/extension", `{"duration":"1m","reason":"x"}`, 409, "R4"},
		{"R4: more time before approval", agent, "POST", "/api/v1/assignments/" + pending.ID + "/extension", `{"duration":"1m","reason":"x"}`, 409, "R4"},
		{"R5: more time for Professional access", agent, "POST", "/api/v1/assignments/" + pro.ID + "/extension", `{"duration":"1m","reason":"x"}`, 409, "R5"},
		{"R6: a customer assigns", customerAdmin, "POST", assign, `{"user_id":"northwind-agent","reason":"x"}`, 403, "R6"},
		{"R6: a partner decides", agent, "POST", "/api/v1/assignments/" + pending.ID + "/decision", `{"decision":"approve"}`, 403, "R6"},
		{"R6: a customer invites a partner user", customerAdmin, "POST", "/api/v1/partners/" + demo.Northwind + "/users", `{"email":"x@partner.example","name":"X","roles":["Partner Consultant"]}`, 403, "R6"},
		{"R7: an unassign reason of two lines", agent, "DELETE", "/api/v1/assignments/" + pending.ID, `{"reason":"a\nb"}`, 422, "R7"},
		{"R9: no reason", agent, "POST", "/api/v1/sites/" + demo.FabrikamSite + "/assignments", `{"user_id":"northwind-admin"}`, 422, "R9"},
		{"R10: a reason without the policy's ticket", agent, "POST", "/api/v1/sites/" + demo.ContosoFinance + "/assignments", `{"user_id":"northwind-solo","reason":"month-end"}`, 422, "R10"},
		{"R10: a duration over max_duration", agent, "POST", assign, `{"user_id":"northwind-solo","reason":"x","duration":"1000h"}`, 422, "R10"},
		{"R10: a start in the past", agent, "POST", "/api/v1/sites/" + demo.ContosoFinance + "/assignments", `{"user_id":"northwind-solo","reason":"CS-1234","starts_at":"2020-01-01T00:00:00Z"}`, 422, "R10"},
		{"R10: a policy with a field at fault", customerAdmin, "PUT", "/api/v1/customers/" + demo.Contoso + "/policy", `{"policy":{"approvals":0}}`, 422, "R10"},
		{"R6: a partner sets a customer's policy", agent, "PUT", "/api/v1/customers/" + demo.Contoso + "/policy", `{"policy":{}}`, 403, "R6"},
		{"no rule: an administrator removes their own administrator role", partnerAdmin, "PATCH", "/api/v1/users/" + demo.PartnerAdmin, `{"roles":["Partner Consultant"]}`, 422, ""},
		{"no rule: an invitation to an email that has an account", partnerAdmin, "POST", "/api/v1/partners/" + demo.Northwind + "/users", `{"email":"solo@partner.example","name":"X","roles":["Partner Consultant"]}`, 409, ""},
	} {
		before := len(got)
		send(c.what, c.as, c.method, c.path, "application/json", c.body)
		r := got[before]
		p := problemOf(t, r.body)
		if rule, _ := p["rule"].(string); r.status != c.status || rule != c.rule {
			t.Errorf("%s: %d rule %v, want %d under %s: %s", c.what, r.status, p["rule"], c.status, c.rule, r.body)
		}
	}

	// Each refusal, checked.
	rules, statuses := map[string]int{}, map[int]int{}
	for _, r := range got {
		if r.status < 400 {
			continue
		}
		if err := apicheck.Refusal(r.status, r.body); err != nil {
			t.Errorf("%s: %v", r.what, err)
			continue
		}
		if p := problemOf(t, r.body); p["rule"] != nil {
			rules[p["rule"].(string)]++
		} else {
			statuses[r.status]++
		}
	}
	t.Logf("%d requests, %d refusals: under the rules %v, under no rule by status %v", len(got), sumOf(rules)+sumOf(statuses), rules, statuses)
	if n := sumOf(rules) + sumOf(statuses); n < 3*len(ops) {
		t.Errorf("%d refusals from %d operations; each operation should be refused at least three ways", n, len(ops))
	}
	for _, status := range []int{400, 401, 404, 405, 409, 415, 422} {
		if statuses[status] == 0 {
			t.Errorf("no refusal under no rule with status %d was seen", status)
		}
	}
	// The rules page the types link to has every rule named.
	_, page := anon.Page(docs.RulesPath)
	for rule := range rules {
		if !strings.Contains(page, `id="`+strings.ToLower(rule)+`"`) {
			t.Errorf("%s is named by refusals, but %s has no part for it", rule, docs.RulesPath)
		}
	}
}

func sumOf[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
