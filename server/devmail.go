package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

func (s *Server) pageDevMail(c *gin.Context) {
	es, err := s.svc.Mailbox(c.Request.Context(), mailboxReader(c), c.Query("to"))
	if err != nil {
		s.fail(c, err)
		return
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 { // newest first
		es[i], es[j] = es[j], es[i]
	}
	s.render(c, http.StatusOK, "devmail", gin.H{"Emails": es, "To": c.Query("to")})
}
