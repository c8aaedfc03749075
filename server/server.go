// Package server is everything a person or a gateway reaches over HTTP: the
// JSON API under /api/v1 (docs/openapi.yaml), the approval links, login,
// and the web pages. Handlers are thin: parse, authorize, call one method
// of the application service (internal/service), render its result as a
// view of this package.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/converter"

	"github.com/partneraccess/partneraccess/docs"
	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/metrics"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/slackchat"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/teams/teamstest"
)

// Config is what the server needs from the service configuration.
type Config struct {
	// PublicURL is where people reach the service: its host, and loopback
	// names, are the only Hosts the server answers for (421 otherwise).
	PublicURL  string
	DevMailbox bool // serve /dev/mail and /api/v1/dev/mail
	// DevMailboxAdminsOnly asks for an administrator's login to read the
	// mailbox (the server listens beyond loopback); a caller beyond
	// loopback is always asked.
	DevMailboxAdminsOnly bool
	// TrustedProxies may name the client in X-Forwarded-For; the rate
	// limits count by the client address, and the codec endpoint, the
	// mailbox and the dev directory open only to a client on loopback.
	TrustedProxies []netip.Prefix
	// GatewayToken, when set, lets a gateway ask GET /api/v1/access with
	// "Authorization: Bearer <token>" without a user login.
	GatewayToken string
	// OperatorToken, when set, lets the operator read every tenant's mail
	// beyond loopback with "Authorization: Bearer <token>".
	OperatorToken string
	// SecureCookies marks cookies Secure (set when PUBLIC_URL is https).
	SecureCookies bool
	// TemporalUIURL, when set, is the Temporal UI that assignment pages
	// link each workflow to, in TemporalNamespace.
	TemporalUIURL     string
	TemporalNamespace string
	// DevDirectory, when set (one-process mode with demo data), is shown at
	// /dev/directory under the dev mailbox's rules; DevTenants maps its
	// tenants to their customers.
	DevDirectory *devgraph.Directory
	DevTenants   map[string]string
	// Codec, when set, is served at /codec/encode and /codec/decode for
	// the Temporal UI and CLI; CodecOpen lets a caller on loopback use it
	// (the server listens on loopback only), else only the operator's token.
	Codec     converter.PayloadCodec
	CodecOpen bool
	// Slack, when set, answers the customers' Slack apps at
	// /integrations/slack/interactions.
	Slack *slackchat.Interactions
	// Teams is the Teams bot's messages endpoint (nil: Teams is off, and
	// the endpoint answers 404).
	Teams http.Handler
	// DevChat, when set (one-process mode with demo data and no Teams bot
	// of its own), is shown at /dev/chat under the dev mailbox's rules.
	DevChat *teamstest.DevChat
}

// Server serves the API and the pages; every use case is the service's.
type Server struct {
	cfg     Config
	svc     *service.Service
	log     *slog.Logger
	metrics *metrics.Metrics
	pages   *pages
}

// New returns a server in front of svc.
func New(cfg Config, svc *service.Service, log *slog.Logger) *Server {
	return &Server{cfg: cfg, svc: svc, log: log, metrics: svc.Metrics(), pages: mustParsePages()}
}

// Handler is the whole HTTP surface, with cross-origin protection on every
// state-changing request (the CSRF defence of the forms) and the security
// headers on every response.
func (s *Server) Handler() http.Handler {
	csrf := http.NewCrossOriginProtection()
	if err := csrf.AddTrustedOrigin(origin(s.cfg.PublicURL)); err != nil {
		s.log.Warn("PUBLIC_URL is not a trusted origin", "error", err)
	}
	// The codec endpoint is no cookie's: its callers are the Temporal UI's
	// pages (another origin, allowed by CORS) and the CLI.
	csrf.AddInsecureBypassPattern("POST /codec/")
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metrics.Refused("csrf")
		http.Error(w, "Cross-origin request refused: use the form on this site.", http.StatusForbidden)
	}))
	return s.securityHeaders(csrf.Handler(s.Router()))
}

