package e2e

import (
	"context"
	"encoding/json"
	"fmt"
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

func TestAccessibilityOfEveryPageForEveryRole(t *testing.T) {
	script := axeScript(t)
	tm := testenv.FastTiming
	tm.AccessDuration = 10 * time.Minute
	e := testenv.New(t, testenv.Options{Timing: tm, Entra: true})
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
	e.UseOIDC(store.KindCustomer, demo.Litware, store.LocalPasswordsAllowed)

	checked := 0
	var found []string
	check := func(who, path string) {
		t.Helper()
		run(t, ctx, chromedp.Navigate(base+path), chromedp.WaitReady("body"))
		for _, v := range audit(t, ctx, script) {
			found = append(found, fmt.Sprintf("%s, %s: %s", who, path, v))
		}
		checked++
	}
	for _, path := range []string{"/login", "/login?email=agent%40partner.example", "/forgot-password", invitation, reset,
		approval, "/docs/rules", "/docs/api", "/no-such-page", "/sso/start?email=admin%40litware.example"} {
		check("anonymous", path)
	}
	// The approval through its page, then the decided link reopened.
	run(t, ctx, chromedp.Navigate(base+approval), chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(`//h1[contains(., "Thank you")]`))
	for _, v := range audit(t, ctx, script) {
		found = append(found, "anonymous, approval done: "+v)
	}
	check("anonymous", approval)

	for _, role := range []struct {
		email string
		paths []string
	}{
		{"agent@partner.example", []string{"/sites", "/sites/" + demo.ContosoSite, "/assignments/" + pending.ID, "/assignments/" + pro.ID,
			"/assignments/" + pro.ID + "/unassign", "/docs/rules"}},
		{"solo@partner.example", []string{"/sites", "/assignments/" + pro.ID, "/credentials/" + pro.ID}},
		{"admin@partner.example", []string{"/users", "/sites", "/dev/mail", "/dev/directory"}},
		{"admin@contoso.example", []string{"/sites", "/sites/" + demo.ContosoSite, "/requests", "/assignments/" + pending.ID, "/users", "/dev/mail"}},
		{"ops@contoso.example", []string{"/sites", "/requests", "/assignments/" + pending.ID}},
		{"admin@fabrikam.example", []string{"/sites", "/sites/" + demo.FabrikamSite, "/assignments/" + pro.ID, "/requests"}},
		{"admin@litware.example", []string{"/sites", "/sites/" + demo.LitwareSite}},
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
		run(t, ctx, logout())
	}
	t.Logf("axe-core checked %d pages", checked)
	if len(found) > 0 {
		t.Fatalf("%d accessibility violations:\n%s", len(found), strings.Join(found, "\n"))
	}
}
