package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// scope asks for the application permissions the tenant's admin consented
// to for Graph.
const scope = "https://graph.microsoft.com/.default"

// tokenSource asks the tenant's token endpoint for a token, reading the
// secret each time it must. oauth2.ReuseTokenSource in front of it caches
// the token until it expires and asks for one token at a time.
type tokenSource struct{ cfg Config }

func (s tokenSource) Token() (*oauth2.Token, error) {
	cfg := s.cfg
	if cfg.Secret == nil {
		return nil, fmt.Errorf("graph: no client secret for client %s in tenant %s", cfg.ClientID, cfg.TenantID)
	}
	secret, err := cfg.Secret()
	if err != nil {
		return nil, fmt.Errorf("graph: the client secret for client %s in tenant %s: %w", cfg.ClientID, cfg.TenantID, err)
	}
	cc := clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: secret,
		TokenURL:     strings.TrimRight(cfg.LoginURL, "/") + tokenPath(cfg.TenantID),
		Scopes:       []string{scope},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	// Not the caller's context: ReuseTokenSource has none to give, and the
	// token serves every caller. RequestTimeout bounds the wait instead.
	ctx, cancel := context.WithTimeout(context.Background(), RequestTimeout)
	defer cancel()
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, cfg.HTTPClient))
	if err != nil {
		return nil, tokenError(cfg, secret, err)
	}
	return tok, nil
}

func tokenPath(tenantID string) string { return "/" + url.PathEscape(tenantID) + "/oauth2/v2.0/token" }

// tokenError reports a failed token request as *Error with what Entra said
// (its error code and description, e.g. AADSTS7000215 for a wrong secret),
// naming the client and tenant. The oauth2 library's own error text, which
// may quote the whole answer, is not used; the secret is blanked out of
// what is, should an endpoint ever echo it.
func tokenError(cfg Config, secret string, err error) error {
	e := &Error{Method: http.MethodPost, Path: tokenPath(cfg.TenantID), Token: true}
	var msg string
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		e.Status, e.Code = re.Response.StatusCode, re.ErrorCode
		e.RetryAfter = retryAfter(re.Response.Header)
		msg = re.ErrorDescription
		if msg == "" {
			msg = http.StatusText(e.Status)
		}
	} else if ue, ok := errors.AsType[*url.Error](err); ok {
		e.err, e.network = ue.Err, true
		msg = ue.Err.Error()
	} else {
		msg = err.Error()
	}
	// Entra's descriptions go on with lines of trace and correlation IDs,
	// which support asks for: kept, on one line.
	msg = strings.Join(strings.Fields(msg), " ")
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "[secret]")
	}
	e.Message = fmt.Sprintf("no token for client %s in tenant %s: %s", cfg.ClientID, cfg.TenantID, msg)
	return e
}
