package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// shots is where a walk keeps its screenshots: FIRST_HOUR_SCREENSHOTS when
// set (to look at them after), else a folder of the test's own.
type shots struct {
	t   *testing.T
	dir string
	n   int
}

func newShots(t *testing.T) *shots {
	t.Helper()
	dir := os.Getenv("FIRST_HOUR_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return &shots{t: t, dir: dir}
}

// take keeps the whole page the browser is on as NN-name.png.
func (s *shots) take(ctx context.Context, name string) {
	s.t.Helper()
	s.n++
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// evaluate is a script's value on the page the browser is on.
func evaluate[T any](t *testing.T, ctx context.Context, script string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	return v
}

// headerOnOneLine fails when the page's header wraps at the window's width.
func headerOnOneLine(t *testing.T, ctx context.Context, who string) {
	t.Helper()
	h := evaluate[float64](t, ctx, `document.querySelector("header.top").getBoundingClientRect().height`)
	line := evaluate[float64](t, ctx, `document.querySelector("header.top .brand").getBoundingClientRect().height`)
	if h > 2.2*line {
		t.Errorf("for %s the header is %.0f px tall at 1280 px, several lines of %.0f px", who, h, line)
	}
}

// TestFirstHourWalkThroughTheREADMEDemo walks the README's demo as a
// newcomer does, in a window 1280 px wide: log in, assign, approve from the
// dev mailbox's link, see the access in the dev directory, unassign. Each
// step's page is kept as a screenshot and checked for what issue 40 found.
func TestFirstHourWalkThroughTheREADMEDemo(t *testing.T) {
	o := slow()
	o.Entra = true
	o.Timing.ReadyWait = 10 * time.Minute // long enough to see the Professional wait
	e := newEntraEnv(t, o)
	ctx := browserFor(t, 5*time.Minute) // 16 pages, on a machine the whole suite shares
	base := e.HTTP.URL
	shot := newShots(t)
	run(t, ctx, chromedp.EmulateViewport(1280, 800))

	// Log in as the two-role agent.
	run(t, ctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("email")))
	shot.take(ctx, "login")
	run(t, ctx, login(base, "agent@partner.example"))
	shot.take(ctx, "dashboard")
	headerOnOneLine(t, ctx, "a partner agent")
	if h := evaluate[string](t, ctx, `[...document.querySelectorAll("main h1, main h2")].slice(0, 2).map(h => h.textContent.trim()).join(" | ")`); strings.Contains(h, "| Sites") {
		t.Errorf("the dashboard's headings: %q: a Sites heading right under the page's title", h)
	}

	// The site page: a user with two roles is not offered "the only role",
	// neither first nor after the R3 refusal.
	run(t, ctx,
		chromedp.Click(`//a[contains(., "Contoso Sage 200 Standard")]`),
		chromedp.WaitVisible(chromedp.ID("assign-form")),
		chromedp.SetValue(chromedp.ID("user_id"), demo.Agent),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("user_id").dispatchEvent(new Event("change"))`),
	)
	if role := evaluate[string](t, ctx, `(s => s.options[s.selectedIndex].textContent)(document.getElementById("role"))`); strings.Contains(role, "only role") {
		t.Errorf("a user with two roles is offered %q", role)
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.ID("reason"), "Case 4711: deploy update"),
		chromedp.Click(chromedp.ID("assign")),
		chromedp.WaitVisible(chromedp.ID("assign-error")),
	)
	shot.take(ctx, "assign-refused-R3")
	if role := evaluate[string](t, ctx, `(s => s.options[s.selectedIndex].textContent)(document.getElementById("role"))`); strings.Contains(role, "only role") {
		t.Errorf("after the R3 refusal the role list says %q", role)
	}
	run(t, ctx,
		chromedp.SetValue(chromedp.ID("role"), "Partner Consultant"),
		chromedp.Click(chromedp.ID("assign")),
		chromedp.WaitVisible(chromedp.ID("state")),
	)
	id := mustOpen(t, e.Env, demo.ContosoSite, demo.Agent)
	e.WaitState(id, domain.StatePendingApproval, 10*time.Second)
	e.Eventually(10*time.Second, "the approval emails", func() bool {
		return len(e.Mail(id, domain.EmailApprovalRequest, "admin@contoso.example")) == 1
	})
	// The page made before the emails follows them without a reload.
	run(t, ctx, chromedp.WaitVisible(`//table[@id="emails"]//td[contains(., "Approval request")]`))
	shot.take(ctx, "assignment-requested")

	// The dev mailbox, filtered to one approver, newest first; its link.
	run(t, ctx, logout(), chromedp.Navigate(base+"/dev/mail"), chromedp.WaitVisible(chromedp.ID("mail-filter")))
	shot.take(ctx, "mailbox")
	run(t, ctx,
		chromedp.SetValue(chromedp.ID("filter-to"), "admin@contoso.example"),
		chromedp.Click(chromedp.ID("filter")),
		// The filtered page, not the one it replaces (a screenshot taken
		// while it loads waits forever).
		chromedp.WaitReady(`//option[@value="admin@contoso.example" and @selected]`),
		chromedp.WaitVisible(`//strong[contains(@class, "subject") and contains(., "Approve access")]`),
	)
	shot.take(ctx, "mailbox-approver")
	if others := evaluate[int](t, ctx, `[...document.querySelectorAll("article.mail .to")].filter(e => !e.textContent.includes("admin@contoso.example")).length`); others != 0 {
		t.Errorf("filtered to admin@contoso.example, the mailbox shows %d emails to others", others)
	}
	run(t, ctx,
		chromedp.Click(`//article[.//strong[contains(., "Approve access")]]//a[contains(@href, "/approvals/")]`),
		chromedp.WaitVisible(chromedp.ID("approve")),
	)
	shot.take(ctx, "approval")
	run(t, ctx, chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(chromedp.ID("outcome")))
	shot.take(ctx, "approval-done")
	if out := text(t, ctx, chromedp.ID("outcome")); !strings.Contains(out, "Approved by admin@contoso.example") {
		t.Fatalf("outcome %q", out)
	}
	if links := evaluate[int](t, ctx, `document.querySelectorAll("main a[href]").length`); links == 0 {
		t.Error("the approval's thank-you page leads nowhere")
	}
	e.WaitState(id, domain.StateActive, 15*time.Second)

	// The second approver's link, after: the page says who decided, in a sentence.
	run(t, ctx, chromedp.Navigate(base+e.ApprovalPath(id, "ops@contoso.example")), chromedp.WaitVisible(chromedp.ID("settled")))
	shot.take(ctx, "approval-already-decided")
	if d := text(t, ctx, chromedp.ID("settled")); d == "" || strings.ToUpper(d[:1]) != d[:1] {
		t.Errorf("the decided approval page says %q", d)
	}

	// The dev directory has Alex's account, in the site's group, with its
	// temporary password counted.
	upn := demo.Agent + "." + demo.Northwind + "@contoso.onmicrosoft.com"
	run(t, ctx,
		chromedp.Navigate(base+"/dev/directory"),
		chromedp.WaitVisible(`//table[caption[contains(., "Group")]]//td[normalize-space(.)="`+upn+`"]`),
	)
	shot.take(ctx, "dev-directory-active")
	if row := text(t, ctx, `//table[caption[contains(., "Accounts")]]//tr[td[1][normalize-space(.)="`+upn+`"]]`); !strings.Contains(row, "yes") {
		t.Errorf("the account's row: %q", row)
	}
	if set := text(t, ctx, `//tr[td[1][normalize-space(.)="`+upn+`"]]/td[@data-stat="passwords"]`); set != "1" {
		t.Errorf("the tenant's passwords-set count is %q for an account made with a temporary password", set)
	}

	// The assignment page: active, the timeline in order and in words.
	run(t, ctx, login(base, "agent@partner.example"), chromedp.Navigate(base+"/assignments/"+id), chromedp.WaitVisible(chromedp.ID("access-ends")))
	shot.take(ctx, "assignment-active")
	headerOnOneLine(t, ctx, "a partner agent")
	timeline := text(t, ctx, `//ol[contains(@class, "timeline")]`)
	if strings.Contains(timeline, "access.") || strings.Contains(timeline, "made in entra") {
		t.Errorf("the timeline shows a raw event: %q", timeline)
	}
	if a, p := strings.Index(timeline, "approved the request"), strings.Index(timeline, "Access made"); a < 0 || p < 0 || p < a {
		t.Errorf("the timeline, want the approval before the access it led to:\n%s", timeline)
	}

	// Unassign; the site page's "Access ends" is when it was revoked.
	run(t, ctx,
		chromedp.Click(chromedp.ID("unassign")),
		chromedp.WaitVisible(chromedp.ID("confirm-unassign")),
		chromedp.SendKeys(`//input[@name="reason"]`, "case 4711 done"),
	)
	shot.take(ctx, "unassign")
	run(t, ctx, chromedp.Click(chromedp.ID("confirm-unassign")), chromedp.WaitVisible(chromedp.ID("state")))
	ended := e.WaitState(id, domain.StateRevoked, 15*time.Second)
	run(t, ctx,
		chromedp.Navigate(base+"/dev/directory"),
		chromedp.WaitNotPresent(`//table[caption[contains(., "Group")]]//td[normalize-space(.)="`+upn+`"]`),
	)
	shot.take(ctx, "dev-directory-revoked")
	run(t, ctx, chromedp.Navigate(base+"/sites/"+demo.ContosoSite), chromedp.WaitVisible(chromedp.ID("assign-form")))
	shot.take(ctx, "site-after-unassign")
	row := text(t, ctx, `//tr[td/a[@href="/assignments/`+id+`"]]`)
	if ended.EndedAt == nil || !strings.Contains(row, ended.EndedAt.UTC().Format("15:04")) {
		t.Errorf("the revoked assignment's row %q, want the revocation time %v", row, ended.EndedAt)
	}
	run(t, ctx, chromedp.Navigate(base+"/assignments/"+id), chromedp.WaitVisible(chromedp.ID("state")))
	shot.take(ctx, "assignment-revoked")

	// README step 4: Sam assigns himself to Fabrikam's Professional site.
	// The page says when he may log in; the credential page says whose
	// password it holds.
	run(t, ctx,
		logout(), login(base, "solo@partner.example"),
		chromedp.Click(`//a[contains(., "Fabrikam Sage 200 Professional")]`),
		chromedp.WaitVisible(chromedp.ID("assign-form")),
		chromedp.SetValue(chromedp.ID("user_id"), demo.Solo),
		chromedp.SendKeys(chromedp.ID("reason"), "Case 99: support"),
		chromedp.Click(chromedp.ID("assign")),
		chromedp.WaitVisible(chromedp.ID("ready-at")),
	)
	shot.take(ctx, "professional-provisioning")
	if ready := text(t, ctx, chromedp.ID("ready-at")); !strings.HasPrefix(ready, "about ") || !strings.Contains(ready, "READY_WAIT") {
		t.Errorf("the Professional page's ready time: %q", ready)
	}
	pro := mustOpen(t, e.Env, demo.FabrikamSite, demo.Solo)
	run(t, ctx, chromedp.Navigate(base+"/credentials/"+pro), chromedp.WaitVisible(chromedp.ID("reveal")))
	shot.take(ctx, "credential")
	if h := text(t, ctx, `//main/h1`); h != "Your temporary password for Fabrikam Sage 200 Professional" {
		t.Errorf("the credential page is headed %q", h)
	}

	// The customer's administrator: the header at 1280 px.
	run(t, ctx, logout(), login(base, "admin@contoso.example"))
	shot.take(ctx, "customer-dashboard")
	headerOnOneLine(t, ctx, "a customer administrator")
}
