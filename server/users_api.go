package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/service"
)

// apiInvite is POST /api/v1/partners/{partner}/users and
// /api/v1/customers/{customer}/users: an administrator invites a user.
func (s *Server) apiInvite(kind, param string) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, _ := actor(c)
		var req inviteRequest
		if err := decodeJSON(c, &req); err != nil {
			s.fail(c, err)
			return
		}
		invited, err := s.svc.Invite(c.Request.Context(), u, kind, c.Param(param), service.NewUser(req))
		if invited.ID == "" {
			s.fail(c, err)
			return
		}
		c.Header("Location", "/api/v1/users/"+url.PathEscape(invited.ID))
		if err != nil { // added, but the email did not go
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, newManagedUserView(invited))
	}
}

// apiUsers is GET /api/v1/partners/{partner}/users and
// /api/v1/customers/{customer}/users: the organization's users, for its
// administrators.
func (s *Server) apiUsers(kind, param string) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, _ := actor(c)
		_, us, err := s.svc.OrgUsers(c.Request.Context(), u, kind, c.Param(param))
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"users": mapViews(us, newManagedUserView)})
	}
}

func (s *Server) apiPatchUser(c *gin.Context) {
	u, _ := actor(c)
	var req userPatchRequest
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	changed, err := s.svc.UpdateUser(c.Request.Context(), u, c.Param("id"), service.UserPatch(req))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newManagedUserView(s.svc.Managed(c.Request.Context(), changed)))
}

func (s *Server) apiResendInvitation(c *gin.Context) {
	u, _ := actor(c)
	if c.Request.ContentLength > 0 {
		s.fail(c, problem.Invalid("", "this request takes no body"))
		return
	}
	invited, err := s.svc.ResendInvitation(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, newManagedUserView(s.svc.Managed(c.Request.Context(), invited)))
}

func (s *Server) apiWithdrawInvitation(c *gin.Context) {
	u, _ := actor(c)
	if _, err := s.svc.WithdrawInvitation(c.Request.Context(), u, c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// inviteRequest is the body of an invitation.
type inviteRequest struct {
	Email string   `json:"email"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

// userPatchRequest is the body of PATCH /api/v1/users/{id}.
type userPatchRequest struct {
	Status *string   `json:"status"`
	Roles  *[]string `json:"roles"`
}

// linkRequest is the body of registration and of a password reset.
type linkRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// linkBody reads the body of a one-time link's use: the token and the new
// password, both required.
func (s *Server) linkBody(c *gin.Context) (linkRequest, bool) {
	var req linkRequest
	err := decodeJSON(c, &req)
	if err == nil {
		err = required(map[string]string{"token": req.Token, "password": req.Password})
	}
	if err != nil {
		s.fail(c, err)
		return req, false
	}
	return req, true
}

func (s *Server) apiRegister(c *gin.Context) {
	req, ok := s.linkBody(c)
	if !ok {
		return
	}
	u, err := s.svc.Register(c.Request.Context(), req.Token, req.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": newUserView(u), "detail": "registered: log in with POST /api/v1/session"})
}

func (s *Server) apiRequestPasswordReset(c *gin.Context) {
	var req struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if err := required(map[string]string{"email": req.Email}); err != nil {
		s.fail(c, err)
		return
	}
	if !s.allow(c, s.svc.Limits.SelfServiceAccount, service.AccountKey(req.Email)) {
		return
	}
	s.svc.RequestPasswordReset(req.Email)
	c.JSON(http.StatusAccepted, gin.H{"detail": resetSent(s.svc.Config().PasswordResetTTL)})
}

func resetSent(ttl time.Duration) string {
	return "if an active account has this email address, a link to choose a new password is on its way; it works once, for " + domain.HumanDuration(ttl)
}

func (s *Server) apiCompletePasswordReset(c *gin.Context) {
	req, ok := s.linkBody(c)
	if !ok {
		return
	}
	u, err := s.svc.ResetPassword(c.Request.Context(), req.Token, req.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": newUserView(u), "detail": "password changed; every session ended: log in again"})
}

func (s *Server) apiReissueCredential(c *gin.Context) {
	u, _ := actor(c)
	if c.Request.ContentLength > 0 {
		s.fail(c, problem.Invalid("", "this request takes no body"))
		return
	}
	a, err := s.svc.ReissueCredential(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	view := "/credentials/" + url.PathEscape(a.ID)
	c.Header("Location", view)
	c.JSON(http.StatusCreated, gin.H{"assignment_id": a.ID, "view": view,
		"detail": "a new temporary password was issued and the old one destroyed; view it once, logged in, at " + view})
}
