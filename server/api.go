package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/docs"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
)

// maxID bounds IDs taken from requests.
const maxID = 100

func (s *Server) apiLogin(c *gin.Context) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if err := required(map[string]string{"email": req.Email, "password": req.Password}); err != nil {
		s.fail(c, err)
		return
	}
	token, u, device, err := s.svc.Login(c.Request.Context(), clientKey(c), deviceCookie(c), req.Email, req.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.setSessionCookie(c, token)
	s.setDeviceCookie(c, device)
	c.JSON(http.StatusCreated, gin.H{"token": token, "token_type": "Bearer", "expires_in": int(s.svc.Config().SessionTTL.Seconds()), "user": newUserView(u)})
}

func (s *Server) apiLogout(c *gin.Context) {
	s.logout(c)
	c.Status(http.StatusNoContent)
}

func (s *Server) apiMe(c *gin.Context) {
	u, _ := actor(c)
	v, _ := c.Get(sessionKey)
	sess, _ := v.(session)
	c.JSON(http.StatusOK, meView{userView: newUserView(u), SignedIn: signInView{Method: sess.method, Issuer: sess.issuer}})
}

// meView is the caller, and how its session was opened.
type meView struct {
	userView
	SignedIn signInView `json:"signed_in"`
}

type signInView struct {
	Method string `json:"method"`
	Issuer string `json:"issuer,omitempty"`
}

func (s *Server) apiSites(c *gin.Context) {
	u, _ := actor(c)
	sites, err := s.svc.Sites(c.Request.Context(), u)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"sites": mapViews(sites, newSiteView)})
}

func (s *Server) apiSite(c *gin.Context) {
	u, _ := actor(c)
	d, err := s.svc.Site(c.Request.Context(), u, c.Param("site"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newSiteDetailView(d))
}

// assignRequest is the body of POST /api/v1/sites/{site}/assignments.
type assignRequest struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
	Reason string `json:"reason"`
	// Duration (a Go duration, as an extension's) and StartsAt (RFC
	// 3339) are optional; the site's policy bounds them (R10).
	Duration string `json:"duration"`
	StartsAt string `json:"starts_at"`
}

func (s *Server) apiAssign(c *gin.Context) {
	u, _ := actor(c)
	var req assignRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if err := boundedIDs(map[string]string{"user_id": req.UserID, "role": req.Role, "duration": req.Duration, "starts_at": req.StartsAt}); err != nil {
		s.fail(c, err)
		return
	}
	a, created, err := s.svc.Assign(c.Request.Context(), u, rules.AssignRequest{SiteID: c.Param("site"), UserID: req.UserID, Role: req.Role, Reason: req.Reason,
		Duration: req.Duration, StartsAt: req.StartsAt})
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		c.Header("Location", "/api/v1/assignments/"+url.PathEscape(a.ID))
	}
	c.JSON(status, newAssignmentView(a))
}

func (s *Server) apiAssignments(c *gin.Context) {
	u, _ := actor(c)
	as, err := s.svc.Assignments(c.Request.Context(), u, service.AssignmentQuery{SiteID: c.Query("site"), State: c.Query("state"), PartnerUserID: c.Query("user")})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"assignments": assignmentViews(as)})
}

func (s *Server) apiAssignment(c *gin.Context) {
	u, _ := actor(c)
	d, err := s.svc.Assignment(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newAssignmentDetailView(d))
}

func (s *Server) apiUnassign(c *gin.Context) {
	u, _ := actor(c)
	var req struct {
		Reason string `json:"reason"`
	}
	if c.Request.ContentLength != 0 || c.GetHeader("Content-Type") != "" {
		if err := decodeJSON(c, &req); err != nil {
			s.fail(c, err)
			return
		}
	}
	a, err := s.svc.Unassign(c.Request.Context(), u, c.Param("id"), req.Reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"id": a.ID, "state": a.State, "detail": "the assignment is being ended; GET it to follow"})
}

func (s *Server) apiDecide(c *gin.Context) {
	u, _ := actor(c)
	var req struct {
		Decision  string `json:"decision"`
		Extension int    `json:"extension"` // the extension request decided; 0 or absent: the first request
	}
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	approve, err := parseDecision(req.Decision)
	if err == nil && req.Extension < 0 {
		err = problem.Invalid("extension", "extension must be the number of an extension request")
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.svc.Decide(c.Request.Context(), u, c.Param("id"), req.Extension, approve)
	switch {
	case errors.Is(err, service.ErrDecisionPending):
		c.JSON(http.StatusAccepted, newAssignmentView(a))
	case err != nil:
		s.fail(c, err)
	default:
		c.JSON(http.StatusOK, newAssignmentView(a))
	}
}

func parseDecision(d string) (bool, error) {
	switch d {
	case "approve":
		return true, nil
	case "deny":
		return false, nil
	}
	return false, problem.Invalid("decision", `decision must be "approve" or "deny"`)
}

func (s *Server) apiSetPermission(granted bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, _ := actor(c)
		if granted && c.Request.ContentLength != 0 { // {"until"}: granted until then (SPEC §15)
			s.apiSetPermissionUntil(c, u)
			return
		}
		if c.Request.ContentLength > 0 {
			s.fail(c, problem.Invalid("", "this request takes no body"))
			return
		}
		cust, err := s.svc.SetPermission(c.Request.Context(), u, c.Param("customer"), granted)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"customer_id": cust.ID, "partner_id": cust.PartnerID, "granted": granted})
	}
}

