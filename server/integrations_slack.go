package server

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/problem"
)

// slackInteractions is the interactivity URL of the customers' Slack apps
// (SPEC §14): Slack posts each button click here, signed with the app's
// signing secret. The signature is over the raw body, so the body is read
// as sent, never as a parsed form. A click answered (decided, a link
// followed, a replay) is 200 with no body: the answer is the message
// itself, redrawn in Slack; a refusal is problem+json, audited.
func (s *Server) slackInteractions(c *gin.Context) {
	if s.cfg.Slack == nil {
		s.fail(c, problem.NotFound("", "no customer approves in Slack here"))
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(c, tooLarge(tooBig.Limit))
		} else {
			s.fail(c, problem.Invalid("", "the body could not be read"))
		}
		return
	}
	if err := s.cfg.Slack.Handle(c.Request.Context(), c.Request.Header, body); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusOK)
}
