package server

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/docs"
)

// pageRules serves docs/rules.md, which the problem types and the pages' rule
// names link to.
func (s *Server) pageRules(c *gin.Context) {
	body, err := docs.RulesHTML()
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "rules", gin.H{"Body": template.HTML(body)}) // our own Markdown, rendered without raw HTML
}

// pageAPI is the readable reference of the JSON API, made from its OpenAPI
// document.
func (s *Server) pageAPI(c *gin.Context) {
	ops, err := docs.Operations()
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "api", gin.H{"Ops": ops, "OpenAPIPath": docs.OpenAPIPath})
}

// opAnchor is an operation's id on the reference page: "post-api-v1-session".
func opAnchor(method, path string) string {
	return strings.ToLower(method) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(path)
}
