package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// TestAccessibilityOfTheReviewPages checks the pages of access reviews and
// of a permission with an end (SPEC §15) with axe-core, beside the other
// pages' test (each browser session has a time budget of its own): a
// review open, one refused start, a finished review's report, and the
// Sites page of a permission that ends.
func TestAccessibilityOfTheReviewPages(t *testing.T) {
	script := axeScript(t)
	e := testenv.New(t, testenv.Options{})
	ctx := browser(t)
	base := e.HTTP.URL
	reviewOf := func(who, org string) string {
		code, body := e.Login(who).Do("POST", "/api/v1/reviews", map[string]string{"organization": org})
		var r struct {
			ID string `json:"id"`
		}
		if code != 201 || json.Unmarshal(body, &r) != nil {
			t.Fatalf("start a review: %d %s", code, body)
		}
		return r.ID
	}
	open, report := reviewOf("admin@partner.example", demo.Northwind), reviewOf("admin@contoso.example", demo.Contoso)
	contoso := e.Login("admin@contoso.example")
	for _, item := range []string{"1", "2", "3", "4"} { // Casey, Olive, Vic, Northwind's permission
		if code, body := contoso.Do("POST", "/api/v1/reviews/"+report+"/items/"+item, map[string]string{"decision": "keep"}); code != 200 {
			t.Fatalf("keep %s: %d %s", item, code, body)
		}
	}
	e.Eventually(30*time.Second, "Contoso's review finished", func() bool {
		r, err := e.Store.ReviewByID(context.Background(), report)
		return err == nil && r.State == store.ReviewFinished
	})
	if code, body := contoso.Do("PUT", "/api/v1/customers/"+demo.Contoso+"/partner-permission",
		map[string]string{"until": time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)}); code != 200 {
		t.Fatalf("grant until: %d %s", code, body)
	}

	var found []string
	checked := 0
	here := func(who, what string) {
		t.Helper()
		for _, v := range audit(t, ctx, script) {
			found = append(found, fmt.Sprintf("%s, %s: %s", who, what, v))
		}
		checked++
	}
	for _, role := range []struct {
		email string
		paths []string
		state chromedp.Action[chromedp.Void]
	}{
		{"admin@partner.example", []string{"/reviews", "/reviews/" + open}, chromedp.Steps(chromedp.Navigate(base+"/reviews"),
			chromedp.WaitVisible(chromedp.ID("start-review")), chromedp.Click(chromedp.ID("start-review-button")),
			chromedp.WaitVisible(chromedp.ID("review-error")))},
		{"admin@contoso.example", []string{"/reviews", "/reviews/" + report, "/sites"}, nil},
	} {
		run(t, ctx, login(base, role.email))
		for _, path := range role.paths {
			run(t, ctx, chromedp.Navigate(base+path), chromedp.WaitReady("body"))
			here(role.email, path)
		}
		if role.state != nil {
			run(t, ctx, role.state)
			here(role.email, "review start refused: one is open")
		}
		run(t, ctx, logout())
	}
	t.Logf("axe-core checked %d pages", checked)
	if len(found) > 0 {
		t.Fatalf("%d accessibility violations:\n%s", len(found), strings.Join(found, "\n"))
	}
}
