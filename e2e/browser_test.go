// Package e2e drives the pages in headless Chromium against the real
// service (temporaltest, worker, SQLite, dev mailbox), as people use them.
package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// browser starts headless Chromium for one test. It skips when Chromium is
// absent, unless REQUIRE_BROWSER=1 (CI), where that is a failure.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, p := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if found, err := exec.LookPath(p); err == nil {
			path = found
			break
		}
	}
	if path == "" {
		if os.Getenv("REQUIRE_BROWSER") == "1" {
			t.Fatal("REQUIRE_BROWSER=1 but Chromium is not installed (apt-get install chromium)")
		}
		t.Skip("Chromium not installed; set REQUIRE_BROWSER=1 to make this a failure")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx)
		}
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// screenshot keeps the page a failed test ended on.
func screenshot(t *testing.T, ctx context.Context) {
	dir, err := os.MkdirTemp("", "browser-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		return
	}
	var png []byte
	var url string
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	url, _ = chromedp.Run(sctx, chromedp.Location())
	if png, err = chromedp.Run(sctx, chromedp.FullScreenshot(90)); err == nil {
		path := filepath.Join(dir, "failure.png")
		os.WriteFile(path, png, 0o644)
		t.Logf("screenshot of %s saved to %s", url, path)
	}
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func text[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(v)
}

func login(base, email string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/login"),
		passwordLogin(email, demo.Password),
		chromedp.WaitVisible(`//h1[contains(., "Site dashboard")]`),
	)
}

// passwordLogin fills the login page: the email first, then, since the
// email's organization has no sign-in provider, the password.
func passwordLogin(email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
	)
}

func logout() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Click(`//button[contains(., "Log out")]`), chromedp.WaitVisible(chromedp.ID("email")))
}

// slow keeps access long enough to look at it.
var slow = func() testenv.Options {
	tm := testenv.FastTiming
	tm.AccessDuration = 10 * time.Minute
	return testenv.Options{Timing: tm}
}

func TestBrowserStandardAssignApproveAndSeeItActive(t *testing.T) {
	e := testenv.New(t, slow())
	ctx := browser(t)
	base := e.HTTP.URL
	var state, outcome string

	// The partner agent assigns Sam, choosing a role, from the site page.
	run(t, ctx,
		login(base, "agent@partner.example"),
		chromedp.Click(`//a[contains(., "Contoso Sage 200 Standard")]`),
		chromedp.WaitVisible(chromedp.ID("assign-form")),
		chromedp.SetValue(chromedp.ID("user_id"), demo.Agent),
		chromedp.SetValue(chromedp.ID("role"), "Partner Consultant"),
		chromedp.SendKeys(chromedp.ID("reason"), "Case 4711: deploy update"),
		chromedp.Click(chromedp.ID("assign")),
		chromedp.WaitVisible(chromedp.ID("state")),
	)
	state = text(t, ctx, chromedp.ID("state"))
	if state != "requested" && state != "waiting for approval" {
		t.Fatalf("state after assigning: %q", state)
	}
	open, err := e.Store.OpenAssignment(context.Background(), demo.ContosoSite, demo.Agent)
	if err != nil || open.Role != "Partner Consultant" {
		t.Fatalf("assignment %+v %v, want one with the chosen role", open, err)
	}
	e.ApprovalPath(open.ID, "admin@contoso.example")

	// The customer opens the approval email's link from the dev mailbox and approves.
	run(t, ctx,
		logout(),
		chromedp.Navigate(base+"/dev/mail?to=admin@contoso.example"),
		chromedp.WaitVisible(`//strong[contains(@class, "subject") and contains(., "Approve access")]`),
		chromedp.Click(`//article[.//strong[contains(., "Approve access")]]//a[contains(@href, "/approvals/")]`),
		chromedp.WaitVisible(chromedp.ID("reason")),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("outcome")),
	)
	outcome = text(t, ctx, chromedp.ID("outcome"))
	if !strings.Contains(outcome, "Approved by admin@contoso.example") {
		t.Fatalf("outcome %q", outcome)
	}

	// The partner agent sees it active, with its end.
	var ends string
	run(t, ctx,
		login(base, "agent@partner.example"),
		chromedp.Navigate(base+"/assignments/"+open.ID),
		chromedp.WaitVisible(chromedp.ID("access-ends")),
	)
	state = text(t, ctx, chromedp.ID("state"))
	ends = text(t, ctx, chromedp.ID("access-ends"))
	if state != "active" || !strings.Contains(ends, "UTC") {
		t.Fatalf("assignment page: state %q, ends %q", state, ends)
	}
}