// accessDenied and accessAllowed are the access check's answers, the keys
// in the order gin.H would write them.
type accessDenied struct {
	Allowed bool   `json:"allowed"`
	Site    string `json:"site"`
	User    string `json:"user"`
}

type accessAllowed struct {
	Allowed      bool       `json:"allowed"`
	AssignmentID string     `json:"assignment_id"`
	Site         string     `json:"site"`
	Until        *time.Time `json:"until"`
	User         string     `json:"user"`
}

// apiAccess answers a gateway (or a user who may see the site): may this
// user reach this site now? A gateway asks for every connection, so the
// route does the least: one indexed read of the grants.
func (s *Server) apiAccess(c *gin.Context) {
	siteID, userID := c.Query("site"), c.Query("user")
	for _, f := range [...]struct{ name, value string }{{"site", siteID}, {"user", userID}} {
		if strings.TrimSpace(f.value) == "" {
			s.fail(c, problem.Invalid(f.name, "%s is required", f.name))
			return
		}
	}
	var reader *store.User
	if !s.isGateway(c) {
		u, ok := actor(c)
		if !ok {
			s.fail(c, problem.Unauthorized("send the gateway token or a session token as \"Authorization: Bearer <token>\""))
			return
		}
		reader = &u
	}
	g, ok, err := s.svc.Access(c.Request.Context(), reader, siteID, userID)
	if err != nil {
		s.fail(c, err)
		return
	} else if !ok {
		c.JSON(http.StatusOK, accessDenied{Site: siteID, User: userID})
		return
	}
	c.JSON(http.StatusOK, accessAllowed{Allowed: true, AssignmentID: g.AssignmentID, Site: siteID, Until: g.ExpiresAt, User: userID})
}

func (s *Server) apiAudit(c *gin.Context) {
	u, _ := actor(c)
	limit := 0
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(c, problem.Invalid("limit", "limit must be a number from 1 to 1000"))
			return
		}
		limit = n
	}
	es, err := s.svc.AuditLog(c.Request.Context(), u, c.Query("assignment"), limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"entries": mapViews(es, newAuditView)})
}

func (s *Server) apiDevMail(c *gin.Context) {
	es, err := s.svc.Mailbox(c.Request.Context(), mailboxReader(c), mailboxQuery(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"messages": mapViews(es, newMailView)})
}

// apiIndex answers /api/v1 with where the API describes itself.
func (s *Server) apiIndex(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"openapi": docs.OpenAPIPath, "reference": docs.APIReferencePath})
}

func (s *Server) apiOpenAPI(c *gin.Context) {
	doc, err := docs.OpenAPIJSON()
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", doc)
}

func (s *Server) setSessionCookie(c *gin.Context, token string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(s.svc.Config().SessionTTL / time.Second)})
}

// deviceCookieName names the cookie that proves a browser logged in to an
// account before: others' failed logins never lock it out.
const deviceCookieName = "pa_device"

func deviceCookie(c *gin.Context) string {
	v, _ := c.Cookie(deviceCookieName)
	return v
}

// setDeviceCookie keeps the device cookie of the account that just logged
// in, for a year.
func (s *Server) setDeviceCookie(c *gin.Context, value string) {
	if value == "" || value == deviceCookie(c) {
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: deviceCookieName, Value: value, Path: "/", HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(365 * 24 * time.Hour / time.Second)})
}

// logout ends the session that authenticated the request: the bearer
// token when one was sent, else the cookie. The cookie is cleared only
// when its session is the one ended.
func (s *Server) logout(c *gin.Context) {
	v, ok := c.Get(sessionKey)
	if !ok {
		return
	}
	sess := v.(session)
	s.svc.Logout(c.Request.Context(), sess.token)
	if cookie, err := c.Cookie(sessionCookie); sess.fromCookie || (err == nil && cookie == sess.token) {
		http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
			Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	}
}

// required names the first empty field.
func required(fields map[string]string) error {
	for _, name := range sortedKeys(fields) {
		if strings.TrimSpace(fields[name]) == "" {
			return problem.Invalid(name, "%s is required", name)
		}
	}
	return nil
}

func boundedIDs(fields map[string]string) error {
	for _, name := range sortedKeys(fields) {
		if len(fields[name]) > maxID {
			return problem.Invalid(name, "%s is too long", name)
		}
	}
	return nil
}
