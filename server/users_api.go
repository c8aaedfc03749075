package server

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// apiInvite is POST /api/v1/partners/{partner}/users and
// /api/v1/customers/{customer}/users: an administrator invites a user.
func (s *Server) apiInvite(kind, param string) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, _ := actor(c)
		var req newUser
		if err := decodeJSON(c, &req); err != nil {
			s.fail(c, err)
			return
		}
		invited, err := s.inviteUser(c, u, kind, c.Param(param), req)
		if invited.ID == "" {
			s.fail(c, err)
			return
		}
		c.Header("Location", "/api/v1/users/"+url.PathEscape(invited.ID))
		if err != nil { // added, but the email did not go
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, s.managedUserView(c, invited))
	}
}

// apiUsers is GET /api/v1/partners/{partner}/users and
// /api/v1/customers/{customer}/users: the organization's users, for its
// administrators.
func (s *Server) apiUsers(kind, param string) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, _ := actor(c)
		us, err := s.orgUsers(c, u, kind, c.Param(param))
		if err != nil {
			s.fail(c, err)
			return
		}
		out := make([]gin.H, len(us))
		for i, x := range us {
			out[i] = s.managedUserView(c, x)
		}
		c.JSON(http.StatusOK, gin.H{"users": out})
	}
}

func (s *Server) apiPatchUser(c *gin.Context) {
	u, _ := actor(c)
	var req userPatch
	if err := decodeJSON(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	changed, err := s.updateUser(c, u, c.Param("id"), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.managedUserView(c, changed))
}

func (s *Server) apiResendInvitation(c *gin.Context) {
	u, _ := actor(c)
	if c.Request.ContentLength > 0 {
		s.fail(c, problem.Invalid("", "this request takes no body"))
		return
	}
	invited, err := s.resendInvitation(c, u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, s.managedUserView(c, invited))
}

func (s *Server) apiWithdrawInvitation(c *gin.Context) {
	u, _ := actor(c)
	if _, err := s.withdrawInvitation(c, u, c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
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
	u, err := s.register(c, req.Token, req.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": userView(u), "detail": "registered: log in with POST /api/v1/session"})
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
	if !s.allow(c, s.limits.SelfServiceAccount, accountKey(req.Email)) {
		return
	}
	if err := s.requestPasswordReset(c, req.Email); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"detail": resetSent(s.cfg.PasswordResetTTL)})
}

func resetSent(ttl time.Duration) string {
	return "if an active account has this email address, a link to choose a new password is on its way; it works once, for " + domain.HumanDuration(ttl)
}

func (s *Server) apiCompletePasswordReset(c *gin.Context) {
	req, ok := s.linkBody(c)
	if !ok {
		return
	}
	u, err := s.resetPassword(c, req.Token, req.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": userView(u), "detail": "password changed; every session ended: log in again"})
}

func (s *Server) apiReissueCredential(c *gin.Context) {
	u, _ := actor(c)
	if c.Request.ContentLength > 0 {
		s.fail(c, problem.Invalid("", "this request takes no body"))
		return
	}
	a, err := s.reissueCredential(c, u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	view := "/credentials/" + url.PathEscape(a.ID)
	c.Header("Location", view)
	c.JSON(http.StatusCreated, gin.H{"assignment_id": a.ID, "view": view,
		"detail": "a new temporary password was issued and the old one destroyed; view it once, logged in, at " + view})
}

// orgUsers lists an organization's users for one of its administrators.
func (s *Server) orgUsers(c *gin.Context, u store.User, kind, id string) ([]store.User, error) {
	o, err := s.managedOrg(c, u, kind, id)
	if err != nil {
		return nil, err
	}
	if o.Kind == store.KindPartner {
		return s.store.PartnerUsers(c, o.ID)
	}
	return s.store.CustomerUsers(c, o.ID)
}

// managedUserView is a user as its administrators see it, with the open
// invitation of a user who has not registered.
func (s *Server) managedUserView(c *gin.Context, u store.User) gin.H {
	v := userView(u)
	v["registered_at"], v["status_changed_at"], v["invited_by"] = u.RegisteredAt, u.StatusChangedAt, u.InvitedBy
	if u.Status == store.StatusInvited {
		inv, err := s.store.OpenInvitation(c, u.ID, s.now())
		if err == nil {
			v["invitation"] = gin.H{"sent_at": inv.CreatedAt, "expires_at": inv.ExpiresAt}
		} else if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("read invitation", "user", u.ID, "error", err)
		}
	}
	return v
}
