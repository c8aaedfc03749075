package server

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/ratelimit"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Limits are the rate limits of SPEC §7. A zero Rule takes its default.
type Limits struct {
	LoginPerAccount   ratelimit.Rule // failed logins per email address
	LoginPerClient    ratelimit.Rule // failed logins per client address
	ApprovalPerClient ratelimit.Rule // approval-link POSTs per client address
	// SelfService is for registration and password reset: per client
	// address on the route, per email or invitation in the handler.
	SelfServicePerClient  ratelimit.Rule
	SelfServicePerAccount ratelimit.Rule
}

// DefaultLimits let a person mistype a few times and stop a guesser: after
// the burst, one attempt per interval.
var DefaultLimits = Limits{
	LoginPerAccount:       ratelimit.Rule{Burst: 5, Every: time.Minute},
	LoginPerClient:        ratelimit.Rule{Burst: 20, Every: 15 * time.Second},
	ApprovalPerClient:     ratelimit.Rule{Burst: 10, Every: 6 * time.Second},
	SelfServicePerClient:  ratelimit.Rule{Burst: 10, Every: time.Minute},
	SelfServicePerAccount: ratelimit.Rule{Burst: 3, Every: 5 * time.Minute},
}

// limit is a limiter with the name its refusals are counted under.
type limit struct {
	name string
	*ratelimit.Limiter
}

// limiters are the server's limits, one bucket per key each.
type limiters struct {
	loginAccount, loginClient, approvalClient limit
	// SelfServiceClient and SelfServiceAccount guard registration and
	// password reset: add s.perClient(s.limits.SelfServiceClient) to the
	// route and call s.allow(c, s.limits.SelfServiceAccount, email) in
	// the handler.
	SelfServiceClient, SelfServiceAccount limit
}

func newLimiters(l Limits, now func() time.Time) limiters {
	pick := func(r, def ratelimit.Rule) ratelimit.Rule {
		if r == (ratelimit.Rule{}) {
			return def
		}
		return r
	}
	d := DefaultLimits
	mk := func(name string, r, def ratelimit.Rule) limit {
		return limit{name, ratelimit.New(pick(r, def), now)}
	}
	return limiters{
		loginAccount:       mk("login_account", l.LoginPerAccount, d.LoginPerAccount),
		loginClient:        mk("login_client", l.LoginPerClient, d.LoginPerClient),
		approvalClient:     mk("approval_client", l.ApprovalPerClient, d.ApprovalPerClient),
		SelfServiceClient:  mk("self_service_client", l.SelfServicePerClient, d.SelfServicePerClient),
		SelfServiceAccount: mk("self_service_account", l.SelfServicePerAccount, d.SelfServicePerAccount),
	}
}

// tooMany is the refusal of an attempt beyond a limit. It is counted in a
// metric, never written to the audit log: a flood must not grow the store.
func (s *Server) tooMany(l limit, wait time.Duration) *problem.Error {
	s.metrics.limited(l.name)
	return problem.TooManyRequests(wait, "too many attempts; try again in %d seconds", ratelimit.RetryAfter(wait))
}

// allow takes a token of l for key, or answers 429 and returns false.
func (s *Server) allow(c *gin.Context, l limit, key string) bool {
	if wait, ok := l.Allow(key); !ok {
		s.fail(c, s.tooMany(l, wait))
		return false
	}
	return true
}

// perClient limits a route per client address.
func (s *Server) perClient(l limit) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.allow(c, l, clientKey(c)) {
			c.Abort()
		}
	}
}

// clientKey is the caller's address; X-Forwarded-For counts only from a
// trusted proxy (Config.TrustedProxies).
func clientKey(c *gin.Context) string { return ratelimit.ClientKey(c.ClientIP()) }

// accountKey is an email address as a limit key: case and spaces do not
// make a new account, and the key stays short.
func accountKey(email string) string {
	k := strings.ToLower(strings.TrimSpace(email))
	if len(k) > 254 {
		k = k[:254]
	}
	return k
}

const (
	// maxBody bounds API bodies; the API's requests are small.
	maxBody = 16 << 10
	// maxForm bounds page form bodies.
	maxForm = 64 << 10
)

// limitBody refuses a declared body over the limit before reading any of
// it, and stops reading an undeclared one at the limit.
func (s *Server) limitBody(c *gin.Context) {
	n := int64(maxForm)
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		n = maxBody
	}
	if c.Request.ContentLength > n {
		c.Header("Connection", "close")
		s.fail(c, tooLarge(n))
		c.Abort()
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
}

func tooLarge(n int64) *problem.Error {
	return &problem.Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is larger than %d bytes", n)}
}

