// Package avd ends and warns a partner user's sessions on a customer's
// Azure Virtual Desktop host pools, through Azure Resource Manager's
// userSessions API (the SDK's armdesktopvirtualization client, never a
// hand-written call). Tokens come from the customer's app registration,
// the one that calls Graph, for https://management.azure.com/.default;
// the role it needs on the pools is Desktop Virtualization User Session
// Operator.
package avd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armdv "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/desktopvirtualization/armdesktopvirtualization/v2"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Scope is what the tokens are asked for.
const Scope = "https://management.azure.com/.default"

// Role is the built-in role the app registration needs on the host pools.
const Role = "Desktop Virtualization User Session Operator"

// Config is how to reach one customer's pools.
type Config struct {
	// ARMURL is Azure Resource Manager's endpoint (ARM_URL); empty:
	// https://management.azure.com.
	ARMURL string
	// LoginURL is Entra's sign-in endpoint; empty:
	// https://login.microsoftonline.com.
	LoginURL                    string
	TenantID, ClientID          string
	Secret                      func() (string, error)
	HTTPClient                  *http.Client
	Subscription, ResourceGroup string
	HostPools                   []string
	// Retry bounds the SDK's own retries of a 429 or 5xx (which honour
	// Retry-After); zero: three tries, at most 10 s apart.
	Retry policy.RetryOptions
}

// Client reaches one customer's host pools.
type Client struct {
	sessions *armdv.UserSessionsClient
	rg       string
	pools    []string
}

// Session is one user session on a session host of a pool.
type Session struct {
	Pool, Host, ID string
	UPN            string
	State          string
}

// New returns a client; nothing is called until the first request.
func New(cfg Config) (*Client, error) {
	if cfg.ARMURL == "" {
		cfg.ARMURL = "https://management.azure.com"
	}
	if cfg.LoginURL == "" {
		cfg.LoginURL = "https://login.microsoftonline.com"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Retry.MaxRetries == 0 {
		cfg.Retry = policy.RetryOptions{MaxRetries: 3, RetryDelay: 500 * time.Millisecond, MaxRetryDelay: 10 * time.Second}
	}
	armURL, err := url.Parse(cfg.ARMURL)
	if err != nil {
		return nil, fmt.Errorf("ARM_URL %q: %w", cfg.ARMURL, err)
	}
	opts := &arm.ClientOptions{}
	opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: strings.TrimRight(cfg.LoginURL, "/") + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: strings.TrimRight(cfg.ARMURL, "/"), Audience: "https://management.azure.com"}}}
	opts.Transport = cfg.HTTPClient
	opts.Retry = cfg.Retry
	opts.DisableRPRegistration = true
	// A loopback stand-in (tests, the dev directory) is plain HTTP.
	opts.InsecureAllowCredentialWithHTTP = armURL.Scheme == "http" && isLoopback(armURL.Hostname())
	cred := &credential{tokens: oauth2.ReuseTokenSource(nil, tokenSource{cfg})}
	c, err := armdv.NewUserSessionsClient(cfg.Subscription, cred, opts)
	if err != nil {
		return nil, err
	}
	return &Client{sessions: c, rg: cfg.ResourceGroup, pools: cfg.HostPools}, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// Sessions lists the user's sessions in every pool ("": everyone's),
// following each page.
func (c *Client) Sessions(ctx context.Context, upn string) ([]Session, error) {
	var out []Session
	opts := &armdv.UserSessionsClientListByHostPoolOptions{}
	if upn != "" {
		filter := "userprincipalname eq '" + strings.ReplaceAll(upn, "'", "''") + "'"
		opts.Filter = &filter
	}
	for _, pool := range c.pools {
		pager := c.sessions.NewListByHostPoolPager(c.rg, pool, opts)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return out, wrap(err, "listing the sessions of pool "+pool)
			}
			for _, us := range page.Value {
				s, ok := parse(pool, us)
				if ok && (upn == "" || strings.EqualFold(s.UPN, upn)) { // the filter, checked
					out = append(out, s)
				}
			}
		}
	}
	return out, nil
}

