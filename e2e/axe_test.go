package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// Accessibility: axe-core (npm, injected into the page) checks every page,
// as each role sees it, and any violation fails the test.

// axeScript is axe-core's script: $AXE_CORE, or where .ci/run installs it
// (npm install --prefix .ci/node axe-core). Missing, the test skips, or
// fails with REQUIRE_BROWSER=1 (CI).
func axeScript(t *testing.T) string {
	t.Helper()
	path := os.Getenv("AXE_CORE")
	if path == "" {
		_, here, _, _ := runtime.Caller(0)
		path = filepath.Join(filepath.Dir(here), "..", ".ci", "node", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("REQUIRE_BROWSER") == "1" {
			t.Fatalf("REQUIRE_BROWSER=1 but axe-core is missing (%v): npm install --prefix .ci/node axe-core@4.13, or set AXE_CORE", err)
		}
		t.Skipf("axe-core not installed (%v); npm install --prefix .ci/node axe-core@4.13", err)
	}
	return string(b)
}

// violation is what axe reports of one rule broken on a page.
type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// audit runs axe on the page the browser is on (after it loaded) and
// returns its violations, one line each.
func audit(t *testing.T, ctx context.Context, script string) []string {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](script+";true")); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		// Collapsed parts are opened first, so that they are checked too.
		`document.querySelectorAll('details').forEach(d => d.open = true);
		axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	var vs []violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe-core's answer: %v", err)
	}
	var out []string
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target...))
		}
		out = append(out, fmt.Sprintf("%s (%s, %d×): %s at %s", v.ID, v.Impact, len(v.Nodes), v.Help, strings.Join(where, ", ")))
	}
	return out
}

// The audit finds what it is there to find: a header cell with no text.
func TestAccessibilityAuditFindsAPlantedViolation(t *testing.T) {
	script := axeScript(t)
	ctx := browser(t)
	page := `<!doctype html><html lang="en"><title>planted</title><main><h1>Planted</h1><table><tr><th></th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table></main></html>`
	run(t, ctx, chromedp.Navigate("data:text/html,"+url.PathEscape(page)), chromedp.WaitReady("body"))
	found := audit(t, ctx, script)
	if len(found) != 1 || !strings.HasPrefix(found[0], "empty-table-header (minor, 1×)") || !strings.Contains(found[0], "th") {
		t.Fatalf("axe-core on a page with an empty table header found %q, want empty-table-header once", found)
	}
}

func TestAccessibilityOfEveryPageForEveryRole(t *testing.T) {
	script := axeScript(t)
	tm := testenv.FastTiming
	tm.AccessDuration, tm.MaxExtensions = 10*time.Minute, 1
	e := testenv.New(t, testenv.Options{Timing: tm, Entra: true, AVD: true})
	ctx := browser(t)
	base := e.HTTP.URL

	// Something on every page: a Standard request pending at Contoso, a
	// Professional access active at Fabrikam, an invitation and a reset
	// link, an SSO hand-over page.
	agent := e.Login("agent@partner.example")
	_, pending, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 4711")
	if pending.ID == "" {
		t.Fatalf("assign: %s", body)
	}
	_, pro, body := agent.Assign(demo.FabrikamSite, demo.Solo, "", "Case 4712")
	if pro.ID == "" {
		t.Fatalf("assign: %s", body)
	}
	e.WaitState(pro.ID, domain.StateActive, 30*time.Second)
	approval := e.ApprovalPath(pending.ID, "admin@contoso.example")
	admin := e.Login("admin@partner.example")
	if code, body := admin.Do("POST", "/api/v1/partners/"+demo.Northwind+"/users",
		map[string]any{"email": "nina@partner.example", "name": "Nina New", "roles": []string{store.RolePartnerSupportAgent}}); code != 201 {
		t.Fatalf("invite: %d %s", code, body)
	}
	invitation := e.UserLink(domain.EmailInvitation, "nina@partner.example", "/register/")
	if code, _ := e.Anonymous().Do("POST", "/api/v1/password-reset", map[string]string{"email": "ops@contoso.example"}); code != 202 {
		t.Fatal("reset request refused")
	}
	reset := e.UserLink(domain.EmailPasswordReset, "ops@contoso.example", "/reset/")
	e.UseOIDC(store.KindCustomer, demo.Litware, store.LocalPasswordsAllowed, "litware.example")

	// A Standard access at Contoso with a request for more time waiting,
	// and a Professional one at Fabrikam that has ended.
	_, more, body := agent.Assign(demo.ContosoSite, demo.Agent, "Partner Consultant", "Case 4713")
	if more.ID == "" {
		t.Fatalf("assign: %s", body)
	}
	if code, _, _ := e.Anonymous().Form(e.ApprovalPath(more.ID, "ops@contoso.example"), map[string]string{"decision": "approve"}); code != 200 {
		t.Fatalf("approve: %d", code)
	}
	e.WaitState(more.ID, domain.StateActive, 30*time.Second)
	if code, body := agent.Do("POST", "/api/v1/assignments/"+more.ID+"/extension", map[string]string{"duration": "5m", "reason": "the upgrade overran"}); code != 202 {
		t.Fatalf("ask for more time: %d %s", code, body)
	}
	var moreApproval string
	e.Eventually(30*time.Second, "the request for more time to admin@contoso.example", func() bool {
		ms := e.Mail(more.ID, domain.EmailExtensionRequest, "admin@contoso.example")
		if len(ms) == 0 {
			return false
		}
		var err error
		moreApproval, err = testenv.Link(ms[0], "/approvals/")
		return err == nil
	})
	_, ended, body := agent.Assign(demo.FabrikamSite, demo.Agent, "Partner Consultant", "Case 4714")
	if ended.ID == "" {
		t.Fatalf("assign: %s", body)
	}
	e.WaitState(ended.ID, domain.StateActive, 30*time.Second)
	if code, body := agent.Do("DELETE", "/api/v1/assignments/"+ended.ID, map[string]string{"reason": "done"}); code >= 300 {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitClosed(e.WaitState(ended.ID, domain.StateRevoked, 30*time.Second))
	if _, page := e.Login("admin@contoso.example").Page("/requests"); !strings.Contains(page, "the upgrade overran") {
		t.Fatalf("the customer's pending requests lack the request for more time:\n%s", page)
	}

	checked := 0
	var found []string
	// here audits the page the browser is on, named what.
	here := func(who, what string) {
		t.Helper()
		for _, v := range audit(t, ctx, script) {
			found = append(found, fmt.Sprintf("%s, %s: %s", who, what, v))
		}
		checked++
	}
	check := func(who, path string) {
		t.Helper()
		run(t, ctx, chromedp.Navigate(base+path), chromedp.WaitReady("body"))
		here(who, path)
	}
	for _, path := range []string{"/login", "/login?email=agent%40partner.example", "/forgot-password", invitation, reset,
		approval, moreApproval, "/docs/rules", "/docs/api", "/no-such-page", "/approvals/not-a-link", "/sso/start?email=admin%40litware.example"} {
		check("anonymous", path)
	}
	// A form's refusal: a password too weak to register with.
	run(t, ctx, chromedp.Navigate(base+invitation), chromedp.WaitVisible(chromedp.ID("register-form")),
		chromedp.SendKeys(chromedp.ID("password"), "password1234"), chromedp.SendKeys(chromedp.ID("password_confirm"), "password1234"),
		chromedp.Click(chromedp.ID("register")), chromedp.WaitVisible(chromedp.ID("password-error")))
	here("anonymous", "registration refused")
	// The approval through its page, then the decided link reopened.
	run(t, ctx, chromedp.Navigate(base+approval), chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(`//h1[contains(., "Thank you")]`))
	here("anonymous", "approval done")
	check("anonymous", approval)

	type state struct {
		name  string
		steps chromedp.Action[chromedp.Void]
	}
	for _, role := range []struct {
		email  string
		paths  []string
		states []state // pages reached through a form
	}{
		{"agent@partner.example", []string{"/sites", "/sites/" + demo.ContosoSite, "/sites/" + demo.ContosoFinance, "/assignments/" + pending.ID, "/assignments/" + pro.ID,
			"/assignments/" + pro.ID + "/unassign", "/assignments/" + more.ID, "/assignments/" + ended.ID, "/assignments/no-such-assignment",
			"/users", "/docs/rules", "/docs/api"}, []state{
			{"assignment refused: several roles, none chosen", chromedp.Steps(chromedp.Navigate(base+"/sites/"+demo.FabrikamSite),
				chromedp.WaitVisible(chromedp.ID("assign-form")), chromedp.SetValue(chromedp.ID("user_id"), demo.Agent),
				chromedp.SendKeys(chromedp.ID("reason"), "Case 4715"), chromedp.Click(chromedp.ID("assign")), chromedp.WaitVisible(chromedp.ID("assign-error")))},
		}},
		{"solo@partner.example", []string{"/sites", "/assignments/" + pro.ID, "/credentials/" + pro.ID}, []state{
			{"the temporary password shown", chromedp.Steps(chromedp.Navigate(base+"/credentials/"+pro.ID), chromedp.Click(chromedp.ID("reveal")),
				chromedp.WaitVisible(chromedp.ID("password")))},
		}},
		{"admin@partner.example", []string{"/users", "/sites", "/sites/" + demo.FabrikamSite, "/assignments/" + pro.ID, "/assignments/" + ended.ID,
			"/dev/mail", "/dev/directory"}, nil},
		{"admin@contoso.example", []string{"/sites", "/sites/" + demo.ContosoSite, "/sites/" + demo.ContosoFinance, "/requests",
			"/assignments/" + pending.ID, "/assignments/" + more.ID, "/users", "/dev/mail", "/customers/" + demo.Contoso + "/policy"}, []state{
			{"policy refused: a field at fault", chromedp.Steps(chromedp.Navigate(base+"/customers/"+demo.Contoso+"/policy"),
				chromedp.WaitVisible(chromedp.ID("policy-form")), chromedp.SetValue(chromedp.ID("policy"), `{"policy":{"approvals":0}}`),
				chromedp.Submit(chromedp.ID("policy-form")), chromedp.WaitVisible(chromedp.ID("policy-error")))},
		}},
		{"ops@contoso.example", []string{"/sites", "/requests", "/assignments/" + pending.ID, "/assignments/" + more.ID, "/users"}, nil},
		{"admin@fabrikam.example", []string{"/sites", "/sites/" + demo.FabrikamSite, "/assignments/" + pro.ID, "/assignments/" + pro.ID + "/unassign",
			"/assignments/" + ended.ID, "/requests"}, nil},
		{"admin@litware.example", []string{"/sites", "/sites/" + demo.LitwareSite}, nil},
	} {
		if role.email == "admin@litware.example" {
			// Litware signs in through its provider: its hand-over page
			// was checked above; the password step is the dev data's.
			e.Store.SetSSOProvider(context.Background(), store.KindCustomer, demo.Litware, nil)
		}
		run(t, ctx, login(base, role.email))
		for _, path := range role.paths {
			check(role.email, path)
		}
		for _, st := range role.states {
			run(t, ctx, st.steps)
			here(role.email, st.name)
		}
		run(t, ctx, logout())
	}
	// The request for more time approved through its page (after the
	// customer's pages showed it waiting), then its link reopened.
	run(t, ctx, chromedp.Navigate(base+moreApproval), chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(`//h1[contains(., "Thank you")]`))
	here("anonymous", "more time approved")
	e.Eventually(30*time.Second, "the decision on more time recorded", func() bool {
		_, page := e.Anonymous().Page(moreApproval)
		return strings.Contains(page, "already approved by")
	})
	check("anonymous", moreApproval)
	t.Logf("axe-core checked %d pages", checked)
	if len(found) > 0 {
		t.Fatalf("%d accessibility violations:\n%s", len(found), strings.Join(found, "\n"))
	}
}
