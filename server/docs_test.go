package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// A refusal's problem type, and every rule named on a page, link to the
// rule's definition, which the service itself serves.
func TestRuleNamesLinkToTheRulesTheServiceServes(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")

	t.Run("problem type of a refusal", func(t *testing.T) {
		status, _, body := agent.Assign(demo.LitwareSite, demo.Solo, "", "case 1")
		p := problemOf(t, body)
		if status != http.StatusForbidden || p["rule"] != "R1" || p["type"] != "/docs/rules#r1" {
			t.Fatalf("got %d %s, want 403 with type /docs/rules#r1", status, body)
		}
	})
	t.Run("problem type without a rule", func(t *testing.T) {
		status, body := agent.Do("GET", "/api/v1/assignments/nope", nil)
		if p := problemOf(t, body); status != http.StatusNotFound || p["type"] != "about:blank" || p["rule"] != nil {
			t.Fatalf("got %d %s, want 404 with type about:blank and no rule", status, body)
		}
	})
	t.Run("the rules page", func(t *testing.T) {
		status, page := e.Anonymous().Page("/docs/rules")
		if status != http.StatusOK {
			t.Fatalf("GET /docs/rules: %d", status)
		}
		for _, want := range []string{`<h2 id="r1">R1 `, `<h2 id="r4">R4 `, `<h2 id="r9">R9 `, "<table>"} {
			if !strings.Contains(page, want) {
				t.Errorf("the rules page lacks %q", want)
			}
		}
	})
	t.Run("the assign form's refusal", func(t *testing.T) {
		status, body, _ := agent.Form("/sites/"+demo.LitwareSite+"/assignments", map[string]string{"user_id": demo.Solo, "reason": "case 2"})
		if status != http.StatusForbidden || !strings.Contains(string(body), `(<a href="/docs/rules#r1">R1</a>)`) {
			t.Fatalf("got %d, want 403 and a link to R1:\n%s", status, body)
		}
	})
	t.Run("the error page", func(t *testing.T) {
		status, body, _ := agent.Form("/customers/"+demo.Contoso+"/permission", map[string]string{"granted": "yes"})
		if status != http.StatusForbidden || !strings.Contains(string(body), `Rule <a href="/docs/rules#r6">R6</a>`) {
			t.Fatalf("got %d, want 403 and a link to R6:\n%s", status, body)
		}
	})
	t.Run("a notice naming a rule", func(t *testing.T) {
		status, a, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "case 3")
		if status != http.StatusCreated {
			t.Fatalf("assign: %d %s", status, body)
		}
		_, page := agent.Page("/assignments/" + a.ID + "?notice=existing")
		if !strings.Contains(page, `(<a href="/docs/rules#r8">R8</a>)`) {
			t.Fatalf("the R8 notice does not link to the rule:\n%s", page)
		}
	})
}
