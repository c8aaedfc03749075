package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Issuer is who signs the Bot Framework's tokens to a bot.
const Issuer = "https://api.botframework.com"

// DefaultOpenIDURL is the Bot Framework's OpenID metadata, whose jwks_uri
// names the keys its tokens are signed with.
const DefaultOpenIDURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"

// maxSkew is how far the clocks of the Bot Framework and this service may
// differ on a token's expiry and start.
const maxSkew = 5 * time.Minute

// metadataTTL is how long the OpenID metadata is kept before it is read
// again; the keys themselves are cached by go-oidc, and read again when a
// token names a key not seen yet (the Bot Framework rolls its keys).
const metadataTTL = 24 * time.Hour

// verifier checks the Bot Framework JWT on every activity.
type verifier struct {
	appID     string
	openIDURL string
	client    *http.Client
	now       func() time.Time

	mu      sync.Mutex
	checker *oidc.IDTokenVerifier
	read    time.Time
}

// claims are what is checked beyond the signature, issuer and audience.
type claims struct {
	Expiry     int64  `json:"exp"`
	NotBefore  int64  `json:"nbf"`
	ServiceURL string `json:"serviceurl"`
}

// errUnauthorized is any token that does not prove the Bot Framework sent
// the activity; its text says why, for the audit log (never the token).
type errUnauthorized struct{ why string }

func (e errUnauthorized) Error() string { return e.why }

// verify checks the Authorization header of an activity that names
// serviceURL: a JWT signed by a key of the metadata, issued by the Bot
// Framework to this bot, in date (≤ 5 min of skew), for that service URL.
func (v *verifier) verify(ctx context.Context, header, serviceURL string) error {
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || raw == "" {
		return errUnauthorized{"no bearer token"}
	}
	checker, err := v.oidc(ctx)
	if err != nil {
		return err
	}
	tok, err := checker.Verify(ctx, raw)
	if err != nil {
		return errUnauthorized{"the token does not verify: " + err.Error()}
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return errUnauthorized{"the token's claims cannot be read"}
	}
	now := v.now()
	switch {
	case c.Expiry == 0 || now.After(time.Unix(c.Expiry, 0).Add(maxSkew)):
		return errUnauthorized{"the token has expired"}
	case c.NotBefore != 0 && now.Add(maxSkew).Before(time.Unix(c.NotBefore, 0)):
		return errUnauthorized{"the token is not valid yet"}
	case c.ServiceURL == "" || !sameURL(c.ServiceURL, serviceURL):
		return errUnauthorized{"the token's serviceurl is not the activity's"}
	}
	return nil
}

func sameURL(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// oidc is the token checker over the metadata's keys, read again once a
// day.
func (v *verifier) oidc(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.checker != nil && v.now().Sub(v.read) < metadataTTL {
		return v.checker, nil
	}
	var meta struct {
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.openIDURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the Bot Framework's OpenID metadata: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read the Bot Framework's OpenID metadata: %s", res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&meta); err != nil || meta.JWKSURI == "" {
		return nil, errors.New("the Bot Framework's OpenID metadata names no jwks_uri")
	}
	// The key set outlives this request: it fetches the keys again when a
	// token names a new one.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), v.client), meta.JWKSURI)
	algs := meta.Algs
	if len(algs) == 0 {
		algs = []string{oidc.RS256}
	}
	v.checker = oidc.NewVerifier(Issuer, keys, &oidc.Config{ClientID: v.appID, SupportedSigningAlgs: algs,
		SkipExpiryCheck: true}) // checked with the Bot Framework's skew above
	v.read = v.now()
	return v.checker, nil
}
