package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/redirect"
)

func (s *Server) pageHome(c *gin.Context) {
	if _, ok := actor(c); ok {
		c.Redirect(http.StatusSeeOther, "/sites")
		return
	}
	c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) pageLogin(c *gin.Context) {
	// Email first (/sso/start); the password step once the email is
	// known not to sign in through its organization's provider.
	s.render(c, http.StatusOK, "login", gin.H{"Next": safeNext(c.Query("next")), "Notice": loginNotices[c.Query("notice")],
		"Email": c.Query("email")})
}

func (s *Server) pageLoginPost(c *gin.Context) {
	next := safeNext(c.PostForm("next"))
	token, _, device, err := s.svc.Login(c.Request.Context(), clientKey(c), deviceCookie(c), c.PostForm("email"), c.PostForm("password"))
	if err != nil {
		p := problem.As(err)
		if p == nil {
			s.fail(c, err)
			return
		}
		retryAfter(c, p)
		s.render(c, status(p), "login", gin.H{"Next": next, "Email": c.PostForm("email"), "Error": p.Detail})
		return
	}
	s.setSessionCookie(c, token)
	s.setDeviceCookie(c, device)
	c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) pageLogout(c *gin.Context) {
	s.logout(c)
	c.Redirect(http.StatusSeeOther, "/login")
}

// safeNext keeps redirects after login on this site.
func safeNext(next string) string { return redirect.SameOrigin(next, "/sites") }

var loginNotices = map[string]string{
	"registered": "You are registered. Log in with your email address and the password you chose.",
	"reset":      "Your password was changed and every session ended. Log in with the new password.",
}
