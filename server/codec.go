package server

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/converter"

	"github.com/partneraccess/partneraccess/internal/problem"
)

// maxCodecBody bounds one codec request: a page of a workflow's history.
const maxCodecBody = 8 << 20

// codecRoutes serve POST /codec/encode and /codec/decode in the shape the
// Temporal UI and CLI call (--codec-endpoint): open to a caller on loopback
// while the server listens on loopback only, else only with the operator's
// token. The UI's origin (TemporalUIURL) may call them from a browser, no
// other.
func (s *Server) codecRoutes(r *gin.Engine) {
	h := converter.NewPayloadCodecHTTPHandler(s.cfg.Codec)
	serve := func(c *gin.Context) {
		s.codecCORS(c)
		if !(s.cfg.CodecOpen && fromLoopback(c)) && !tokenIs(c, s.cfg.OperatorToken) {
			s.fail(c, problem.Unauthorized("the codec endpoint beyond loopback needs the operator's token (OPERATOR_TOKEN) as a bearer token"))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxCodecBody)
		h.ServeHTTP(c.Writer, c.Request)
	}
	preflight := func(c *gin.Context) {
		s.codecCORS(c)
		c.Status(http.StatusNoContent)
	}
	for _, p := range []string{"/codec/encode", "/codec/decode"} {
		r.POST(p, serve)
		r.OPTIONS(p, preflight)
	}
}

// codecCORS lets the Temporal UI's pages call the codec endpoint.
func (s *Server) codecCORS(c *gin.Context) {
	ui := origin(s.cfg.TemporalUIURL)
	if ui == "" || !strings.EqualFold(c.GetHeader("Origin"), ui) {
		return
	}
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", ui)
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
	h.Set("Access-Control-Max-Age", "600")
	h.Add("Vary", "Origin")
}
