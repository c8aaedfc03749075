package server

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/service"
)

// ssoCookie binds a sign-in at the organization's provider to the browser
// that started it. It goes only to the callback, and lives as long as the
// sign-in may take.
const ssoCookie = "pa_sso"

// ssoStart is where the login page's email goes: to the organization's
// provider when it has one, else to the password step.
func (s *Server) ssoStart(c *gin.Context) {
	email, next := c.Query("email"), safeNext(c.Query("next"))
	step, err := s.svc.SSOStart(c.Request.Context(), email, next)
	if p := problem.As(err); p != nil {
		retryAfter(c, p)
		s.render(c, status(p), "login", gin.H{"Next": next, "Error": p.Detail, "EmailFirst": email})
		return
	} else if err != nil {
		s.fail(c, err)
		return
	}
	if step.Redirect == "" {
		c.Redirect(http.StatusSeeOther, "/login?"+url.Values{"email": {email}, "next": {next}}.Encode())
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: ssoCookie, Value: step.Browser, Path: "/sso/callback", HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(service.SSOWait.Seconds())})
	c.Header("Cache-Control", "no-store")
	// A page that moves on by itself rather than a redirect: the login
	// form may only be sent to this site (the pages' form-action policy),
	// and a browser holds a form's redirects to that too.
	s.render(c, http.StatusOK, "sso_redirect", gin.H{"Redirect": step.Redirect, "Org": step.OrgName})
}

// ssoCallback takes the provider's answer: a session, or a page that says
// why not and what to do. The cookie is spent either way.
func (s *Server) ssoCallback(c *gin.Context) {
	browser, _ := c.Cookie(ssoCookie)
	http.SetCookie(c.Writer, &http.Cookie{Name: ssoCookie, Value: "", Path: "/sso/callback", HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c.Header("Cache-Control", "no-store")
	in, err := s.svc.SSOFinish(c.Request.Context(), service.SSOAnswer{State: c.Query("state"), Code: c.Query("code"),
		Error: c.Query("error"), ErrorText: c.Query("error_description"), Browser: browser, Client: clientKey(c)})
	if err != nil {
		if p := problem.As(err); p != nil {
			c.Set(problemKey, p)
			retryAfter(c, p)
			s.render(c, status(p), "error", gin.H{"Problem": shownProblem{p}})
			return
		}
		s.fail(c, err)
		return
	}
	s.setSessionCookie(c, in.Token)
	c.Redirect(http.StatusSeeOther, safeNext(in.Next))
}
