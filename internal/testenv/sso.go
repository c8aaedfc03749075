package testenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/partneraccess/partneraccess/internal/store"
)

// OIDC is an organization's own OpenID Connect provider, in process on
// loopback: the tests' stand-in for its Entra ID or other provider.
type OIDC struct {
	*mockoidc.MockOIDC
	// Provider is the organization's provider as the store holds it.
	Provider store.SSOProvider

	mu     sync.Mutex
	tamper func(jwt.MapClaims) *mockoidc.Keypair
}

// SSOSecretPrefix starts every sign-in client secret the tests make: none
// may be found in a log, the store or a history.
const SSOSecretPrefix = "sso-secret-"

// UseOIDC starts a provider for the organization kind/id and makes every
// address of its domains sign in there; its client secret is read from a
// file, as the directory file would name it. local is
// store.LocalPasswordsAllowed or store.LocalPasswordsDisabled.
func (e *Env) UseOIDC(kind, orgID, local string, domains ...string) *OIDC {
	e.T.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		e.T.Fatal(err)
	}
	o := &OIDC{MockOIDC: m}
	m.AddMiddleware(o.tamperTokens)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.T.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { m.Shutdown() })
	m.ClientSecret = SSOSecretPrefix + m.ClientSecret
	file := filepath.Join(e.T.TempDir(), "sso-"+orgID+".secret")
	if err := os.WriteFile(file, []byte(m.ClientSecret+"\n"), 0o600); err != nil {
		e.T.Fatal(err)
	}
	p := store.SSOProvider{Issuer: m.Issuer(), ClientID: m.ClientID, SecretFile: file, LocalPasswords: local, Domains: domains}
	if err := e.Store.SetSSOProvider(context.Background(), kind, orgID, &p); err != nil {
		e.T.Fatal(err)
	}
	p.OrgKind, p.OrgID = kind, orgID
	o.Provider = p
	return o
}

// Tamper changes the ID tokens the provider issues from now on: f edits
// their claims and returns the key to sign them with (nil: the
// provider's own). nil f issues them as they are.
func (o *OIDC) Tamper(f func(jwt.MapClaims) *mockoidc.Keypair) {
	o.mu.Lock()
	o.tamper = f
	o.mu.Unlock()
}

func (o *OIDC) tamperTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		f := o.tamper
		o.mu.Unlock()
		if f == nil || !strings.HasSuffix(r.URL.Path, mockoidc.TokenEndpoint) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &body) == nil {
			if raw, ok := body["id_token"].(string); ok {
				body["id_token"] = o.resign(raw, f)
			}
			b, _ := json.Marshal(body)
			rec.Body = bytes.NewBuffer(b)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

func (o *OIDC) resign(raw string, f func(jwt.MapClaims) *mockoidc.Keypair) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return raw
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	claims := jwt.MapClaims{}
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return raw
	}
	key := f(claims)
	if key == nil {
		key = o.Keypair
	}
	signed, err := key.SignJWT(claims)
	if err != nil {
		return raw
	}
	return signed
}

var continueSSO = regexp.MustCompile(`<a href="([^"]+)" id="continue-sso">`)

// SSORedirect is where the page of /sso/start moves on to: the
// organization's provider; false when the page is not that one.
func SSORedirect(page string) (string, bool) {
	m := continueSSO.FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// Browser is an HTTP client with cookies that follows redirects, across
// the service and the providers, as a browser does.
func Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}
