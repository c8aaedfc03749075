package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// The whole redirect dance in Chromium: the login page's email goes to
// Contoso's provider, which answers; the browser comes back signed in,
// and the header says how. Another organization's email still gets the
// password step.
func TestBrowserSignInThroughTheOrganizationsProvider(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	p := e.UseOIDC(store.KindCustomer, demo.Contoso, store.LocalPasswordsDisabled, "contoso.example")
	ctx := browser(t)
	base := e.HTTP.URL

	p.QueueUser(&mockoidc.MockUser{Subject: "casey-sub", Email: "admin@contoso.example", EmailVerified: true})
	run(t, ctx,
		chromedp.Navigate(base+"/login?next=/requests"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "admin@contoso.example"),
		chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	)
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, base+"/requests") {
		t.Fatalf("after signing in the browser is at %s, want the page it asked for", url)
	}
	if who := text(t, ctx, chromedp.ID("signed-in")); !strings.Contains(who, "signed in through your organization's provider (127.0.0.1") {
		t.Fatalf("the header says %q", who)
	}
	if who := text(t, ctx, `//span[@class="who"]`); !strings.Contains(who, "admin@contoso.example") {
		t.Fatalf("signed in as %q", who)
	}
	// The header of a customer administrator signed in through SSO, the
	// longest there is, keeps to one line at 1280 px (issue 40).
	run(t, ctx, chromedp.EmulateViewport(1280, 800))
	headerOnOneLine(t, ctx, "a customer administrator signed in through SSO")
	if s := os.Getenv("FIRST_HOUR_SCREENSHOTS"); s != "" {
		newShots(t).take(ctx, "sso-header")
	}

	// An address no account has is handed over like every other of the
	// domain; the provider's answer finds no account: a page that says
	// what to do, and no session.
	run(t, ctx, logout())
	p.QueueUser(&mockoidc.MockUser{Subject: "stranger", Email: "stranger@contoso.example", EmailVerified: true})
	run(t, ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "stranger@contoso.example"),
		chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(`//p[@role="alert"]`),
	)
	if msg := text(t, ctx, `//p[@role="alert"]`); !strings.Contains(msg, "stranger@contoso.example has no account here") {
		t.Fatalf("refusal page says %q", msg)
	}
	run(t, ctx, chromedp.Navigate(base+"/sites"), chromedp.WaitVisible(chromedp.ID("continue")))

	// Northwind has no provider: its email gets the password step.
	run(t, ctx, passwordLogin("agent@partner.example", demo.Password), chromedp.WaitVisible(`//h1[contains(., "Site dashboard")]`))
	if who := text(t, ctx, chromedp.ID("signed-in")); who != "· signed in with a password" {
		t.Fatalf("the header says %q", who)
	}
}
