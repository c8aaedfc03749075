package devoidc_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/devoidc"
	"github.com/partneraccess/partneraccess/internal/sso"
	"github.com/partneraccess/partneraccess/internal/store"
)

func TestDevProviderRefusesToListenBeyondLoopback(t *testing.T) {
	err := devoidc.Run(context.Background(), "0.0.0.0:9400", &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "loopback only") {
		t.Fatalf("listening on all addresses: %v", err)
	}
}

// The dev provider signs in the person the login page named, after a
// click, through the same client the service uses.
func TestDevProviderSignsInThePersonNamedAfterAClick(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- devoidc.Run(ctx, "127.0.0.1:0", w); w.Close() }()
	t.Cleanup(func() { cancel(); <-done })
	var issuer string
	lines := bufio.NewScanner(r)
	for issuer == "" && lines.Scan() {
		if m := regexp.MustCompile(`issuer: +(\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			issuer = m[1]
		}
	}
	go io.Copy(io.Discard, r)
	if issuer == "" {
		t.Fatal("no issuer printed")
	}
	c := &sso.Client{RedirectURL: "http://127.0.0.1:1/sso/callback", Secret: func(store.SSOProvider) (string, error) { return devoidc.ClientSecret, nil }}
	p := store.SSOProvider{Issuer: issuer, ClientID: devoidc.ClientID}
	req, err := c.Begin(ctx, p, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	page.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(page.String(), `value="ada@example.com"`) {
		t.Fatalf("consent page: %d\n%s", resp.StatusCode, page.String())
	}
	u, _ := url.Parse(req.URL)
	q := u.Query()
	q.Set("confirm", "1")
	q.Set("as", "ada@example.com")
	u.RawQuery = q.Encode()
	resp, err = noRedirect.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("state") != req.State || loc.Query().Get("code") == "" {
		t.Fatalf("after the click: %d %v %v", resp.StatusCode, loc, err)
	}
	id, err := c.Finish(ctx, p, loc.Query().Get("code"), req.Verifier, sso.HashNonce(req.Nonce))
	if err != nil || id.Email != "ada@example.com" || !strings.HasPrefix(id.Subject, "dev-") || id.Issuer != issuer {
		t.Fatalf("identity %+v, %v", id, err)
	}
}
