package server

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
)

var userNotices = map[string]string{
	"invited":     "Invitation sent.",
	"resent":      "A new invitation was sent; the earlier link no longer works.",
	"withdrawn":   "The invitation was withdrawn; its link no longer works.",
	"suspended":   "User suspended: logged out everywhere, and every open assignment of theirs is ending.",
	"reactivated": "User reactivated: they can log in again.",
	"roles":       "Roles saved.",
}

func (s *Server) pageUsers(c *gin.Context) {
	s.renderUsers(c, http.StatusOK, gin.H{"Notice": userNotices[c.Query("notice")]})
}

// renderUsers shows the Users page of the actor's organization, with data
// (a notice, or a refused form and its error).
func (s *Server) renderUsers(c *gin.Context, status int, data gin.H) {
	u, _ := actor(c)
	kind, id := service.OwnOrg(u)
	o, users, err := s.svc.OrgUsers(c.Request.Context(), u, kind, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	data["Org"], data["Users"], data["Roles"] = o, users, rules.RolesOf(kind)
	if _, ok := data["Form"]; !ok {
		data["Form"] = service.NewUser{}
	}
	s.render(c, status, "users", data)
}

// usersResult redirects to the Users page with a notice, or shows the page
// again with the refusal.
func (s *Server) usersResult(c *gin.Context, err error, notice string, form service.NewUser) {
	if p := problem.As(err); p != nil && p.Kind != problem.KindNotFound {
		s.renderUsers(c, status(p), gin.H{"Error": p, "Form": form})
		return
	} else if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/users?notice="+notice)
}

func (s *Server) pageInvitePost(c *gin.Context) {
	u, _ := actor(c)
	kind, id := service.OwnOrg(u)
	form := service.NewUser{Email: c.PostForm("email"), Name: c.PostForm("name"), Roles: c.PostFormArray("roles")}
	invited, err := s.svc.Invite(c.Request.Context(), u, kind, id, form)
	if p := problem.As(err); invited.ID != "" && p != nil { // added, but the email did not go
		s.renderUsers(c, status(p), gin.H{"Error": p})
		return
	}
	s.usersResult(c, err, "invited", form)
}

func (s *Server) pageResendPost(c *gin.Context) {
	u, _ := actor(c)
	_, err := s.svc.ResendInvitation(c.Request.Context(), u, c.Param("id"))
	s.usersResult(c, err, "resent", service.NewUser{})
}

func (s *Server) pageWithdrawPost(c *gin.Context) {
	u, _ := actor(c)
	_, err := s.svc.WithdrawInvitation(c.Request.Context(), u, c.Param("id"))
	s.usersResult(c, err, "withdrawn", service.NewUser{})
}

func (s *Server) pageStatusPost(c *gin.Context) {
	u, _ := actor(c)
	status := c.PostForm("status")
	_, err := s.svc.UpdateUser(c.Request.Context(), u, c.Param("id"), service.UserPatch{Status: &status})
	notice := "reactivated"
	if status == store.StatusSuspended {
		notice = "suspended"
	}
	s.usersResult(c, err, notice, service.NewUser{})
}

func (s *Server) pageRolesPost(c *gin.Context) {
	u, _ := actor(c)
	roles := c.PostFormArray("roles")
	_, err := s.svc.UpdateUser(c.Request.Context(), u, c.Param("id"), service.UserPatch{Roles: &roles})
	s.usersResult(c, err, "roles", service.NewUser{})
}

// pageRegister shows the registration form of an invitation link; it
// changes nothing (mail scanners open links).
func (s *Server) pageRegister(c *gin.Context) {
	u, o, err := s.svc.LinkUser(c.Request.Context(), c.Param("token"), store.PurposeInvitation)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderLinkForm(c, http.StatusOK, "register", u, o, nil)
}

// renderLinkForm shows a registration or reset form: with the way to the
// organization's provider when it has one, and the password fields unless
// it disabled passwords here.
func (s *Server) renderLinkForm(c *gin.Context, status int, page string, u store.User, o service.Org, p *problem.Error) {
	provider, password, err := s.svc.SignInWays(c.Request.Context(), u)
	if err != nil {
		s.fail(c, err)
		return
	}
	data := gin.H{"Invitee": u, "Org": o, "Token": c.Param("token"), "Provider": provider, "Password": password,
		"SSOStart": "/sso/start?" + url.Values{"email": {u.Email}}.Encode()}
	if p != nil {
		data["Error"] = p
	}
	s.render(c, status, page, data)
}

func (s *Server) pageRegisterPost(c *gin.Context) {
	token := c.Param("token")
	if err := confirmed(c); err != nil {
		s.linkFormError(c, "register", store.PurposeInvitation, err)
		return
	}
	if _, err := s.svc.Register(c.Request.Context(), token, c.PostForm("password")); err != nil {
		s.linkFormError(c, "register", store.PurposeInvitation, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/login?notice=registered")
}

// confirmed checks that a page's two password fields match.
func confirmed(c *gin.Context) error {
	if c.PostForm("password") != c.PostForm("password_confirm") {
		return problem.Unprocessable("", "password_confirm", "the two passwords are not the same; type the new password twice")
	}
	return nil
}

// linkFormError shows a registration or reset form again with a refusal
// of the password; a link that does not work gets its own page.
func (s *Server) linkFormError(c *gin.Context, page, purpose string, err error) {
	p := problem.As(err)
	if p == nil || (p.Field != "password" && p.Field != "password_confirm") {
		s.fail(c, err)
		return
	}
	u, o, lerr := s.svc.LinkUser(c.Request.Context(), c.Param("token"), purpose)
	if lerr != nil {
		s.fail(c, lerr)
		return
	}
	s.renderLinkForm(c, status(p), page, u, o, p)
}

func (s *Server) pageForgot(c *gin.Context) {
	s.render(c, http.StatusOK, "forgot", gin.H{})
}

func (s *Server) pageForgotPost(c *gin.Context) {
	email := c.PostForm("email")
	if err := required(map[string]string{"email": email}); err != nil {
		s.render(c, http.StatusBadRequest, "forgot", gin.H{"Error": problem.As(err)})
		return
	}
	if !s.allow(c, s.svc.Limits.SelfServiceAccount, service.AccountKey(email)) {
		return
	}
	s.svc.RequestPasswordReset(email)
	ttl := s.svc.Config().PasswordResetTTL
	s.render(c, http.StatusAccepted, "forgot", gin.H{"Sent": resetSent(ttl) + ".", "TTL": domain.HumanDuration(ttl)})
}

func (s *Server) pageReset(c *gin.Context) {
	u, o, err := s.svc.LinkUser(c.Request.Context(), c.Param("token"), store.PurposePasswordReset)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderLinkForm(c, http.StatusOK, "reset", u, o, nil)
}

func (s *Server) pageResetPost(c *gin.Context) {
	if err := confirmed(c); err != nil {
		s.linkFormError(c, "reset", store.PurposePasswordReset, err)
		return
	}
	if _, err := s.svc.ResetPassword(c.Request.Context(), c.Param("token"), c.PostForm("password")); err != nil {
		s.linkFormError(c, "reset", store.PurposePasswordReset, err)
		return
	}
	s.logout(c) // this browser's session, if any, ended with the others
	c.Redirect(http.StatusSeeOther, "/login?notice=reset")
}

func (s *Server) pageCredentialReissue(c *gin.Context) {
	u, _ := actor(c)
	a, err := s.svc.ReissueCredential(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/credentials/"+url.PathEscape(a.ID)+"?notice=reissued")
}