// parseForm reads a page's form: URL-encoded only, never multipart (no
// page uploads a file), within maxForm. The API reads JSON instead.
func (s *Server) parseForm(c *gin.Context) {
	if c.Request.Method != http.MethodPost || !wantsHTML(c) {
		return
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && (mt != "" || c.Request.ContentLength != 0) {
		s.fail(c, &problem.Error{Status: http.StatusUnsupportedMediaType, Detail: "send the form as application/x-www-form-urlencoded"})
		c.Abort()
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		c.Header("Connection", "close")
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(c, tooLarge(tooBig.Limit))
		} else {
			s.fail(c, problem.Invalid("", "the form could not be read"))
		}
		c.Abort()
	}
}

// pagePolicy is the content security policy; it suits the API too.
const pagePolicy = "default-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers of every response, refusals of the
// cross-origin check included. Nothing is cached unless a handler says so
// (the stylesheet): pages and API answers are private.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer") // approval tokens are in URLs
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", pagePolicy)
		h.Set("Cache-Control", "no-store")
		if s.cfg.SecureCookies {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// auditedKey marks, in a request's context, that a refusal was audited.
type auditedKey struct{}

// auditRefusals audits a refused state-changing request of a logged-in
// user that no handler audited itself (R6: every refused attempt), with
// the user's tenant. 401 has no user; 429 is counted, not written.
func (s *Server) auditRefusals(c *gin.Context) {
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		return
	}
	audited := new(bool)
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), auditedKey{}, audited))
	c.Next()
	status := c.Writer.Status()
	u, ok := actor(c)
	if !ok || *audited || status < 400 || status >= 500 || status == http.StatusUnauthorized || status == http.StatusTooManyRequests {
		return
	}
	detail := http.StatusText(status)
	if v, ok := c.Get(problemKey); ok {
		detail = v.(*problem.Error).Error()
	}
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(c), store.AuditEntry{At: s.now(), ActorID: u.ID, Action: "request.refused",
		Outcome: store.OutcomeRefused, PartnerID: u.PartnerID, CustomerID: u.CustomerID,
		Detail: clip(c.Request.Method + " " + c.Request.URL.Path + ": " + detail)}))
	s.metrics.refused("")
}

func markAudited(ctx context.Context) {
	if p, ok := ctx.Value(auditedKey{}).(*bool); ok {
		*p = true
	}
}

// clip bounds text taken from a request before it enters the audit log.
func clip(s string) string {
	const n = 300
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// sampler lets through at most one audit row per key and window for
// refusals that nobody logged in made (random approval tokens), so a flood
// adds a row a minute, not a row a request. The row says how many were
// not written since the last one; the metric counts every one.
type sampler struct {
	window time.Duration
	mu     sync.Mutex
	keys   map[string]*sampled
}

type sampled struct {
	at      time.Time
	skipped int
}

func newSampler(window time.Duration) *sampler {
	return &sampler{window: window, keys: map[string]*sampled{}}
}

// maxSampled bounds the keys a sampler remembers; beyond it, new keys
// share one window.
const maxSampled = 10_000

// take reports whether to write a row for key now, and how many refusals
// under key were not written since the last row.
func (sm *sampler) take(key string, now time.Time) (write bool, skipped int) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	e, ok := sm.keys[key]
	if !ok && len(sm.keys) >= maxSampled {
		for k, e := range sm.keys {
			if now.Sub(e.at) >= sm.window {
				delete(sm.keys, k)
			}
		}
		if len(sm.keys) >= maxSampled {
			key = ""
			e, ok = sm.keys[key]
		}
	}
	if !ok {
		e = &sampled{}
		sm.keys[key] = e
	} else if now.Sub(e.at) < sm.window {
		e.skipped++
		return false, 0
	}
	skipped, e.skipped, e.at = e.skipped, 0, now
	return true, skipped
}

// mailboxAdmin lets only administrators read the dev mailbox when it is
// served beyond loopback: it holds every tenant's approval links.
func (s *Server) mailboxAdmin(c *gin.Context) {
	if !s.cfg.DevMailboxAdminsOnly {
		return
	}
	u, ok := actor(c)
	if !ok {
		if wantsHTML(c) {
			s.requirePageUser(c)
			return
		}
		s.fail(c, problem.Unauthorized("the dev mailbox needs an administrator's login"))
		c.Abort()
		return
	}
	if !isAdmin(u) {
		s.fail(c, problem.Forbidden("", "the dev mailbox is for administrators"))
		c.Abort()
	}
}

func isAdmin(u store.User) bool {
	return u.Status == store.StatusActive && (u.HasRole(store.RolePartnerAdmin) || u.HasRole(store.RoleCustomerAdmin))
}
