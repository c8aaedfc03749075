package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// pageDevChat is GET /dev/chat: the dev mode's Teams, each approver's 1:1
// chat with the bot and its cards, under the dev mailbox's rules.
func (s *Server) pageDevChat(c *gin.Context) {
	s.render(c, http.StatusOK, "devchat", gin.H{"Conversations": s.cfg.DevChat.Conversations(), "Tenant": s.cfg.DevChat.Tenant})
}

// pageDevChatPress presses a card's button as the approver whose chat
// holds it: Teams' invoke, signed by the stand-in's issuer, to the bot.
func (s *Server) pageDevChatPress(c *gin.Context) {
	if err := s.cfg.DevChat.Press(c.PostForm("card"), c.PostForm("verb")); err != nil {
		s.log.Warn("dev chat press", "error", err)
	}
	c.Redirect(http.StatusSeeOther, "/dev/chat#card-"+c.PostForm("card"))
}
