// Package graph is a small Microsoft Graph v1.0 client: the few calls that
// give a partner user an account in a customer's Entra ID tenant and a
// membership of a security group, and take them away. Tokens come from the
// tenant's client-credentials grant and are cached until they expire. No
// call deletes a user: an account is disabled, and a membership is removed
// through its /$ref, never by deleting the member.
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Config is how to reach one tenant.
type Config struct {
	// LoginURL and GraphURL default to Microsoft's public cloud.
	LoginURL, GraphURL string
	TenantID, ClientID string
	// Secret returns the client secret when a token is needed. Its value
	// never appears in an error.
	Secret     func() (string, error)
	HTTPClient *http.Client
}

// RequestTimeout bounds one request when Config.HTTPClient is nil: a
// directory that does not answer is retried, not waited on.
const RequestTimeout = 30 * time.Second

// Client calls Graph for one tenant; it is safe for concurrent use.
type Client struct {
	base   string // $GraphURL/v1.0
	tokens oauth2.TokenSource
	http   *http.Client
	cfg    Config
}

// New returns a client; nothing is called until the first request.
func New(cfg Config) *Client {
	if cfg.LoginURL == "" {
		cfg.LoginURL = "https://login.microsoftonline.com"
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = "https://graph.microsoft.com"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: RequestTimeout}
	}
	c := &Client{base: strings.TrimRight(cfg.GraphURL, "/") + "/v1.0", http: cfg.HTTPClient, cfg: cfg}
	c.tokens = oauth2.ReuseTokenSource(nil, &tokenSource{c: c})
	return c
}

// tokenSource asks the tenant's token endpoint for a token, reading the
// secret each time it must (ReuseTokenSource caches the token).
type tokenSource struct{ c *Client }

func (s *tokenSource) Token() (*oauth2.Token, error) {
	cfg := s.c.cfg
	secret, err := cfg.Secret()
	if err != nil {
		return nil, err
	}
	cc := clientcredentials.Config{
		ClientID: cfg.ClientID, ClientSecret: secret,
		TokenURL:  strings.TrimRight(cfg.LoginURL, "/") + "/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token",
		Scopes:    []string{"https://graph.microsoft.com/.default"},
		AuthStyle: oauth2.AuthStyleInParams,
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, cfg.HTTPClient)
	tok, err := cc.Token(ctx)
	if err != nil {
		return nil, tokenError(cfg, secret, err)
	}
	return tok, nil
}

// tokenError reports a failed token request with what the endpoint said
// (its error code and description), never the secret.
func tokenError(cfg Config, secret string, err error) error {
	e := &Error{Method: http.MethodPost, Path: "/" + cfg.TenantID + "/oauth2/v2.0/token", Token: true}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e.Status, e.Code, e.Message = re.Response.StatusCode, re.ErrorCode, re.ErrorDescription
		if e.Message == "" {
			e.Message = http.StatusText(e.Status)
		}
		e.RetryAfter = retryAfter(re.Response.Header)
	} else {
		e.Message = err.Error()
	}
	if secret != "" {
		e.Message = strings.ReplaceAll(e.Message, secret, "[secret]")
	}
	e.Message = fmt.Sprintf("token for client %s in tenant %s: %s", cfg.ClientID, cfg.TenantID, e.Message)
	return e
}

// User is an account in the tenant.
type User struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	AccountEnabled    bool   `json:"accountEnabled"`
}

// NewUser is an account to make.
type NewUser struct {
	UPN, DisplayName, MailNickname string
	// Password is the temporary password; it must be changed at the first
	// sign-in.
	Password string
}

// Member is a member of a group.
type Member struct {
	ID  string `json:"id"`
	UPN string `json:"userPrincipalName"`
}

// UserByUPN finds an account by its sign-in name (or object ID);
// ErrNotFound when there is none.
func (c *Client) UserByUPN(ctx context.Context, upn string) (User, error) {
	var u User
	err := c.do(ctx, http.MethodGet, "/users/"+url.PathEscape(upn)+"?$select=id,userPrincipalName,displayName,accountEnabled", nil, &u)
	return u, err
}

