package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

func (s *Server) pageCredential(c *gin.Context) {
	u, _ := actor(c)
	cred, err := s.svc.Credential(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	notice := ""
	if c.Query("notice") == "reissued" {
		notice = "A new temporary password was issued; the previous one no longer works."
	}
	s.render(c, http.StatusOK, "credential", gin.H{"A": cred.Assignment, "Available": cred.Available, "Viewed": cred.ViewedAt,
		"Notice": notice, "CanReissue": cred.CanReissue})
}

func (s *Server) pageCredentialPost(c *gin.Context) {
	u, _ := actor(c)
	login, password, err := s.svc.ViewCredential(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "credential", gin.H{"Login": login, "Password": password, "Shown": true})
}
