package sso_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/partneraccess/partneraccess/internal/sso"
	"github.com/partneraccess/partneraccess/internal/store"
)

func TestIssuersMustBeHTTPSAndEntrasTenantSpecific(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://login.microsoftonline.com/6f1c0000-0000-0000-0000-000000000001/v2.0": "",
		"https://idp.example.com/realms/partners":                                     "",
		"http://127.0.0.1:9400/oidc":                                                  "",
		"http://idp.example.com":                                                      "must use https",
		"https://login.microsoftonline.com/common/v2.0":                               "not tenant-specific",
		"https://login.microsoftonline.com/organizations/v2.0":                        "not tenant-specific",
		"https://login.microsoftonline.com/consumers/v2.0":                            "not tenant-specific",
		"https://login.microsoftonline.com":                                           "not tenant-specific",
		"https://idp.example.com/?tenant=x":                                           "query",
		"ftp://idp.example.com":                                                       "not an https URL",
		"":                                                                            "not an https URL",
	} {
		err := sso.CheckIssuer(issuer, "")
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckIssuer(%q) = %v, want %q", issuer, err, want)
		}
	}
}

// signIn runs Begin and Finish against m for the queued user, as a browser
// would in between.
func signIn(t *testing.T, c *sso.Client, m *mockoidc.MockOIDC, user mockoidc.User) (sso.Identity, error) {
	t.Helper()
	ctx := context.Background()
	p := store.SSOProvider{Issuer: m.Issuer(), ClientID: m.ClientID}
	req, err := c.Begin(ctx, p, "")
	if err != nil {
		t.Fatal(err)
	}
	m.QueueUser(user)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return c.Finish(ctx, p, loc.Query().Get("code"), req.Verifier, sso.HashNonce(req.Nonce))
}

// preferred_username names the user only for an Entra ID issuer: other
// providers let people choose it.
func TestPreferredUsernameCountsOnlyForEntra(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	secret := func(store.SSOProvider) (string, error) { return m.ClientSecret, nil }
	user := &mockoidc.MockUser{Subject: "s1", PreferredUsername: "ada@contoso.example"}

	generic := &sso.Client{RedirectURL: "http://127.0.0.1:1/sso/callback", Secret: secret}
	if _, err := signIn(t, generic, m, user); err == nil || !strings.Contains(err.Error(), "no email") {
		t.Fatalf("a generic provider's preferred_username was taken as the email: %v", err)
	}
	entra := &sso.Client{RedirectURL: "http://127.0.0.1:1/sso/callback", Secret: secret,
		EntraLoginURL: strings.TrimSuffix(m.Issuer(), "/oidc")}
	id, err := signIn(t, entra, m, user)
	if err != nil || id.Email != "ada@contoso.example" || id.Subject != "s1" {
		t.Fatalf("Entra's preferred_username: %+v %v", id, err)
	}
	// A verified email wins over it.
	id, err = signIn(t, entra, m, &mockoidc.MockUser{Subject: "s2", Email: "bob@contoso.example", EmailVerified: true, PreferredUsername: "other@contoso.example"})
	if err != nil || id.Email != "bob@contoso.example" {
		t.Fatalf("verified email: %+v %v", id, err)
	}
}

func TestAProviderThatCannotBeReachedIsNamed(t *testing.T) {
	c := &sso.Client{RedirectURL: "http://127.0.0.1:1/sso/callback"}
	err := c.Discover(context.Background(), "http://127.0.0.1:9/nothing")
	if err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:9/nothing cannot be reached") {
		t.Fatalf("Discover: %v", err)
	}
}
