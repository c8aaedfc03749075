package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

func TestBadInputIsRefusedClearlyAndChangesNothing(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	admin := e.Login("admin@contoso.example")
	anon := e.Anonymous()
	bogus := e.Anonymous()
	bogus.Token = strings.Repeat("B", 43)
	_, open, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "existing")
	e.ApprovalPath(open.ID, "admin@contoso.example") // its emails are out: counts settle
	e.ApprovalPath(open.ID, "ops@contoso.example")
	assign := "/api/v1/sites/" + demo.ContosoSite + "/assignments"
	long := strings.Repeat("x", 501)
	huge := `{"user_id":"` + strings.Repeat("a", 20000) + `","reason":"x"}`

	cases := []struct {
		name   string
		as     *testenv.Session
		method string
		path   string
		body   any // string: sent raw as JSON
		ctype  string
		status int
		field  string
	}{
		{"assign: empty body", agent, "POST", assign, "", "", 400, ""},
		{"assign: not JSON", agent, "POST", assign, "user_id=x", "", 400, ""},
		{"assign: truncated JSON", agent, "POST", assign, `{"user_id":"northwind-solo"`, "", 400, ""},
		{"assign: array", agent, "POST", assign, `["northwind-solo"]`, "", 400, ""},
		{"assign: unknown field", agent, "POST", assign, `{"user_id":"northwind-solo","reason":"x","admin":true}`, "", 400, "admin"},
		{"assign: user_id a number", agent, "POST", assign, `{"user_id":42,"reason":"x"}`, "", 400, "user_id"},
		{"assign: reason an object", agent, "POST", assign, `{"user_id":"northwind-solo","reason":{}}`, "", 400, "reason"},
		{"assign: two objects", agent, "POST", assign, `{"user_id":"northwind-solo","reason":"x"}{}`, "", 400, ""},
		{"assign: wrong content type", agent, "POST", assign, `{"user_id":"northwind-solo","reason":"x"}`, "text/plain", 415, ""},
		{"assign: body too large", agent, "POST", assign, huge, "", 413, ""},
		{"assign: missing user_id", agent, "POST", assign, `{"reason":"x"}`, "", 400, "user_id"},
		{"assign: user_id too long", agent, "POST", assign, `{"user_id":"` + long + `","reason":"x"}`, "", 400, "user_id"},
		{"assign: missing reason", agent, "POST", assign, `{"user_id":"northwind-agent","role":"Partner Consultant"}`, "", 422, "reason"},
		{"assign: reason too long", agent, "POST", assign, `{"user_id":"northwind-agent","role":"Partner Consultant","reason":"` + long + `"}`, "", 422, "reason"},
		{"assign: reason with a newline", agent, "POST", assign, `{"user_id":"northwind-agent","role":"Partner Consultant","reason":"a\nb"}`, "", 422, "reason"},
		{"assign: unknown role", agent, "POST", assign, `{"user_id":"northwind-agent","role":"Root","reason":"x"}`, "", 422, "role"},
		{"assign: unknown user", agent, "POST", assign, `{"user_id":"nobody","reason":"x"}`, "", 404, "user_id"},
		{"assign: unknown site", agent, "POST", "/api/v1/sites/nowhere/assignments", `{"user_id":"northwind-agent","reason":"x"}`, "", 404, "site"},
		{"assign: not logged in", anon, "POST", assign, `{"user_id":"northwind-agent","reason":"x"}`, "", 401, ""},
		{"assign: bad bearer token", bogus, "POST", assign, `{"user_id":"northwind-agent","reason":"x"}`, "", 401, ""},
		{"session: wrong password", anon, "POST", "/api/v1/session", `{"email":"agent@partner.example","password":"nope"}`, "", 401, ""},
		{"session: unknown user", anon, "POST", "/api/v1/session", `{"email":"ghost@partner.example","password":"demo-password"}`, "", 401, ""},
		{"session: missing password", anon, "POST", "/api/v1/session", `{"email":"agent@partner.example"}`, "", 400, "password"},
		{"session: invited user", anon, "POST", "/api/v1/session", `{"email":"invited@partner.example","password":""}`, "", 400, "password"},
		{"session: unknown field", anon, "POST", "/api/v1/session", `{"email":"a@b.c","password":"x","remember":true}`, "", 400, "remember"},
		{"decision: not approve or deny", admin, "POST", "/api/v1/assignments/" + open.ID + "/decision", `{"decision":"maybe"}`, "", 400, "decision"},
		{"decision: unknown assignment", admin, "POST", "/api/v1/assignments/nope/decision", `{"decision":"approve"}`, "", 404, "assignment"},
		{"decision: decision a bool", admin, "POST", "/api/v1/assignments/" + open.ID + "/decision", `{"decision":true}`, "", 400, "decision"},
		{"unassign: unknown assignment", agent, "DELETE", "/api/v1/assignments/nope", nil, "", 404, "assignment"},
		{"unassign: reason too long", agent, "DELETE", "/api/v1/assignments/" + open.ID, `{"reason":"` + long + `"}`, "", 422, "reason"},
		{"unassign: unknown field", agent, "DELETE", "/api/v1/assignments/" + open.ID, `{"why":"x"}`, "", 400, "why"},
		{"permission: unknown customer", admin, "PUT", "/api/v1/customers/nobody/partner-permission", nil, "", 404, "customer"},
		{"permission: with a body", admin, "PUT", "/api/v1/customers/" + demo.Contoso + "/partner-permission", `{"granted":false}`, "", 400, "granted"},
		{"customer user: bad email", admin, "POST", "/api/v1/customers/" + demo.Contoso + "/users", `{"email":"not-an-email","name":"X"}`, "", 400, "email"},
		{"customer user: partner role", admin, "POST", "/api/v1/customers/" + demo.Contoso + "/users", `{"email":"x@contoso.example","name":"X","roles":["Partner Consultant"]}`, "", 400, "roles"},
		{"customer user: existing email", admin, "POST", "/api/v1/customers/" + demo.Contoso + "/users", `{"email":"ops@contoso.example","name":"X"}`, "", 409, ""},
		{"access: missing user", agent, "GET", "/api/v1/access?site=" + demo.ContosoSite, nil, "", 400, "user"},
		{"access: not logged in", anon, "GET", "/api/v1/access?site=" + demo.ContosoSite + "&user=" + demo.Solo, nil, "", 401, ""},
		{"access: another partner's site", e.Login("agent@tailspin.example"), "GET", "/api/v1/access?site=" + demo.ContosoSite + "&user=" + demo.Solo, nil, "", 404, "site"},
		{"audit: bad limit", agent, "GET", "/api/v1/audit?limit=-3", nil, "", 400, "limit"},
		{"unknown route", agent, "GET", "/api/v1/nothing", nil, "", 404, ""},
		{"wrong method", agent, "PATCH", "/api/v1/sites", nil, "", 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.Counts()
			var req *http.Request
			switch b := tc.body.(type) {
			case string:
				req, _ = http.NewRequest(tc.method, e.HTTP.URL+tc.path, strings.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
			default:
				req, _ = http.NewRequest(tc.method, e.HTTP.URL+tc.path, nil)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			status, body := tc.as.Send(req)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			p := problemOf(t, body)
			if p["detail"] == "" || p["status"] != float64(tc.status) {
				t.Fatalf("problem without a message: %s", body)
			}
			if got, _ := p["field"].(string); got != tc.field {
				t.Fatalf("field %q, want %q: %s", got, tc.field, body)
			}
			if after := e.Counts(); after != before {
				t.Fatalf("bad input changed state: %+v -> %+v", before, after)
			}
		})
	}
	if len(cases) < 30 {
		t.Fatalf("%d cases; keep at least 30", len(cases))
	}
}
