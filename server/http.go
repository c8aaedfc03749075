package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/docs"
	"github.com/partneraccess/partneraccess/internal/jsonin"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/ratelimit"
	"github.com/partneraccess/partneraccess/internal/store"
)

const (
	sessionCookie = "pa_session"
	actorKey      = "actor"
	// sessionKey holds the session token that authenticated the request,
	// and where it came from.
	sessionKey = "session"
	problemKey = "problem"
)

// session is the token that authenticated a request.
type session struct {
	token      string
	fromCookie bool
	// method and issuer: how it was opened (store.SessionPassword, or
	// store.SessionSSO at the issuer).
	method, issuer string
}

// signedIn says how the request's session was opened, for people.
func signedIn(c *gin.Context) string {
	v, ok := c.Get(sessionKey)
	if !ok {
		return ""
	}
	sess := v.(session)
	if sess.method == store.SessionSSO {
		host := sess.issuer
		if u, err := url.Parse(sess.issuer); err == nil && u.Host != "" {
			host = u.Host
		}
		return "signed in through your organization's provider (" + host + ")"
	}
	return "signed in with a password"
}

// authenticate finds the user of a session cookie or bearer token; it lets
// anonymous requests through (routes that need a user say so).
func (s *Server) authenticate(c *gin.Context) {
	var sess session
	if h := c.GetHeader("Authorization"); strings.HasPrefix(h, "Bearer ") {
		sess.token = strings.TrimPrefix(h, "Bearer ")
	} else if v, err := c.Cookie(sessionCookie); err == nil {
		sess = session{token: v, fromCookie: true}
	}
	if u, st, ok := s.svc.Session(c.Request.Context(), sess.token); ok {
		sess.method, sess.issuer = st.Method, st.Issuer
		c.Set(actorKey, u)
		c.Set(sessionKey, sess)
	}
}

func actor(c *gin.Context) (store.User, bool) {
	v, ok := c.Get(actorKey)
	if !ok {
		return store.User{}, false
	}
	return v.(store.User), true
}

func (s *Server) requireUser(c *gin.Context) {
	if _, ok := actor(c); !ok {
		s.fail(c, problem.Unauthorized("log in first: POST /api/v1/session, then send the token as \"Authorization: Bearer <token>\""))
		c.Abort()
	}
}

func (s *Server) requirePageUser(c *gin.Context) {
	if _, ok := actor(c); !ok {
		c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
	}
}

// decodeJSON reads a strict JSON body into v: the right content type, a
// bounded size, no unknown fields, exactly one value.
func decodeJSON(c *gin.Context, v any) error {
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt != "application/json" {
		return problem.New(problem.KindUnsupportedMedia, "send the body as JSON with Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(maxBody)
		}
		return problem.Invalid("", "the body could not be read")
	}
	return jsonin.DecodeStrict(body, v)
}

// wantsHTML reports whether the request came from a page rather than the API.
func wantsHTML(c *gin.Context) bool {
	p := c.Request.URL.Path
	return !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/codec/") && !strings.HasPrefix(p, "/integrations/") &&
		p != "/healthz" && p != "/readyz"
}

// fail renders err: problem+json for the API, an error page for the rest.
// Anything not a *problem.Error is a 500 whose detail stays in the log.
func (s *Server) fail(c *gin.Context, err error) {
	p := problem.As(err)
	if p == nil {
		s.log.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "error", err)
		p = problem.New(problem.KindInternal, "something went wrong on our side; nothing was changed")
	}
	c.Set(problemKey, p)
	retryAfter(c, p)
	if wantsHTML(c) {
		s.render(c, status(p), "error", gin.H{"Problem": shownProblem{p}})
		return
	}
	st := status(p)
	body := gin.H{"type": "about:blank", "title": http.StatusText(st), "status": st, "detail": p.Detail, "instance": c.Request.URL.Path}
	if p.Rule != "" {
		body["type"], body["rule"] = docs.RuleURL(p.Rule), p.Rule
	}
	if p.Field != "" {
		body["field"] = p.Field
	}
	if len(p.Allowed) > 0 {
		body["allowed"] = p.Allowed
	}
	if len(p.Fields) > 0 {
		errs := make([]gin.H, len(p.Fields))
		for i, f := range p.Fields {
			errs[i] = gin.H{"field": f.Field, "detail": f.Detail}
		}
		body["errors"] = errs
	}
	c.Header("Content-Type", "application/problem+json")
	c.Status(st)
	json.NewEncoder(c.Writer).Encode(body)
}

// retryAfter tells the caller of a 429 or 503 when to come back.
func retryAfter(c *gin.Context, p *problem.Error) {
	if p.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(ratelimit.RetryAfter(p.RetryAfter)))
	}
}

func notFoundRoute(c *gin.Context) error {
	return problem.NotFound("", "there is nothing at %s", c.Request.URL.Path)
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic serving request", "path", c.Request.URL.Path, "panic", r, "stack", string(debug.Stack()))
			c.Abort()
			s.fail(c, fmt.Errorf("panic: %v", r))
		}
	}()
	c.Next()
}

// observe logs each request and counts it. Its labels come from closed
// sets, so no caller adds series: the method is one the routes take
// (methods, filled once the routes are registered), else "other"; the
// route is its template, else "unmatched". Paths are logged by route, so
// tokens in approval links never reach the logs.
func (s *Server) observe(methods map[string]bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		method := c.Request.Method
		if !methods[method] {
			method = "other"
		}
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		s.metrics.Request(method, route, c.Writer.Status(), took)
		if route == "/metrics" || route == "/healthz" || route == "/readyz" {
			return
		}
		attrs := []any{"method", method, "route", route, "status", c.Writer.Status(), "ms", took.Milliseconds()}
		if id := c.Param("id"); id != "" {
			attrs = append(attrs, "assignment", id)
		}
		if u, ok := actor(c); ok {
			attrs = append(attrs, "user", u.ID)
		}
		s.log.Log(c, levelFor(c.Writer.Status()), "http", attrs...)
	}
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// origin is the scheme and host of a URL, as browsers send in Origin.
func origin(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return publicURL
	}
	return u.Scheme + "://" + u.Host
}
