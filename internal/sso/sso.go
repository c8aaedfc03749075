// Package sso signs users in through their organization's own OpenID
// Connect provider (Entra ID or any other): the authorization code flow
// with PKCE S256, and the ID token verified (signature from the provider's
// keys, issuer, audience, expiry, nonce) with github.com/coreos/go-oidc.
//
// It knows nothing of users: it turns an organization's provider into a
// redirect, and the provider's answer into an Identity. Matching that
// identity to a user is the service's.
package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// EntraLoginURL is Microsoft Entra ID's sign-in host in its public cloud.
const EntraLoginURL = "https://login.microsoftonline.com"

// discoveryTTL is how long a provider's discovery document is kept. Its
// signing keys are fetched again whenever a token names a key not seen.
const discoveryTTL = time.Hour

// Client talks to the organizations' providers.
type Client struct {
	// RedirectURL is where providers send the browser back:
	// $PUBLIC_URL/sso/callback.
	RedirectURL string
	// HTTPClient reaches the providers (nil: one with a 15 s timeout).
	HTTPClient *http.Client
	// Secret reads a provider's client secret (nil: ReadSecret).
	Secret func(store.SSOProvider) (string, error)
	// EntraLoginURL is Entra ID's sign-in host (empty: EntraLoginURL): an
	// issuer there is Entra's, whose preferred_username names the user.
	EntraLoginURL string

	mu        sync.Mutex
	providers map[string]cachedProvider
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

// Request is a sign-in sent to a provider: the browser goes to URL, and
// the rest is kept for the answer (only their hashes, or sealed).
type Request struct {
	URL      string
	State    string // echoed back by the provider
	Nonce    string // in the ID token
	Verifier string // PKCE: proves the answer's code was asked for here
}

// Identity is who the provider says signed in.
type Identity struct {
	Issuer  string
	Subject string
	// Email is the email the provider vouches for: the email claim when
	// email_verified is true, or Entra's preferred_username.
	Email string
}

// Refusal is a provider's answer that signs no one in. Reason is a short
// code for the audit log; the message says what went wrong.
type Refusal struct {
	Reason string
	msg    string
	err    error
}

func (r *Refusal) Error() string { return r.msg }
func (r *Refusal) Unwrap() error { return r.err }

func refuse(reason string, err error, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, msg: fmt.Sprintf(format, args...), err: err}
}

// Begin makes the redirect to the organization's provider; loginHint (an
// email) saves the person typing it again there.
func (c *Client) Begin(ctx context.Context, p store.SSOProvider, loginHint string) (Request, error) {
	op, err := c.provider(ctx, p.Issuer)
	if err != nil {
		return Request{}, err
	}
	if _, err := httpsURL(op.Endpoint().AuthURL); err != nil {
		return Request{}, fmt.Errorf("the sign-in provider %s names an unusable authorization endpoint: %w", p.Issuer, err)
	}
	r := Request{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(r.Nonce), oauth2.S256ChallengeOption(r.Verifier)}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	r.URL = c.config(p, op, "").AuthCodeURL(r.State, opts...)
	return r, nil
}