// getHead registers a GET route that answers HEAD too.
func getHead(g gin.IRoutes, path string, h ...gin.HandlerFunc) {
	g.Match([]string{http.MethodGet, http.MethodHead}, path, h...)
}

// Router is the gin router with every route (the Temporal engine is internal/engine).
func (s *Server) Router() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(prefixStrings(s.cfg.TrustedProxies)); err != nil {
		s.log.Warn("trusted proxies refused; trusting none", "error", err)
		r.SetTrustedProxies(nil)
	}
	methods := map[string]bool{}
	r.Use(s.recover, s.observe(methods), s.checkHost(publicHost(s.cfg.PublicURL)), s.limitBody, s.authenticate, s.parseForm)
	r.NoRoute(func(c *gin.Context) { s.fail(c, notFoundRoute(c)) })
	r.NoMethod(func(c *gin.Context) {
		s.fail(c, problem.New(problem.KindMethodNotAllowed, "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	r.HandleMethodNotAllowed = true

	if s.cfg.Codec != nil {
		s.codecRoutes(r)
	}
	getHead(r, "/healthz", s.healthz)
	getHead(r, "/readyz", s.readyz)
	getHead(r, "/metrics", gin.WrapH(s.metrics.Handler()))
	getHead(r, "/static/style.css", s.styleCSS)
	getHead(r, "/static/assign.js", s.assignJS)
	getHead(r, "/static/contents.js", s.contentsJS)
	getHead(r, docs.RulesPath, s.pageRules)
	getHead(r, docs.APIReferencePath, s.pageAPI)

	api := r.Group("/api/v1")
	getHead(r, docs.OpenAPIPath, s.apiOpenAPI)
	getHead(r, "/api/v1", s.apiIndex)
	api.POST("/session", s.apiLogin)
	api.DELETE("/session", s.apiLogout)
	getHead(api, "/access", s.apiAccess)
	selfService := s.perClient(s.svc.Limits.SelfServiceClient)
	api.POST("/registrations", selfService, s.apiRegister)
	api.POST("/password-reset", selfService, s.apiRequestPasswordReset)
	api.POST("/password-reset/complete", selfService, s.apiCompletePasswordReset)
	authed := api.Group("", s.requireUser, s.auditRefusals)
	getHead(authed, "/me", s.apiMe)
	getHead(authed, "/sites", s.apiSites)
	getHead(authed, "/sites/:site", s.apiSite)
	authed.POST("/sites/:site/assignments", s.apiAssign)
	getHead(authed, "/assignments", s.apiAssignments)
	getHead(authed, "/assignments/:id", s.apiAssignment)
	authed.DELETE("/assignments/:id", s.apiUnassign)
	authed.POST("/assignments/:id/decision", s.apiDecide)
	authed.POST("/assignments/:id/extension", s.apiRequestExtension)
	authed.PUT("/customers/:customer/partner-permission", s.apiSetPermission(true))
	authed.DELETE("/customers/:customer/partner-permission", s.apiSetPermission(false))
	getHead(authed, "/customers/:customer/policy", s.apiPolicy)
	authed.PUT("/customers/:customer/policy", s.apiSetPolicy)
	authed.POST("/customers/:customer/users", s.apiInvite(store.KindCustomer, "customer"))
	getHead(authed, "/customers/:customer/users", s.apiUsers(store.KindCustomer, "customer"))
	authed.POST("/partners/:partner/users", s.apiInvite(store.KindPartner, "partner"))
	getHead(authed, "/partners/:partner/users", s.apiUsers(store.KindPartner, "partner"))
	authed.PATCH("/users/:id", s.apiPatchUser)
	authed.POST("/users/:id/invitation", s.apiResendInvitation)
	authed.DELETE("/users/:id/invitation", s.apiWithdrawInvitation)
	authed.POST("/assignments/:id/credential", s.apiReissueCredential)
	getHead(authed, "/audit", s.apiAudit)
	if s.cfg.DevMailbox {
		getHead(api, "/dev/mail", s.mailboxAdmin, s.apiDevMail)
		getHead(r, "/dev/mail", s.mailboxAdmin, s.pageDevMail)
		if s.cfg.DevDirectory != nil {
			getHead(r, "/dev/directory", s.mailboxAdmin, s.pageDevDirectory)
			getHead(r, "/static/live.js", s.liveJS)
		}
		if s.cfg.DevChat != nil {
			getHead(r, "/dev/chat", s.mailboxAdmin, s.pageDevChat)
			r.POST("/dev/chat", s.mailboxAdmin, s.pageDevChatPress)
		}
	}

	r.POST("/integrations/teams/messages", s.teamsMessages)
	r.POST("/integrations/slack/interactions", s.slackInteractions)

	getHead(r, "/", s.pageHome)
	getHead(r, "/login", s.pageLogin)
	r.POST("/login", s.pageLoginPost)
	r.GET("/sso/start", s.perClient(s.svc.Limits.SSOStartClient), s.ssoStart)
	r.GET("/sso/callback", s.ssoCallback)
	r.POST("/logout", s.pageLogout)
	getHead(r, "/approvals/:token", s.pageApproval)
	getHead(r, "/register/:token", s.pageRegister)
	r.POST("/register/:token", selfService, s.pageRegisterPost)
	getHead(r, "/forgot-password", s.pageForgot)
	r.POST("/forgot-password", selfService, s.pageForgotPost)
	getHead(r, "/reset/:token", s.pageReset)
	r.POST("/reset/:token", selfService, s.pageResetPost)
	r.POST("/approvals/:token", s.perClient(s.svc.Limits.ApprovalClient), s.pageApprovalPost)
	pages := r.Group("", s.requirePageUser, s.auditRefusals)
	getHead(pages, "/sites", s.pageSites)
	getHead(pages, "/sites/:site", s.pageSite)
	pages.POST("/sites/:site/assignments", s.pageAssignPost)
	getHead(pages, "/assignments/:id", s.pageAssignment)
	getHead(pages, "/assignments/:id/unassign", s.pageUnassign)
	pages.POST("/assignments/:id/unassign", s.pageUnassignPost)
	pages.POST("/assignments/:id/decision", s.pageDecidePost)
	pages.POST("/assignments/:id/extension", s.pageExtensionPost)
	getHead(pages, "/requests", s.pageRequests)
	pages.POST("/customers/:customer/permission", s.pagePermissionPost)
	getHead(pages, "/customers/:customer/policy", s.pagePolicy)
	pages.POST("/customers/:customer/policy", s.pagePolicyPost)
	getHead(pages, "/credentials/:id", s.pageCredential)
	pages.POST("/credentials/:id", s.pageCredentialPost)
	pages.POST("/credentials/:id/reissue", s.pageCredentialReissue)
	getHead(pages, "/users", s.pageUsers)
	pages.POST("/users", s.pageInvitePost)
	pages.POST("/users/:id/invitation", s.pageResendPost)
	pages.POST("/users/:id/invitation/withdraw", s.pageWithdrawPost)
	pages.POST("/users/:id/status", s.pageStatusPost)
	pages.POST("/users/:id/roles", s.pageRolesPost)
	for _, rt := range r.Routes() {
		methods[rt.Method] = true
	}
	return r
}

func prefixStrings(ps []netip.Prefix) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz checks the store and Temporal.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := gin.H{"store": "ok", "temporal": "ok"}
	status := http.StatusOK
	storeErr, temporalErr := s.svc.Ready(ctx)
	if storeErr != nil {
		checks["store"], status = "unavailable", http.StatusServiceUnavailable
	}
	if temporalErr != nil {
		checks["temporal"], status = "unavailable", http.StatusServiceUnavailable
	}
	c.JSON(status, checks)
}

// teamsMessages is the Teams bot's messages endpoint (SPEC §14): the bot
// verifies each activity's Bot Framework token itself.
func (s *Server) teamsMessages(c *gin.Context) {
	if s.cfg.Teams == nil {
		s.fail(c, problem.NotFound("path", "approvals in Teams are not set up on this service"))
		return
	}
	s.cfg.Teams.ServeHTTP(c.Writer, c.Request)
}
