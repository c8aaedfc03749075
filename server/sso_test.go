package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// Sign-in through an organization's own provider, end to end: the real
// handler, go-oidc and x/oauth2 against an in-process OpenID Connect
// provider (mockoidc) on loopback.

// toAnswer starts a sign-in for email in browser b and follows it to the
// provider, which answers for user; it returns the URL of that answer (the
// service's callback), not yet followed.
func toAnswer(t *testing.T, e *testenv.Env, b *http.Client, p *testenv.OIDC, email string, user mockoidc.User) *url.URL {
	t.Helper()
	if user != nil {
		p.QueueUser(user)
	}
	c := *b
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/sso/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	code, _, page := follow(t, &c, e.HTTP.URL+"/sso/start?email="+url.QueryEscape(email)+"&next="+url.QueryEscape("/requests"))
	to, ok := testenv.SSORedirect(page)
	if code != http.StatusOK || !ok || !strings.HasPrefix(to, p.Issuer()) {
		t.Fatalf("sign-in of %s: %d, not on to the provider:\n%s", email, code, page)
	}
	resp, err := c.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || loc.Path != "/sso/callback" {
		t.Fatalf("sign-in of %s did not come back from the provider: %d %v %v", email, resp.StatusCode, loc, err)
	}
	return loc
}

// follow gets u in browser b, following redirects: the final status and page.
func follow(t *testing.T, b *http.Client, u string) (int, string, string) {
	t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(body)
}

