package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/partneraccess/partneraccess/docs"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// /docs/api is navigable: a table of contents, every operation collapsed
// under it, and a link that opens the operation it names.
func TestBrowserAPIReferenceIsShortAndOpensTheLinkedOperation(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	ctx := browser(t)
	ops, err := docs.Operations()
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(e.HTTP.URL+docs.APIReferencePath), chromedp.WaitVisible(`//nav[@aria-label="Operations"]`))
	shape, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollHeight,
		document.querySelectorAll('nav[aria-label="Operations"] a[href^="#"]').length,
		document.querySelectorAll('details').length,
		document.querySelectorAll('details[open]').length]`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("/docs/api: %d px tall, %d operations in the contents, %d collapsed", shape[0], shape[1], shape[2])
	if shape[1] != len(ops) || shape[2] != len(ops) || shape[3] != 0 {
		t.Fatalf("contents %d, operations %d (%d open), want %d each and none open", shape[1], shape[2], shape[3], len(ops))
	}
	if shape[0] > 6000 {
		t.Fatalf("/docs/api is %d px tall with every operation collapsed", shape[0])
	}
	// The last operation's link: its part is far down the page.
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('nav[aria-label="Operations"] a')].pop().hash.slice(1)`))
	if err != nil || id == "" {
		t.Fatalf("the contents' last link: %q %v", id, err)
	}
	run(t, ctx, chromedp.Click(`//nav[@aria-label="Operations"]//li[last()]/a`), chromedp.WaitVisible(`//details[@id="`+id+`"]//h3`))
	open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("`+id+`").open`))
	if err != nil || !open {
		t.Fatalf("following the contents' link to %s left it closed (%v)", id, err)
	}
	// A link from elsewhere to an operation opens it as the page loads.
	run(t, ctx, chromedp.Navigate(e.HTTP.URL+"/login"), chromedp.Navigate(e.HTTP.URL+docs.APIReferencePath+"#"+id), chromedp.WaitVisible(`//details[@id="`+id+`"]//h3`))
	if open, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('details[open]').length`)); err != nil || open != 1 {
		t.Fatalf("opened from elsewhere: %d parts open (%v), want the one linked", open, err)
	}
}