// CreateUser makes an enabled member account whose password must be
// changed at the first sign-in; ErrExists when the UPN is taken.
func (c *Client) CreateUser(ctx context.Context, n NewUser) (User, error) {
	body := map[string]any{
		"accountEnabled": true, "displayName": n.DisplayName, "mailNickname": n.MailNickname,
		"userPrincipalName": n.UPN, "userType": "Member",
		"passwordProfile": map[string]any{"password": n.Password, "forceChangePasswordNextSignIn": true},
	}
	var u User
	err := c.do(ctx, http.MethodPost, "/users", body, &u)
	return u, err
}

// SetEnabled enables or disables an account.
func (c *Client) SetEnabled(ctx context.Context, userID string, enabled bool) error {
	return c.do(ctx, http.MethodPatch, "/users/"+url.PathEscape(userID), map[string]any{"accountEnabled": enabled}, nil)
}

// ResetPassword sets a new temporary password, to be changed at the next
// sign-in.
func (c *Client) ResetPassword(ctx context.Context, userID, password string) error {
	return c.do(ctx, http.MethodPatch, "/users/"+url.PathEscape(userID), map[string]any{
		"passwordProfile": map[string]any{"password": password, "forceChangePasswordNextSignIn": true}}, nil)
}

// AddMember adds the account to the group; one already a member is done.
func (c *Client) AddMember(ctx context.Context, groupID, userID string) error {
	err := c.do(ctx, http.MethodPost, "/groups/"+url.PathEscape(groupID)+"/members/$ref",
		map[string]string{"@odata.id": c.base + "/directoryObjects/" + url.PathEscape(userID)}, nil)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.Contains(e.Message, "already exist") {
		return nil
	}
	return err
}

// RemoveMember removes the account from the group; one not a member is
// done. The request always ends in /$ref: without it, Graph would delete
// the member object itself.
func (c *Client) RemoveMember(ctx context.Context, groupID, userID string) error {
	err := c.do(ctx, http.MethodDelete, memberRef(groupID, userID), nil, nil)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// memberRef is the path that removes a membership, and only that.
func memberRef(groupID, userID string) string {
	return "/groups/" + url.PathEscape(groupID) + "/members/" + url.PathEscape(userID) + "/$ref"
}

// Members lists the group's direct members, every page of them.
func (c *Client) Members(ctx context.Context, groupID string) ([]Member, error) {
	var all []Member
	next := c.base + "/groups/" + url.PathEscape(groupID) + "/members?$select=id,userPrincipalName"
	for next != "" {
		var page struct {
			Value    []Member `json:"value"`
			NextLink string   `json:"@odata.nextLink"`
		}
		if err := c.doURL(ctx, http.MethodGet, next, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		next = page.NextLink
	}
	return all, nil
}

// RevokeSessions ends the account's sign-in sessions: its refresh tokens
// and session cookies stop working.
func (c *Client) RevokeSessions(ctx context.Context, userID string) error {
	return c.do(ctx, http.MethodPost, "/users/"+url.PathEscape(userID)+"/revokeSignInSessions", nil, nil)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.doURL(ctx, method, c.base+path, in, out)
}

// doURL makes one request with a token; an error answer becomes *Error.
func (c *Client) doURL(ctx context.Context, method, u string, in, out any) error {
	tok, err := c.tokens.Token()
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return &Error{Method: method, Path: pathOf(u, c.base), Message: err.Error(), network: true}
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		return odataError(res, method, pathOf(u, c.base))
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("graph: %s %s: reading the answer: %w", method, pathOf(u, c.base), err)
	}
	return nil
}

// pathOf is a request's path under /v1.0 without its query, for errors.
func pathOf(u, base string) string {
	p := strings.TrimPrefix(u, base)
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}