// me is who browser b is logged in as: 401 when nobody.
func me(t *testing.T, e *testenv.Env, b *http.Client) (int, map[string]any) {
	t.Helper()
	resp, err := b.Get(e.HTTP.URL + "/api/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// saysWhatToDo: a refusal's page tells the person what to do next.
func saysWhatToDo(page string) bool {
	return strings.Contains(page, "Start again from the login page") || strings.Contains(page, "Ask an administrator")
}

func verified(sub, email string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: sub, Email: email, EmailVerified: true}
}

func audited(t *testing.T, e *testenv.Env, userID string, action domain.Action) int {
	t.Helper()
	var n int
	for _, a := range auditOf(t, e, userID) {
		if a.Action == action {
			n++
		}
	}
	return n
}

func auditOf(t *testing.T, e *testenv.Env, actorID string) []store.AuditEntry {
	t.Helper()
	rows, err := e.Store.AuditLog(context.Background(), store.AuditFilter{ActorID: actorID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestSSOInvitedAdministratorSignsInThroughItsProviderAndActsAsAdministrator(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	p := e.UseOIDC(store.KindCustomer, demo.Contoso, store.LocalPasswordsAllowed, "contoso.example")
	admin := e.Login("admin@contoso.example")
	dana := invite(t, admin, "/api/v1/customers/"+demo.Contoso+"/users", "dana@contoso.example", "Dana Admin", store.RoleCustomerAdmin)
	id := dana["id"].(string)

	// First sign-in: the invited administrator becomes active, bound to
	// the provider's subject, and lands where the login page meant.
	b := testenv.Browser()
	code, path, page := follow(t, b, toAnswer(t, e, b, p, "dana@contoso.example", verified("dana-sub", "dana@contoso.example")).String())
	if code != http.StatusOK || path != "/requests" {
		t.Fatalf("first sign-in: %d at %s\n%s", code, path, page)
	}
	if !strings.Contains(page, "signed in through your organization") {
		t.Fatalf("the page does not say how Dana signed in:\n%s", page)
	}
	if s := userStatus(t, e, id); s != store.StatusActive {
		t.Fatalf("after the first sign-in Dana is %s", s)
	}
	code, v := me(t, e, b)
	si, _ := v["signed_in"].(map[string]any)
	if code != http.StatusOK || v["id"] != id || si["method"] != "sso" || si["issuer"] != p.Issuer() {
		t.Fatalf("me: %d %v", code, v)
	}
	for _, action := range []domain.Action{domain.ActionSSOBound, domain.ActionUserRegistered, domain.ActionSSOSignedIn} {
		if audited(t, e, id, action) != 1 {
			t.Fatalf("%s audited %d times: %+v", action, audited(t, e, id, action), auditOf(t, e, id))
		}
	}
	// She acts as an administrator: she invites, through her session.
	resp := do(t, b, "POST", e.HTTP.URL+"/api/v1/customers/"+demo.Contoso+"/users",
		`{"email":"erin@contoso.example","name":"Erin","roles":["`+store.RoleCustomerOps+`"]}`)
	if resp != http.StatusCreated {
		t.Fatalf("Dana invites: %d", resp)
	}

	// The session's token works as a bearer token, as after a password
	// login, and logging out ends it.
	var token string
	for _, ck := range b.Jar.Cookies(mustURL(t, e.HTTP.URL)) {
		if ck.Name == "pa_session" {
			token = ck.Value
		}
	}
	req, _ := http.NewRequest("GET", e.HTTP.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if code, body := e.Anonymous().Send(req); code != http.StatusOK || !strings.Contains(string(body), id) {
		t.Fatalf("the SSO session as a bearer token: %d %s", code, body)
	}
	req, _ = http.NewRequest("POST", e.HTTP.URL+"/logout", nil)
	req.Header.Set("Origin", e.HTTP.URL)
	if resp, err := b.Do(req); err != nil || resp.StatusCode >= 400 {
		t.Fatalf("logout: %v %v", resp, err)
	}
	if code, _ := me(t, e, b); code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", code)
	}

	// A second sign-in, same subject: a session, no new binding.
	b2 := testenv.Browser()
	if code, path, page := follow(t, b2, toAnswer(t, e, b2, p, "dana@contoso.example", verified("dana-sub", "dana@contoso.example")).String()); code != http.StatusOK || path != "/requests" {
		t.Fatalf("second sign-in: %d at %s\n%s", code, path, page)
	}
	if audited(t, e, id, "sso.bound") != 1 || audited(t, e, id, "sso.signed_in") != 2 {
		t.Fatalf("second sign-in audit: %+v", auditOf(t, e, id))
	}

	// Another subject for the bound email is refused, with no session.
	b3 := testenv.Browser()
	code, _, page = follow(t, b3, toAnswer(t, e, b3, p, "dana@contoso.example", verified("someone-else", "dana@contoso.example")).String())
	if code != http.StatusForbidden || !strings.Contains(page, "bound to another identity") {
		t.Fatalf("another subject: %d\n%s", code, page)
	}
	if code, _ := me(t, e, b3); code != http.StatusUnauthorized {
		t.Fatalf("another subject left a session: %d", code)
	}
	if audited(t, e, id, "sso.refused") != 1 {
		t.Fatalf("the refusal is not audited: %+v", auditOf(t, e, id))
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// do sends a JSON request with browser b's cookies, as the page's script
// would (same origin).
func do(t *testing.T, b *http.Client, method, u, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if o, err := url.Parse(u); err == nil {
		req.Header.Set("Origin", o.Scheme+"://"+o.Host)
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSSOForgedOrMismatchedAnswersLeaveTheBrowserWithoutASession(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	p := e.UseOIDC(store.KindCustomer, demo.Contoso, store.LocalPasswordsAllowed, "contoso.example")
	const email = "ops@contoso.example"
	ops := func() mockoidc.User { return verified("ops-sub", email) }
	foreign, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	claim := func(k string, v any) func(jwt.MapClaims) *mockoidc.Keypair {
		return func(c jwt.MapClaims) *mockoidc.Keypair { c[k] = v; return nil }
	}
	cases := []struct {
		name   string
		tamper func(jwt.MapClaims) *mockoidc.Keypair
		user   mockoidc.User
		answer func(t *testing.T, b *http.Client, cb *url.URL) (*http.Client, string)
		status int
		says   string
	}{
		{name: "forged state", answer: func(t *testing.T, b *http.Client, cb *url.URL) (*http.Client, string) {
			q := cb.Query()
			q.Set("state", "forged-"+q.Get("state")[7:])
			cb.RawQuery = q.Encode()
			return b, cb.String()
		}, status: http.StatusBadRequest, says: "not one this browser started"},
		{name: "answer taken to another browser", answer: func(t *testing.T, b *http.Client, cb *url.URL) (*http.Client, string) {
			return testenv.Browser(), cb.String()
		}, status: http.StatusBadRequest, says: "another browser"},
		{name: "provider refused", answer: func(t *testing.T, b *http.Client, cb *url.URL) (*http.Client, string) {
			q := cb.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "the user declined")
			cb.RawQuery = q.Encode()
			return b, cb.String()
		}, status: http.StatusForbidden, says: "access_denied: the user declined"},
		{name: "wrong audience", tamper: claim("aud", "another-app"), status: http.StatusForbidden, says: "not valid"},
		{name: "wrong issuer", tamper: claim("iss", "http://127.0.0.1:9/other"), status: http.StatusForbidden, says: "not valid"},
		{name: "expired", tamper: claim("exp", time.Now().Add(-time.Hour).Unix()), status: http.StatusForbidden, says: "expired"},
		{name: "wrong nonce", tamper: claim("nonce", "not-this-sign-in"), status: http.StatusForbidden, says: "nonce"},
		{name: "no nonce", tamper: func(c jwt.MapClaims) *mockoidc.Keypair { delete(c, "nonce"); return nil }, status: http.StatusForbidden, says: "nonce"},
		{name: "signed by another key", tamper: func(jwt.MapClaims) *mockoidc.Keypair { return foreign }, status: http.StatusForbidden, says: "not valid"},
		{name: "email not verified", user: &mockoidc.MockUser{Subject: "ops-sub", Email: email}, status: http.StatusForbidden, says: "no email"},
		{name: "unknown email", user: verified("u-sub", "nobody@contoso.example"), status: http.StatusForbidden, says: "has no account here"},
		{name: "another organization's user", user: verified("agent-sub", "agent@partner.example"), status: http.StatusForbidden, says: "belongs to Northwind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.Tamper(tc.tamper)
			defer p.Tamper(nil)
			user := tc.user
			if user == nil {
				user = ops()
			}
			b := testenv.Browser()
			cb := toAnswer(t, e, b, p, email, user)
			target, u := b, cb.String()
			if tc.answer != nil {
				target, u = tc.answer(t, b, cb)
			}
			code, _, page := follow(t, target, u)
			if code != tc.status || !strings.Contains(page, tc.says) || !saysWhatToDo(page) {
				t.Fatalf("%d, want %d saying %q:\n%s", code, tc.status, tc.says, page)
			}
			for _, br := range []*http.Client{b, target} {
				if code, _ := me(t, e, br); code != http.StatusUnauthorized {
					t.Fatalf("a browser has a session after %s: %d", tc.name, code)
				}
			}
		})
	}
	if u, err := e.Store.UserByEmail(context.Background(), email); err != nil || u.Status != store.StatusActive {
		t.Fatalf("ops: %v %+v", err, u)
	}
	if n := audited(t, e, "anonymous", "sso.refused") + audited(t, e, demo.Agent, "sso.refused"); n < 10 {
		t.Fatalf("%d refusals audited, want every one", n)
	}

	// A good answer, replayed in another browser with the cookie copied:
	// it worked once.
	b := testenv.Browser()
	cb := toAnswer(t, e, b, p, email, ops())
	cookie := b.Jar.Cookies(cb)
	if code, _, page := follow(t, b, cb.String()); code != http.StatusOK {
		t.Fatalf("good sign-in: %d\n%s", code, page)
	}
	thief := testenv.Browser()
	thief.Jar.SetCookies(cb, cookie)
	if code, _, page := follow(t, thief, cb.String()); code != http.StatusBadRequest || !strings.Contains(page, "already used") {
		t.Fatalf("replayed answer: %d\n%s", code, page)
	}
	if code, _ := me(t, e, thief); code != http.StatusUnauthorized {
		t.Fatalf("the replay opened a session: %d", code)
	}
}

func TestSSORefusalsAreRateLimitedLikeFailedLogins(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.UseOIDC(store.KindCustomer, demo.Contoso, store.LocalPasswordsAllowed, "contoso.example")
	b := testenv.Browser()
	var last int
	for i := 0; i < 25 && last != http.StatusTooManyRequests; i++ {
		last, _, _ = follow(t, b, e.HTTP.URL+"/sso/callback?state=forged&code=x")
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("25 forged answers from one address: the last got %d, not 429", last)
	}
}

// opsSignedIn is an environment where Contoso signs in through its
// provider, and a browser where its operations agent did.
func opsSignedIn(t *testing.T) (*testenv.Env, *testenv.OIDC, *http.Client) {
	t.Helper()
	e := testenv.New(t, testenv.Options{})
	p := e.UseOIDC(store.KindCustomer, demo.Contoso, store.LocalPasswordsAllowed, "contoso.example")
	b := testenv.Browser()
	if code, _, page := follow(t, b, toAnswer(t, e, b, p, "ops@contoso.example", verified("ops-sub", "ops@contoso.example")).String()); code != http.StatusOK {
		t.Fatalf("sign-in: %d\n%s", code, page)
	}
	return e, p, b
}

func TestSSOSuspendedUserIsRefusedAndItsEarlierSessionIsDead(t *testing.T) {
	e, p, b := opsSignedIn(t)
	admin := e.Login("admin@contoso.example")
	if code, body := admin.Do("PATCH", "/api/v1/users/"+demo.ContosoOps, map[string]any{"status": store.StatusSuspended}); code != http.StatusOK {
		t.Fatalf("suspend: %d %s", code, body)
	}
	if code, _ := me(t, e, b); code != http.StatusUnauthorized {
		t.Fatalf("the suspended user's SSO session still works: %d", code)
	}
	b2 := testenv.Browser()
	code, _, page := follow(t, b2, toAnswer(t, e, b2, p, "ops@contoso.example", verified("ops-sub", "ops@contoso.example")).String())
	if code != http.StatusForbidden || !strings.Contains(page, "suspended") {
		t.Fatalf("suspended sign-in: %d\n%s", code, page)
	}
	if code, _ := me(t, e, b2); code != http.StatusUnauthorized {
		t.Fatalf("a suspended user signed in: %d", code)
	}
}

func TestSSOOnlyOrganizationRefusesPasswordsButNotTheResetRequest(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	// Links made while Northwind still used passwords.
	admin := e.Login("admin@partner.example")
	if code, body := admin.Do("POST", "/api/v1/users/"+demo.Invited+"/invitation", nil); code != http.StatusAccepted {
		t.Fatalf("resend invitation: %d %s", code, body)
	}
	invitation := e.UserLink(domain.EmailInvitation, "invited@partner.example", "/register/")
	anon := e.Anonymous()
	if code, _ := anon.Do("POST", "/api/v1/password-reset", map[string]string{"email": "solo@partner.example"}); code != http.StatusAccepted {
		t.Fatalf("reset request: %d", code)
	}
	reset := e.UserLink(domain.EmailPasswordReset, "solo@partner.example", "/reset/")

	p := e.UseOIDC(store.KindPartner, demo.Northwind, store.LocalPasswordsDisabled, "partner.example")

	refusedSSO := func(what string, code int, body []byte) {
		t.Helper()
		var pr map[string]any
		json.Unmarshal(body, &pr)
		if code != http.StatusUnprocessableEntity || pr["rule"] != "R2" || !strings.Contains(pr["detail"].(string), "identity provider (SSO)") {
			t.Fatalf("%s: %d %s", what, code, body)
		}
	}
	code, body := anon.Do("POST", "/api/v1/session", map[string]string{"email": "agent@partner.example", "password": demo.Password})
	refusedSSO("API login", code, body)
	code, body = anon.Do("POST", "/api/v1/session", map[string]string{"email": "agent@partner.example", "password": "wrong"})
	refusedSSO("API login, wrong password", code, body)
	code, body = anon.Do("POST", "/api/v1/registrations", map[string]string{"token": strings.TrimPrefix(invitation, "/register/"), "password": newPassword})
	refusedSSO("registration by password", code, body)
	code, body = anon.Do("POST", "/api/v1/password-reset/complete", map[string]string{"token": strings.TrimPrefix(reset, "/reset/"), "password": newPassword})
	refusedSSO("password reset", code, body)
	if code, page, _ := anon.Form("/login", map[string]string{"email": "agent@partner.example", "password": demo.Password}); code != http.StatusUnprocessableEntity || !strings.Contains(string(page), "identity provider") {
		t.Fatalf("page login: %d", code)
	}
	if s := userStatus(t, e, demo.Invited); s != store.StatusInvited {
		t.Fatalf("the refused registration changed the user: %s", s)
	}
	// The links' pages offer the provider, and no password to choose.
	for _, link := range []string{invitation, reset} {
		code, page := anon.Page(link)
		if code != http.StatusOK || !strings.Contains(page, `id="sign-in-sso"`) || strings.Contains(page, `id="password"`) {
			t.Fatalf("%s: %d\n%s", link, code, page)
		}
	}

	// The reset request still answers 202, and sends no link.
	before := len(e.Mail("", domain.EmailPasswordReset, "solo@partner.example"))
	if code, _ := anon.Do("POST", "/api/v1/password-reset", map[string]string{"email": "solo@partner.example"}); code != http.StatusAccepted {
		t.Fatalf("reset request: %d", code)
	}
	e.Eventually(5*time.Second, "the refused reset is audited", func() bool { return audited(t, e, demo.Solo, "password_reset.refused") == 1 })
	if after := len(e.Mail("", domain.EmailPasswordReset, "solo@partner.example")); after != before {
		t.Fatalf("a reset link was sent to an SSO-only user: %d emails, was %d", after, before)
	}

	// The login page's email goes to Northwind's provider; others' to
	// the password step.
	b := testenv.Browser()
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for email, to := range map[string]string{"admin@contoso.example": e.HTTP.URL + "/login?email=", "ghost@nowhere.example": e.HTTP.URL + "/login?email="} {
		resp, err := b.Get(e.HTTP.URL + "/sso/start?email=" + url.QueryEscape(email))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := resp.Location()
		if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.String(), to) {
			t.Fatalf("%s goes to %v (%d), want %s…", email, loc, resp.StatusCode, to)
		}
	}
	code, _, page := follow(t, b, e.HTTP.URL+"/sso/start?email=agent%40partner.example")
	if to, ok := testenv.SSORedirect(page); code != http.StatusOK || !ok || !strings.HasPrefix(to, p.Issuer()) || !strings.Contains(page, "Northwind Partners signs you in") {
		t.Fatalf("a Northwind email is not sent on to its provider: %d\n%s", code, page)
	}
	// Contoso keeps its passwords.
	if _, code, body := e.LoginWith("admin@contoso.example", demo.Password); code != http.StatusCreated {
		t.Fatalf("Contoso password login: %d %s", code, body)
	}
}

func TestSSOClientSecretIsInNeitherTheStoreNorTheAudit(t *testing.T) {
	e, p, _ := opsSignedIn(t)
	e.Store.Close()
	files, _ := filepath.Glob(filepath.Join(e.DataDir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if strings.Contains(string(b), p.ClientSecret) || strings.Contains(string(b), testenv.SSOSecretPrefix) {
			t.Fatalf("%s holds the sign-in client secret", f)
		}
	}
	if len(files) == 0 {
		t.Fatal("no store files to look in")
	}
}

// The login page's email step says nothing about who has an account: every
// address of a domain with SSO is handed to its organization's provider
// alike, known or not (the provider's answer is checked against the
// accounts), and an address of another domain gets the password step,
// known or not.
func TestSSOStartAnswersEveryAddressOfADomainAlike(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	p := e.UseOIDC(store.KindCustomer, demo.Contoso, store.LocalPasswordsAllowed, "contoso.example")
	b := testenv.Browser()
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// start answers /sso/start for email, with what differs by the email
	// or by chance alone (the state, nonce and PKCE challenge, the
	// browser's cookie) put in words, and the provider's URL apart.
	start := func(email string) (status int, header http.Header, body string, to *url.URL) {
		t.Helper()
		resp, err := b.Get(e.HTTP.URL + "/sso/start?email=" + url.QueryEscape(email) + "&next=%2Frequests")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		body = strings.ReplaceAll(string(raw), url.QueryEscape(email), "EMAIL")
		header = resp.Header.Clone()
		header.Del("Date")
		header.Del("Content-Length") // of the body, compared below
		for i, c := range header["Set-Cookie"] {
			if name, rest, ok := strings.Cut(c, "="); ok {
				_, attrs, _ := strings.Cut(rest, ";")
				header["Set-Cookie"][i] = name + "=RANDOM;" + attrs
			}
		}
		if loc := header.Get("Location"); loc != "" {
			header.Set("Location", strings.ReplaceAll(loc, url.QueryEscape(email), "EMAIL"))
		}
		if redirect, ok := testenv.SSORedirect(string(raw)); ok {
			if to, err = url.Parse(redirect); err != nil {
				t.Fatal(err)
			}
			body = regexp.MustCompile(regexp.QuoteMeta(p.Issuer())+`[^"]*`).ReplaceAllString(body, "REDIRECT")
			q := to.Query()
			if q.Get("login_hint") != email {
				t.Errorf("the provider is told %q, not %q", q.Get("login_hint"), email)
			}
			for _, k := range []string{"state", "nonce", "code_challenge", "login_hint"} {
				q.Set(k, "PER-REQUEST")
			}
			to.RawQuery = q.Encode()
		}
		return resp.StatusCode, header, body, to
	}
	for _, tc := range []struct {
		name, known, unknown string
		status               int
		to                   string // the provider, or the password step
	}{
		{"a domain with SSO", "ops@contoso.example", "nobody@contoso.example", http.StatusOK, p.Issuer()},
		{"a domain with SSO, in another case", "OPS@Contoso.Example", "Nobody@CONTOSO.example", http.StatusOK, p.Issuer()},
		{"a domain without", "admin@fabrikam.example", "nobody@fabrikam.example", http.StatusSeeOther, "/login?email=EMAIL&next=%2Frequests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks, kh, kb, kto := start(tc.known)
			us, uh, ub, uto := start(tc.unknown)
			if ks != tc.status || us != ks {
				t.Fatalf("status: known %d, unknown %d, want %d", ks, us, tc.status)
			}
			if !reflect.DeepEqual(kh, uh) {
				t.Errorf("headers differ:\nknown   %v\nunknown %v", kh, uh)
			}
			if kb != ub {
				t.Errorf("pages differ:\nknown:\n%s\nunknown:\n%s", kb, ub)
			}
			if tc.status == http.StatusOK {
				if kto == nil || uto == nil || kto.String() != uto.String() || !strings.HasPrefix(kto.String(), tc.to) {
					t.Fatalf("handed over to %v and %v, want both to %s", kto, uto, tc.to)
				}
				if !strings.Contains(kb, "Contoso signs you in") {
					t.Errorf("the hand-over does not name the organization:\n%s", kb)
				}
			} else if kh.Get("Location") != tc.to {
				t.Fatalf("sent to %q, want %q", kh.Get("Location"), tc.to)
			}
		})
	}
	// The hand-over records a sign-in for an unknown address too; its
	// answer finds no account, and nothing is made.
	nobody := testenv.Browser()
	code, _, page := follow(t, nobody, toAnswer(t, e, nobody, p, "nobody@contoso.example", verified("nobody-sub", "nobody@contoso.example")).String())
	if code != http.StatusForbidden || !strings.Contains(page, "has no account here") {
		t.Fatalf("an unknown address's answer: %d\n%s", code, page)
	}
	if _, err := e.Store.UserByEmail(context.Background(), "nobody@contoso.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("signing in made an account: %v", err)
	}
}
