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
	"strconv"
	"strings"
	"sync"
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
	// Pace paces the writes to the tenant, shared with every other client
	// of the worker; nil: a pace of this client's own at
	// DefaultWritesPerSecond.
	Pace *Pace
}

// maxThrottled is how many 429s one call waits out (each holding the
// tenant's writes for its Retry-After) before it fails, to be retried by
// Temporal.
const maxThrottled = 8

// RequestTimeout bounds one request when Config.HTTPClient is nil, and
// every token request: a directory that does not answer is retried, not
// waited on.
const RequestTimeout = 30 * time.Second

// Client calls Graph for one tenant. It is safe for concurrent use, and
// its calls share one token until it expires.
type Client struct {
	base   string // $GraphURL/v1.0
	tenant string
	http   *http.Client
	tokens oauth2.TokenSource
	pace   *Pace

	mu    sync.Mutex
	reads map[string]*groupReads // by group ID
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
	if cfg.Pace == nil {
		cfg.Pace = NewPace(DefaultWritesPerSecond)
	}
	return &Client{
		base:   strings.TrimRight(cfg.GraphURL, "/") + "/v1.0",
		tenant: cfg.TenantID,
		http:   cfg.HTTPClient,
		tokens: oauth2.ReuseTokenSource(nil, tokenSource{cfg}),
		pace:   cfg.Pace,
		reads:  map[string]*groupReads{},
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

// Member is a direct member of a group, by its object ID.
type Member struct {
	ID string `json:"id"`
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

// membersPage is how many members one page asks for: Graph's most.
const membersPage = 999

// Members lists the group's direct members by their IDs alone, following
// @odata.nextLink through every page. Calls for one group share reads: at
// most one is in flight, and a call is answered by a read that started
// after it did, so a proof never reads a page from before its removal.
// The answer is shared between the calls: do not change it.
func (c *Client) Members(ctx context.Context, groupID string) ([]Member, error) {
	c.mu.Lock()
	g := c.reads[groupID]
	if g == nil {
		g = &groupReads{}
		c.reads[groupID] = g
	}
	c.mu.Unlock()
	r := g.join(func(r *groupRead) { r.members, r.err = c.readMembers(context.WithoutCancel(ctx), groupID) })
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.done:
		return r.members, r.err
	}
}

// groupReads are the reads of one group: the one in flight, and the next,
// which the calls arriving meanwhile wait for together.
type groupReads struct {
	mu      sync.Mutex
	running bool
	next    *groupRead
}

type groupRead struct {
	done    chan struct{}
	members []Member
	err     error
}

// join returns the read that will answer a call made now: the next one,
// started at once when none is in flight.
func (g *groupReads) join(read func(*groupRead)) *groupRead {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.next == nil {
		g.next = &groupRead{done: make(chan struct{})}
	}
	r := g.next
	if !g.running {
		g.running, g.next = true, nil
		go g.run(r, read)
	}
	return r
}

// run makes r's read, then the next one while calls wait for it.
func (g *groupReads) run(r *groupRead, read func(*groupRead)) {
	for r != nil {
		read(r)
		close(r.done)
		g.mu.Lock()
		r, g.next = g.next, nil
		g.running = r != nil
		g.mu.Unlock()
	}
}

// readMembers reads every page of the group's members.
func (c *Client) readMembers(ctx context.Context, groupID string) ([]Member, error) {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	var all []Member
	next := c.base + groupPath(groupID) + "/members?$select=id&$top=" + strconv.Itoa(membersPage)
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
// into out; an error answer becomes *Error. A write waits for the tenant's
// pace first; a 429 holds the tenant's writes for its Retry-After and is
// tried again, up to maxThrottled times. The request body (which may hold
// a password) never enters an error.
func (c *Client) doURL(ctx context.Context, method, u string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	path := strings.TrimPrefix(u, c.base)
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for throttled := 0; ; throttled++ {
		if method != http.MethodGet {
			if err := c.pace.wait(ctx, c.tenant); err != nil {
				return networkError(method, path, err)
			}
		}
		err := c.once(ctx, method, u, path, body, out)
		e, ok := errors.AsType[*Error](err)
		if !ok || e.Status != http.StatusTooManyRequests || throttled == maxThrottled {
			return err
		}
		c.pace.hold(c.tenant, e.RetryAfter)
		if method == http.MethodGet { // reads take no token, but keep the hold
			if err := sleep(ctx, max(e.RetryAfter, time.Second)); err != nil {
				return networkError(method, path, err)
			}
		}
	}
}

// once makes one request.
func (c *Client) once(ctx context.Context, method, u, path string, body []byte, out any) error {
	tok, err := c.tokens.Token()
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("graph: %s %s: %w", method, path, err)
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	if body != nil {
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