func TestBrowserProfessionalCredentialPageAfterLogin(t *testing.T) {
	e := testenv.New(t, slow())
	ctx := browser(t)
	base := e.HTTP.URL
	solo := e.Login("solo@partner.example")
	if code, a, body := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 99"); code != 201 {
		t.Fatalf("assign: %d %s", code, body)
	} else {
		e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	}
	var link string
	e.Eventually(10*time.Second, "credential email", func() bool {
		as, _ := e.Store.OpenAssignment(context.Background(), demo.FabrikamSite, demo.Solo)
		ms := e.Mail(as.ID, domain.EmailCredentialLink, "solo@partner.example")
		if len(ms) == 1 {
			link, _ = testenv.Link(ms[0], "/credentials/")
		}
		return link != ""
	})

	// Following the link asks for a login first, then comes back to it.
	var login, password string
	run(t, ctx,
		chromedp.Navigate(base+link),
		passwordLogin("solo@partner.example", demo.Password),
		chromedp.WaitVisible(chromedp.ID("reveal")),
		chromedp.Click(chromedp.ID("reveal")),
		chromedp.WaitVisible(chromedp.ID("password")),
	)
	login = text(t, ctx, chromedp.ID("login"))
	password = text(t, ctx, chromedp.ID("password"))
	if login != "solo@partner.example" || len(password) < 16 {
		t.Fatalf("credential page shows %q / %d characters", login, len(password))
	}
	// Shown once: coming back says so.
	var msg string
	run(t, ctx, chromedp.Navigate(base+link), chromedp.WaitVisible(chromedp.CSS(".error")))
	msg = text(t, ctx, chromedp.CSS(".error"))
	if !strings.Contains(msg, "already been viewed") {
		t.Fatalf("second visit: %q", msg)
	}
}

