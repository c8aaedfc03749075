// Package server is everything a person or a gateway reaches over HTTP: the
// JSON API under /api/v1, the approval links, login, and the web pages
// (SPEC §6, §7). Handlers are thin: parse, authorize, call one service
// method, render.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/docs"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

// Config is what the server needs from the service configuration.
type Config struct {
	PublicURL  string
	TaskQueue  string
	Timing     workflows.Timing
	DevMailbox bool // one-process mode: /dev/mail and /api/v1/dev/mail
	// GatewayToken, when set, lets a gateway ask GET /api/v1/access with
	// "Authorization: Bearer <token>" without a user login.
	GatewayToken string
	SessionTTL   time.Duration
	// SecureCookies marks cookies Secure (set when PUBLIC_URL is https).
	SecureCookies bool
	// DecisionWait is how long an approval page waits to show the outcome.
	DecisionWait time.Duration
}

// Server serves the API and the pages.
type Server struct {
	cfg      Config
	store    *store.Store
	temporal client.Client
	rules    *rules.Checker
	keys     *secret.Keys
	log      *slog.Logger
	metrics  *Metrics
	pages    *pages
	now      func() time.Time
}

// New returns a server; metrics may be nil (nothing is recorded).
func New(cfg Config, s *store.Store, tc client.Client, keys *secret.Keys, log *slog.Logger, m *Metrics) *Server {
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.DecisionWait == 0 {
		cfg.DecisionWait = 3 * time.Second
	}
	if m == nil {
		m = NewMetrics(nil, s)
	}
	return &Server{
		cfg: cfg, store: s, temporal: tc, rules: &rules.Checker{Store: s}, keys: keys, log: log,
		metrics: m, pages: mustParsePages(), now: time.Now,
	}
}

// Handler is the whole HTTP surface, with cross-origin protection on every
// state-changing request (the CSRF defence of the forms).
func (s *Server) Handler() http.Handler {
	csrf := http.NewCrossOriginProtection()
	if err := csrf.AddTrustedOrigin(origin(s.cfg.PublicURL)); err != nil {
		s.log.Warn("PUBLIC_URL is not a trusted origin", "error", err)
	}
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metrics.refused("csrf")
		http.Error(w, "Cross-origin request refused: use the form on this site.", http.StatusForbidden)
	}))
	return csrf.Handler(s.Engine())
}

// Engine is the gin engine with every route.
func (s *Server) Engine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.Use(s.recover, s.observe, s.authenticate)
	r.NoRoute(func(c *gin.Context) { s.fail(c, notFoundRoute(c)) })
	r.NoMethod(func(c *gin.Context) {
		s.fail(c, &problem.Error{Status: http.StatusMethodNotAllowed, Detail: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})
	r.HandleMethodNotAllowed = true

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(s.metrics.Handler()))
	r.GET("/static/style.css", s.styleCSS)
	r.GET(docs.RulesPath, s.pageRules)

	api := r.Group("/api/v1")
	api.POST("/session", s.apiLogin)
	api.DELETE("/session", s.apiLogout)
	api.GET("/access", s.apiAccess)
	authed := api.Group("", s.requireUser)
	authed.GET("/me", s.apiMe)
	authed.GET("/sites", s.apiSites)
	authed.GET("/sites/:site", s.apiSite)
	authed.POST("/sites/:site/assignments", s.apiAssign)
	authed.GET("/assignments", s.apiAssignments)
	authed.GET("/assignments/:id", s.apiAssignment)
	authed.DELETE("/assignments/:id", s.apiUnassign)
	authed.POST("/assignments/:id/decision", s.apiDecide)
	authed.PUT("/customers/:customer/partner-permission", s.apiSetPermission(true))
	authed.DELETE("/customers/:customer/partner-permission", s.apiSetPermission(false))
	authed.POST("/customers/:customer/users", s.apiCreateCustomerUser)
	authed.GET("/audit", s.apiAudit)
	if s.cfg.DevMailbox {
		api.GET("/dev/mail", s.apiDevMail)
		r.GET("/dev/mail", s.pageDevMail)
	}

	r.GET("/", s.pageHome)
	r.GET("/login", s.pageLogin)
	r.POST("/login", s.pageLoginPost)
	r.POST("/logout", s.pageLogout)
	r.GET("/approvals/:token", s.pageApproval)
	r.POST("/approvals/:token", s.pageApprovalPost)
	pages := r.Group("", s.requirePageUser)
	pages.GET("/sites", s.pageSites)
	pages.GET("/sites/:site", s.pageSite)
	pages.POST("/sites/:site/assignments", s.pageAssignPost)
	pages.GET("/assignments/:id", s.pageAssignment)
	pages.POST("/assignments/:id/unassign", s.pageUnassignPost)
	pages.POST("/assignments/:id/decision", s.pageDecidePost)
	pages.GET("/requests", s.pageRequests)
	pages.POST("/customers/:customer/permission", s.pagePermissionPost)
	pages.GET("/credentials/:id", s.pageCredential)
	pages.POST("/credentials/:id", s.pageCredentialPost)
	return r
}

func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz checks the store and Temporal.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c, 2*time.Second)
	defer cancel()
	checks := gin.H{"store": "ok", "temporal": "ok"}
	status := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		checks["store"], status = "unavailable", http.StatusServiceUnavailable
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], status = "unavailable", http.StatusServiceUnavailable
	}
	c.JSON(status, checks)
}