// Finish redeems the provider's code with the verifier of Begin, verifies
// the ID token (signature, issuer, audience, expiry) and that its nonce
// hashes to nonceHash, and says who signed in. A *Refusal for an answer
// that proves no one; other errors are the provider unreachable.
func (c *Client) Finish(ctx context.Context, p store.SSOProvider, code, verifier string, nonceHash []byte) (Identity, error) {
	op, err := c.provider(ctx, p.Issuer)
	if err != nil {
		return Identity{}, err
	}
	read := c.Secret
	if read == nil {
		read = ReadSecret
	}
	clientSecret, err := read(p)
	if err != nil {
		return Identity{}, err
	}
	tok, err := c.config(p, op, clientSecret).Exchange(c.context(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return Identity{}, refuse("code", nil, "the provider did not accept the sign-in's code (%s)", oauthError(re))
		}
		return Identity{}, fmt.Errorf("the provider's token endpoint: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, refuse("id_token", nil, "the provider's answer holds no ID token")
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: p.ClientID}).Verify(c.context(ctx), raw)
	if err != nil {
		return Identity{}, refuse("id_token", err, "the provider's ID token is not valid: %v", err)
	}
	if h := sha256.Sum256([]byte(idt.Nonce)); idt.Nonce == "" || subtle.ConstantTimeCompare(h[:], nonceHash) != 1 {
		return Identity{}, refuse("nonce", nil, "the provider's ID token was not made for this sign-in (its nonce differs)")
	}
	var claims struct {
		Email             string `json:"email"`
		EmailVerified     any    `json:"email_verified"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, refuse("id_token", err, "the provider's ID token cannot be read: %v", err)
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	switch {
	case claims.Email != "" && verified(claims.EmailVerified):
		id.Email = claims.Email
	case c.isEntra(idt.Issuer) && strings.Contains(claims.PreferredUsername, "@"):
		id.Email = claims.PreferredUsername
	default:
		return Identity{}, refuse("email", nil, "the provider vouched for no email address (no verified email claim)")
	}
	if id.Subject == "" {
		return Identity{}, refuse("id_token", nil, "the provider's ID token names no subject")
	}
	return id, nil
}

// Discover reads the issuer's discovery document, as Begin does: for
// checking a provider before it is used.
func (c *Client) Discover(ctx context.Context, issuer string) error {
	_, err := c.provider(ctx, issuer)
	return err
}

// HashNonce is what is kept of a nonce until the answer.
func HashNonce(nonce string) []byte {
	h := sha256.Sum256([]byte(nonce))
	return h[:]
}

func (c *Client) config(p store.SSOProvider, op *oidc.Provider, clientSecret string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: clientSecret, Endpoint: op.Endpoint(),
		RedirectURL: c.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

func (c *Client) context(ctx context.Context) context.Context {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return oidc.ClientContext(ctx, hc)
}

// provider is the issuer's discovered provider, kept for discoveryTTL.
// go-oidc checks that the document names the same issuer.
func (c *Client) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	c.mu.Lock()
	cp, ok := c.providers[issuer]
	c.mu.Unlock()
	if ok && time.Since(cp.fetched) < discoveryTTL {
		return cp.p, nil
	}
	dctx, cancel := context.WithTimeout(c.context(ctx), 15*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(dctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("the sign-in provider %s cannot be reached or is not an OpenID Connect provider: %w", issuer, err)
	}
	c.mu.Lock()
	if c.providers == nil {
		c.providers = map[string]cachedProvider{}
	}
	c.providers[issuer] = cachedProvider{p: op, fetched: time.Now()}
	c.mu.Unlock()
	return op, nil
}

func (c *Client) isEntra(issuer string) bool {
	base := c.EntraLoginURL
	if base == "" {
		base = EntraLoginURL
	}
	return strings.HasPrefix(issuer, strings.TrimRight(base, "/")+"/")
}

// CheckIssuer says what is wrong with an issuer for the directory file:
// it must be an https URL (http only on loopback, for tests and local
// providers), and Entra ID's must name the tenant, never a multi-tenant
// endpoint that anyone's account could sign in to.
func CheckIssuer(issuer, entraLoginURL string) error {
	u, err := httpsURL(issuer)
	if err != nil {
		return fmt.Errorf("issuer %w", err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("issuer %q has a query or fragment; an issuer has neither", issuer)
	}
	if entraLoginURL == "" {
		entraLoginURL = EntraLoginURL
	}
	c := Client{EntraLoginURL: entraLoginURL}
	if c.isEntra(issuer) || u.Hostname() == "login.microsoftonline.com" {
		tenant, _, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
		switch strings.ToLower(tenant) {
		case "", "common", "organizations", "consumers":
			return fmt.Errorf("issuer %q is not tenant-specific: use %s/<tenant-id>/v2.0, never /common, /organizations or /consumers", issuer, strings.TrimRight(entraLoginURL, "/"))
		}
	}
	return nil
}

// httpsURL parses an https URL (plain http only on a loopback address,
// for tests and local providers).
func httpsURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%q is not an https URL", raw)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("%q must use https (plain http only on a loopback address)", raw)
	}
	return u, nil
}

func loopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// ReadSecret reads a provider's client secret from the environment
// variable or file the directory file names.
func ReadSecret(p store.SSOProvider) (string, error) {
	return secret.ReadNamed(p.SecretEnv, p.SecretFile, "the sign-in client secret", "the server")
}

func verified(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string: // some providers send "true"
		return v == "true"
	}
	return false
}

func oauthError(re *oauth2.RetrieveError) string {
	if re.ErrorCode != "" {
		return re.ErrorCode
	}
	return re.Response.Status
}

// random is 256 bits, unpadded base64url.
func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