func TestBrowserRefusedAssignmentShowsItsMessage(t *testing.T) {
	e := testenv.New(t, slow())
	ctx := browser(t)
	base := e.HTTP.URL
	var msg string
	run(t, ctx,
		login(base, "agent@partner.example"),
		chromedp.Click(`//a[contains(., "Litware Sage 200 Standard")]`),
		chromedp.WaitVisible(chromedp.ID("no-permission")),
	)
	// No permission (R1): the page says so instead of offering a form.
	msg = text(t, ctx, chromedp.ID("no-permission"))
	if !strings.Contains(msg, "Litware has not given Northwind Partners permission") || !strings.Contains(msg, "R1") {
		t.Fatalf("message %q", msg)
	}
	hasForm, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("assign-form") !== null`))
	if err != nil {
		t.Fatal(err)
	}
	if hasForm {
		t.Fatal("the Litware site offers an Assign form without permission")
	}
	// Several roles, none chosen: the form says which to choose.
	run(t, ctx,
		chromedp.Navigate(base+"/sites/"+demo.ContosoSite),
		chromedp.WaitVisible(chromedp.ID("assign-form")),
		chromedp.SetValue(chromedp.ID("user_id"), demo.Agent),
		chromedp.SendKeys(chromedp.ID("reason"), "Case 13"),
		chromedp.Click(chromedp.ID("assign")),
		chromedp.WaitVisible(chromedp.ID("assign-error")),
	)
	msg = text(t, ctx, chromedp.ID("assign-error"))
	if !strings.Contains(msg, "choose one of") {
		t.Fatalf("message %q", msg)
	}
}

func TestBrowserInviteRegisterAndLogIn(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	ctx := browser(t)
	base := e.HTTP.URL

	// The partner administrator invites Nina from the Users page.
	run(t, ctx,
		login(base, "admin@partner.example"),
		chromedp.Click(chromedp.ID("nav-users")),
		chromedp.WaitVisible(chromedp.ID("invite-form")),
		chromedp.SendKeys(chromedp.ID("invite-email"), "nina@partner.example"),
		chromedp.SendKeys(chromedp.ID("invite-name"), "Nina New"),
		chromedp.Click(`//form[@id="invite-form"]//input[@value="Partner Consultant"]`),
		chromedp.Click(chromedp.ID("invite")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if row := text(t, ctx, `//tr[contains(., "nina@partner.example")]`); !strings.Contains(row, "invited") || !strings.Contains(row, "invitation sent") {
		t.Fatalf("Nina's row: %q", row)
	}

	// Nina follows the link from the dev mailbox; a common password is refused.
	run(t, ctx,
		logout(),
		chromedp.Navigate(base+"/dev/mail?to=nina@partner.example"),
		chromedp.Click(`//a[contains(@href, "/register/")]`),
		chromedp.WaitVisible(chromedp.ID("register-form")),
		chromedp.SendKeys(chromedp.ID("password"), "password1234"),
		chromedp.SendKeys(chromedp.ID("password_confirm"), "password1234"),
		chromedp.Click(chromedp.ID("register")),
		chromedp.WaitVisible(chromedp.ID("password-error")),
	)
	if msg := text(t, ctx, chromedp.ID("password-error")); !strings.Contains(msg, "most common passwords") {
		t.Fatalf("weak password message: %q", msg)
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.ID("password"), "lantern orbit cactus"),
		chromedp.SendKeys(chromedp.ID("password_confirm"), "lantern orbit cactus"),
		chromedp.Click(chromedp.ID("register")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		passwordLogin("nina@partner.example", "lantern orbit cactus"),
		chromedp.WaitVisible(`//h1[contains(., "Site dashboard")]`),
	)
	if who := text(t, ctx, `//span[@class="who"]`); !strings.Contains(who, "nina@partner.example") {
		t.Fatalf("logged in as %q", who)
	}
}

// The dev directory page follows an assignment live, without a reload: the
// account appears in the site's group, then leaves it, disabled.
func TestBrowserDevDirectoryFollowsAnAssignmentLive(t *testing.T) {
	o := slow()
	o.Entra = true
	e := testenv.New(t, o)
	ctx := browser(t)
	upn := demo.Solo + "." + demo.Northwind + "@fabrikam.onmicrosoft.com"
	member := `//table[caption[contains(., "Group")]]//td[normalize-space(.)="` + upn + `"]`
	disabled := `//table[caption[contains(., "Accounts")]]//tr[td[1][normalize-space(.)="` + upn + `"]]/td[2][normalize-space(.)="no"]`
	run(t, ctx,
		chromedp.Navigate(e.HTTP.URL+"/dev/directory"),
		chromedp.WaitVisible(`//caption[contains(., "Accounts")]`),
	)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.sameDocument = true`)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text(t, ctx, chromedp.ID("directory")), upn) {
		t.Fatal("the account is listed before any assignment")
	}
	solo := e.Login("solo@partner.example")
	code, a, body := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 7: support")
	if code != 201 {
		t.Fatalf("assign: %d %s", code, body)
	}
	run(t, ctx, chromedp.WaitVisible(member))
	if code, body := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != 202 {
		t.Fatalf("unassign: %d %s", code, body)
	}
	run(t, ctx, chromedp.WaitVisible(disabled), chromedp.WaitNotPresent(member))
	if same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.sameDocument === true`)); err != nil || !same {
		t.Fatalf("the page was reloaded to follow the change (%v)", err)
	}
}

