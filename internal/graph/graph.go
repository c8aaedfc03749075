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
)

// Config is how to reach one tenant.
type Config struct {
	// LoginURL is Entra's sign-in endpoint; empty means
	// https://login.microsoftonline.com.
	LoginURL string
	// GraphURL is Graph's endpoint, without /v1.0; empty means
	// https://graph.microsoft.com.
	GraphURL string
	// TenantID and ClientID name the tenant and the app registration in it.
	TenantID, ClientID string
	// Secret returns the client secret when a token is needed. Its value
	// never appears in an error.
	Secret func() (string, error)
	// HTTPClient makes the requests; nil means one with RequestTimeout.
	HTTPClient *http.Client
}

// RequestTimeout bounds one request when Config.HTTPClient is nil, and
// every token request: a directory that does not answer is retried, not
// waited on.
const RequestTimeout = 30 * time.Second

// Client calls Graph for one tenant. It is safe for concurrent use, and
// its calls share one token until it expires.
type Client struct {
	base   string // $GraphURL/v1.0
	http   *http.Client
	tokens oauth2.TokenSource
}

// New returns a client for the tenant; nothing is called, and the secret
// is not read, until the first request.
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
	return &Client{
		base:   strings.TrimRight(cfg.GraphURL, "/") + "/v1.0",
		http:   cfg.HTTPClient,
		tokens: oauth2.ReuseTokenSource(nil, tokenSource{cfg}),
	}
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
	// UPN is the sign-in name, in one of the tenant's verified domains.
	UPN          string
	DisplayName  string
	MailNickname string
	// Password is the temporary password; it must be changed at the first
	// sign-in.
	Password string
}

// Member is a direct member of a group. UPN is empty for a member that is
// not a user (a device, a group).
type Member struct {
	ID  string `json:"id"`
	UPN string `json:"userPrincipalName"`
}

// UserByUPN finds an account by its sign-in name (or object ID);
// ErrNotFound when there is none, or when a new one has not replicated yet.
func (c *Client) UserByUPN(ctx context.Context, upn string) (User, error) {
	var u User
	err := c.do(ctx, http.MethodGet, userPath(upn)+"?$select=id,userPrincipalName,accountEnabled,displayName", nil, &u)
	return u, err
}

// CreateUser makes an enabled member account whose password must be
// changed at the first sign-in; ErrExists when the UPN is taken, as it is
// when an earlier attempt made the account but its answer was lost.
func (c *Client) CreateUser(ctx context.Context, n NewUser) (User, error) {
	body := map[string]any{
		"accountEnabled":    true,
		"displayName":       n.DisplayName,
		"mailNickname":      n.MailNickname,
		"userPrincipalName": n.UPN,
		"passwordProfile":   passwordProfile(n.Password),
	}
	var u User
	err := c.do(ctx, http.MethodPost, "/users", body, &u)
	return u, err
}

// SetEnabled enables or disables an account. A disabled account cannot
// sign in, but keeps its sessions until RevokeSessions.
func (c *Client) SetEnabled(ctx context.Context, userID string, enabled bool) error {
	return c.do(ctx, http.MethodPatch, userPath(userID), map[string]any{"accountEnabled": enabled}, nil)
}

// ResetPassword sets a new temporary password, to be changed at the next
// sign-in.
func (c *Client) ResetPassword(ctx context.Context, userID, password string) error {
	return c.do(ctx, http.MethodPatch, userPath(userID), map[string]any{"passwordProfile": passwordProfile(password)}, nil)
}

func passwordProfile(password string) map[string]any {
	return map[string]any{"password": password, "forceChangePasswordNextSignIn": true}
}

// AddMember adds the account to the group; an account already a member is
// done. ErrNotFound when the group or the account does not exist, or the
// account has not replicated yet.
func (c *Client) AddMember(ctx context.Context, groupID, userID string) error {
	ref := map[string]string{"@odata.id": c.base + "/directoryObjects/" + url.PathEscape(userID)}
	err := c.do(ctx, http.MethodPost, groupPath(groupID)+"/members/$ref", ref, nil)
	if e, ok := errors.AsType[*Error](err); ok && e.Status == http.StatusBadRequest &&
		strings.Contains(e.Message, "added object references already exist") {
		return nil
	}
	return err
}

// RemoveMember removes the account from the group; an account not a
// member is done. The request ends in /$ref: without it, Graph would
// delete the member object itself.
func (c *Client) RemoveMember(ctx context.Context, groupID, userID string) error {
	err := c.do(ctx, http.MethodDelete, groupPath(groupID)+"/members/"+url.PathEscape(userID)+"/$ref", nil, nil)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Members lists the group's direct members, following @odata.nextLink
// through every page.
func (c *Client) Members(ctx context.Context, groupID string) ([]Member, error) {
	var all []Member
	next := c.base + groupPath(groupID) + "/members?$select=id,userPrincipalName"
	for next != "" {
		// The link carries our token: follow it only to the Graph we were
		// given.
		if !strings.HasPrefix(next, c.base+"/") {
			return nil, fmt.Errorf("graph: GET %s/members: the next page is at %q, outside %s", groupPath(groupID), next, c.base)
		}
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
	return c.do(ctx, http.MethodPost, userPath(userID)+"/revokeSignInSessions", nil, nil)
}

func userPath(idOrUPN string) string { return "/users/" + url.PathEscape(idOrUPN) }

func groupPath(groupID string) string { return "/groups/" + url.PathEscape(groupID) }

// do makes one request to a path under /v1.0.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.doURL(ctx, method, c.base+path, in, out)
}

// doURL makes one request with the tenant's token and decodes the answer
// into out; an error answer becomes *Error. The request body (which may
// hold a password) never enters an error.
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
	path := strings.TrimPrefix(u, c.base)
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("graph: %s %s: %w", method, path, err)
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return networkError(method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		return odataError(res, method, path)
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("graph: %s %s: reading the answer: %w", method, path, err)
	}
	return nil
}
