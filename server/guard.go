package server

import (
	"errors"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/ratelimit"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
)

// allow takes a token of l for key, or answers 429 and returns false.
func (s *Server) allow(c *gin.Context, l service.Limit, key string) bool {
	if err := l.Take(key); err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// perClient limits a route per client address.
func (s *Server) perClient(l service.Limit) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.allow(c, l, clientKey(c)) {
			c.Abort()
		}
	}
}

// clientKey is the caller's address; X-Forwarded-For counts only from a
// trusted proxy (Config.TrustedProxies).
func clientKey(c *gin.Context) string { return ratelimit.ClientKey(c.ClientIP()) }

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
	switch p := c.Request.URL.Path; {
	case strings.HasPrefix(p, "/api/"):
		n = maxBody
	case strings.HasPrefix(p, "/codec/"):
		n = maxCodecBody
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
	return problem.New(problem.KindTooLarge, "the body is larger than %d bytes", n)
}

// parseForm reads a page's form: URL-encoded only, never multipart (no
// page uploads a file), within maxForm. The API reads JSON instead.
func (s *Server) parseForm(c *gin.Context) {
	if c.Request.Method != http.MethodPost || !wantsHTML(c) {
		return
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && (mt != "" || c.Request.ContentLength != 0) {
		s.fail(c, problem.New(problem.KindUnsupportedMedia, "send the form as application/x-www-form-urlencoded"))
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

// auditRefusals audits a refused state-changing request of a logged-in
// user that nothing audited on the way (R6: every refused attempt), with
// the user's tenant. 401 has no user; 429 is counted, not written.
func (s *Server) auditRefusals(c *gin.Context) {
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		return
	}
	ctx, audited := service.TrackRefusals(c.Request.Context())
	c.Request = c.Request.WithContext(ctx)
	c.Next()
	status := c.Writer.Status()
	u, ok := actor(c)
	if !ok || audited() || status < 400 || status >= 500 || status == http.StatusUnauthorized || status == http.StatusTooManyRequests {
		return
	}
	// A refusal written without a problem is audited by its status text.
	p := &problem.Error{Detail: http.StatusText(status)}
	if v, ok := c.Get(problemKey); ok {
		p = v.(*problem.Error)
	}
	s.svc.RefusedRequest(c.Request.Context(), u, c.Request.Method+" "+c.Request.URL.Path, p)
}

// mailboxReaderKey holds who reads the mailbox: nil for everything.
const mailboxReaderKey = "mailboxReader"

// fromLoopback reports whether the caller is on this machine: its address,
// after the trusted proxies (TRUSTED_PROXIES) have named the client, is
// loopback. Behind a same-host proxy every request comes from loopback;
// the client the proxy names decides.
func fromLoopback(c *gin.Context) bool {
	ip, err := netip.ParseAddr(c.ClientIP())
	return err == nil && ip.Unmap().IsLoopback()
}

// mailboxOpen reports whether the dev mailbox shows everything without a
// login: the server listens on loopback only and the caller is on this
// machine.
func (s *Server) mailboxOpen(c *gin.Context) bool {
	return !s.cfg.DevMailboxAdminsOnly && fromLoopback(c)
}

// mailboxAdmin decides who reads the dev mailbox. Open to a caller on
// loopback (mailboxOpen), it shows everything. Beyond it holds every
// tenant's approval and reset links, so only the operator (OPERATOR_TOKEN)
// sees all of it, and an administrator only the mail to its own
// organization's users.
func (s *Server) mailboxAdmin(c *gin.Context) {
	if s.mailboxOpen(c) || tokenIs(c, s.cfg.OperatorToken) {
		return
	}
	u, ok := actor(c)
	if !ok {
		if wantsHTML(c) {
			s.requirePageUser(c)
			return
		}
		s.fail(c, problem.Unauthorized("the dev mailbox needs an administrator's login or the operator's token"))
		c.Abort()
		return
	}
	if !isAdmin(u) {
		s.fail(c, problem.Forbidden("", "the dev mailbox is for administrators"))
		c.Abort()
		return
	}
	c.Set(mailboxReaderKey, &u)
}

// mailboxReader is who reads the mailbox; nil: everything.
func mailboxReader(c *gin.Context) *store.User {
	if v, ok := c.Get(mailboxReaderKey); ok {
		return v.(*store.User)
	}
	return nil
}

func isAdmin(u store.User) bool { return service.IsAdmin(u) }

// checkHost answers 421 to a request for a host that is neither
// PUBLIC_URL's (public) nor a loopback name, before any route: a page
// elsewhere that points its own name at this machine (DNS rebinding)
// reaches nothing. Load balancers and scrapers ask for health and metrics
// at the listen address, whatever its name.
func (s *Server) checkHost(public string) gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.Request.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			return
		}
		if h := c.Request.Host; (public != "" && strings.EqualFold(h, public)) || loopbackName(h) {
			return
		}
		expected := "a loopback name"
		if public != "" {
			expected = public + " (PUBLIC_URL) or " + expected
		}
		s.fail(c, problem.New(problem.KindWrongHost, "this service answers for %s only; ask it by that name", expected))
		c.Abort()
	}
}

// publicHost is PUBLIC_URL's host as browsers send it in Host: with its
// port unless that is the scheme's default.
func publicHost(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return ""
	}
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		return strings.TrimSuffix(u.Host, ":"+p)
	}
	return u.Host
}

// loopbackName reports whether a Host, with or without its port, is
// localhost or a loopback address, names no DNS can point elsewhere.
func loopbackName(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