// R10 as people see it: the assign form states Contoso Finance's policy
// before anyone submits, and two approvers decide one request from their
// own approval pages; it is active only after the second.
func TestBrowserPolicyStatedAndTwoApproversDecide(t *testing.T) {
	e := testenv.New(t, slow())
	ctx := browser(t)
	base := e.HTTP.URL
	run(t, ctx,
		login(base, "agent@partner.example"),
		chromedp.Click(`//a[contains(., "Contoso Sage 200 Finance")]`),
		chromedp.WaitVisible(chromedp.ID("policy-words")),
	)
	words := text(t, ctx, chromedp.ID("policy-words"))
	if !strings.Contains(words, "2 approvals") || !strings.Contains(words, "CS-1234") {
		t.Fatalf("the form states %q, want the two approvals and the ticket example", words)
	}
	run(t, ctx,
		chromedp.SetValue(chromedp.ID("user_id"), demo.Solo),
		chromedp.SendKeys(chromedp.ID("reason"), "CS-4711: month-end upgrade"),
		chromedp.Click(chromedp.ID("assign")),
		chromedp.WaitVisible(chromedp.ID("state")),
	)
	a := e.WaitState(mustOpen(t, e, demo.ContosoFinance, demo.Solo), domain.StatePendingApproval, 10*time.Second)
	decide := func(approver string) string {
		run(t, ctx,
			chromedp.Navigate(base+e.ApprovalPath(a.ID, approver)),
			chromedp.WaitVisible(chromedp.ID("approve")),
			chromedp.Click(chromedp.ID("approve")),
			chromedp.WaitVisible(chromedp.ID("outcome")),
		)
		return text(t, ctx, chromedp.ID("outcome"))
	}
	run(t, ctx, logout())
	if out := decide("admin@contoso.example"); !strings.Contains(out, "Your approval counts") {
		t.Fatalf("first approver's page says %q", out)
	}
	if got := e.WaitState(a.ID, domain.StatePendingApproval, time.Second); got.State != domain.StatePendingApproval {
		t.Fatalf("after the first approval: %s", got.State)
	}
	if out := decide("ops@contoso.example"); !strings.Contains(out, "Approved by") {
		t.Fatalf("second approver's page says %q", out)
	}
	e.WaitState(a.ID, domain.StateActive, 10*time.Second)
}

// mustOpen is the ID of the open assignment of user at site.
func mustOpen(t *testing.T, e *testenv.Env, site, user string) string {
	t.Helper()
	var id string
	e.Eventually(10*time.Second, "an open assignment", func() bool {
		a, err := e.Store.OpenAssignment(context.Background(), site, user)
		id = a.ID
		return err == nil
	})
	return id
}

// A newcomer approves in the dev chat: the card Casey got in Teams beside
// the email, Approve pressed there, and the assignment page shows the
// access approved in Teams.
func TestBrowserDevChatApproveInTeams(t *testing.T) {
	o := slow()
	o.DevChat = true
	e := testenv.New(t, o)
	ctx := browser(t)
	base := e.HTTP.URL
	if code, _, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 4711: deploy update"); code != 201 {
		t.Fatalf("assign: %d %s", code, body)
	}
	a := mustOpen(t, e, demo.ContosoSite, demo.Solo)
	casey := `//section[.//h2[contains(., "Casey Contoso")]]`
	approve := casey + `//article[contains(., "Case 4711")]//button[@value="approve"]`
	run(t, ctx, chromedp.Navigate(base+"/dev/chat"), chromedp.WaitVisible(`//h1[contains(., "Dev chat")]`))
	e.Eventually(20*time.Second, "Casey's card", func() bool {
		for _, c := range e.DevChat.Conversations() {
			if c.Member.Email == "admin@contoso.example" && len(c.Cards) > 0 {
				return true
			}
		}
		return false
	})
	run(t, ctx,
		chromedp.Navigate(base+"/dev/chat"),
		chromedp.WaitVisible(approve),
		chromedp.Click(approve),
		chromedp.WaitVisible(casey+`//p[@role="status" and contains(., "Approved by Casey Contoso")]`),
	)
	e.WaitState(a, domain.StateActive, 20*time.Second)
	run(t, ctx,
		login(base, "admin@contoso.example"),
		chromedp.Navigate(base+"/assignments/"+a),
		chromedp.WaitVisible(chromedp.ID("decision")),
	)
	if got := text(t, ctx, chromedp.ID("decision")); !strings.Contains(got, "approved in Teams") {
		t.Fatalf("the decision reads %q, want it approved in Teams", got)
	}
}