// parse reads a session's host and ID from its resource ID,
// …/hostPools/{pool}/sessionHosts/{host}/userSessions/{id}.
func parse(pool string, us *armdv.UserSession) (Session, bool) {
	if us == nil || us.ID == nil {
		return Session{}, false
	}
	p := strings.Split(*us.ID, "/")
	s := Session{Pool: pool}
	for i := 0; i+1 < len(p); i++ {
		switch strings.ToLower(p[i]) {
		case "sessionhosts":
			s.Host = p[i+1]
		case "usersessions":
			s.ID = p[i+1]
		}
	}
	if us.Properties != nil {
		if us.Properties.UserPrincipalName != nil {
			s.UPN = *us.Properties.UserPrincipalName
		}
		if us.Properties.SessionState != nil {
			s.State = string(*us.Properties.SessionState)
		}
	}
	return s, s.Host != "" && s.ID != ""
}

// LogOff ends the session at once, unsaved work and all (force); a session
// already gone is done.
func (c *Client) LogOff(ctx context.Context, s Session) error {
	_, err := c.sessions.Delete(ctx, c.rg, s.Pool, s.Host, s.ID, &armdv.UserSessionsClientDeleteOptions{Force: to.Ptr(true)})
	if status(err) == http.StatusNotFound {
		return nil
	}
	return wrap(err, "logging off session "+s.ID+" on "+s.Host)
}

// Message shows a message in the session.
func (c *Client) Message(ctx context.Context, s Session, title, body string) error {
	_, err := c.sessions.SendMessage(ctx, c.rg, s.Pool, s.Host, s.ID, &armdv.UserSessionsClientSendMessageOptions{
		SendMessage: &armdv.SendMessage{MessageTitle: &title, MessageBody: &body}})
	if status(err) == http.StatusNotFound {
		return nil // the session ended meanwhile
	}
	return wrap(err, "sending a message to session "+s.ID+" on "+s.Host)
}

// Error is a failed call to ARM.
type Error struct {
	What   string
	Status int    // 0: no answer
	Code   string // ARM's error code, e.g. AuthorizationFailed
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("azure virtual desktop: %s: ", e.What)
	switch {
	case e.Status == http.StatusForbidden:
		msg += fmt.Sprintf("403 %s (the app registration needs the role %s on the host pools)", e.Code, Role)
	case e.Status != 0:
		msg += fmt.Sprintf("%d %s", e.Status, e.Code)
	default:
		msg += "no answer: " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Denied reports whether ARM refused the app: the role is missing (403) or
// the credentials are wrong (401). Retrying cannot fix it.
func Denied(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && (e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized)
}

// Retryable reports whether trying again may succeed: a 429, a 5xx or no
// answer, after the SDK's own retries.
func Retryable(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && (e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status >= 500)
}

func status(err error) int {
	if re, ok := errors.AsType[*azcore.ResponseError](err); ok {
		return re.StatusCode
	}
	return 0
}

func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	e := &Error{What: what, Err: err}
	if re, ok := errors.AsType[*azcore.ResponseError](err); ok {
		e.Status, e.Code = re.StatusCode, re.ErrorCode
	}
	return e
}

// credential gives the SDK the app registration's tokens for ARM.
type credential struct{ tokens oauth2.TokenSource }

func (c *credential) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.tokens.Token()
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: tok.AccessToken, ExpiresOn: tok.Expiry}, nil
}

type tokenSource struct{ cfg Config }

func (s tokenSource) Token() (*oauth2.Token, error) {
	if s.cfg.Secret == nil {
		return nil, fmt.Errorf("azure virtual desktop: no client secret for client %s in tenant %s", s.cfg.ClientID, s.cfg.TenantID)
	}
	secret, err := s.cfg.Secret()
	if err != nil {
		return nil, err
	}
	cc := clientcredentials.Config{ClientID: s.cfg.ClientID, ClientSecret: secret,
		TokenURL: strings.TrimRight(s.cfg.LoginURL, "/") + "/" + url.PathEscape(s.cfg.TenantID) + "/oauth2/v2.0/token",
		Scopes:   []string{Scope}, AuthStyle: oauth2.AuthStyleInParams}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient))
	if err != nil {
		msg := "the token endpoint refused"
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
			msg = fmt.Sprintf("%d %s", re.Response.StatusCode, re.ErrorCode)
		}
		return nil, fmt.Errorf("azure virtual desktop: no token for client %s in tenant %s: %s", s.cfg.ClientID, s.cfg.TenantID, msg)
	}
	return tok, nil
}
