// Package devoidc is an OpenID Connect provider for trying sign-in through
// an organization's provider on one machine (`partneraccess dev-oidc`). It
// is the tests' provider (github.com/oauth2-proxy/mockoidc) with a page in
// front: it signs in, after one click, whoever the login page names. It
// listens on loopback only, and must never stand for a real organization.
package devoidc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/oauth2-proxy/mockoidc"
)

// ClientID and ClientSecret are the dev provider's one client: this
// service. They are fixed, so a directory file naming them keeps working
// across runs; the provider signs anyone in, so they protect nothing.
const (
	ClientID     = "partner-access-dev"
	ClientSecret = "dev-oidc-secret"
	// SecretEnv is the variable the example directory file names.
	SecretEnv = "DEV_OIDC_SECRET"
	// DefaultAddr is where it listens unless told otherwise.
	DefaultAddr = "127.0.0.1:9400"
)

// Run serves the provider on addr (a loopback address) until ctx ends,
// and writes how to use it to out.
func Run(ctx context.Context, addr string, out io.Writer) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("dev-oidc: %q is not host:port: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("dev-oidc listens on loopback only (it signs in anyone who asks): %q is not a loopback address", addr)
	}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return err
	}
	m.ClientID, m.ClientSecret = ClientID, ClientSecret
	m.AddMiddleware(consent(m))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dev-oidc: %w", err)
	}
	if err := m.Start(ln, nil); err != nil {
		return err
	}
	fmt.Fprintf(out, `Dev OpenID Connect provider at %[1]s (loopback only; it signs in whoever the login page names: never for real use).
  issuer:        %[1]s
  client_id:     %[2]s
  client secret: %[3]s (give it to the service as %[4]s=%[3]s)
An organization signs in here with, in the directory file:
  sso: {issuer: %[1]s, client_id: %[2]s, client_secret_env: %[4]s}
docs/operations.md ("Trying sign-in on one machine") has the whole recipe.
`, m.Issuer(), ClientID, ClientSecret, SecretEnv)
	<-ctx.Done()
	if err := m.Shutdown(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// consent puts a page in front of the authorization endpoint: it names the
// person to sign in (the login page's email, sent as login_hint), and a
// click signs them in with a verified email and a subject made from it.
func consent(m *mockoidc.MockOIDC) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, mockoidc.AuthorizationEndpoint) {
				next.ServeHTTP(w, r)
				return
			}
			q := r.URL.Query()
			email := strings.TrimSpace(q.Get("login_hint"))
			if r.Method == http.MethodGet && q.Get("as") != "" {
				email = strings.TrimSpace(q.Get("as"))
			}
			if q.Get("confirm") != "1" || email == "" {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("Cache-Control", "no-store")
				page.Execute(w, map[string]any{"Email": email, "Query": q})
				return
			}
			sum := sha256.Sum256([]byte(strings.ToLower(email)))
			m.QueueUser(&mockoidc.MockUser{Subject: "dev-" + hex.EncodeToString(sum[:8]), Email: email, EmailVerified: true,
				PreferredUsername: email})
			next.ServeHTTP(w, r)
		})
	}
}

var page = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dev sign-in provider</title></head>
<body>
<main>
<h1>Dev sign-in provider</h1>
<p>This stand-in for an organization's identity provider signs in whoever is named here, without a password. It is for trying sign-in on this machine only.</p>
<form method="get">
{{range $k, $v := .Query}}{{if and (ne $k "confirm") (ne $k "as")}}{{range $v}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}{{end}}
<input type="hidden" name="confirm" value="1">
<label>Sign in as <input type="email" name="as" id="as" value="{{.Email}}" required></label>
<button type="submit" id="sign-in">Sign in</button>
</form>
</main>
</body></html>
`))
