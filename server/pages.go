package server

import (
	"embed"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/rules"
)

//go:embed templates/*.html templates/style.css templates/assign.js templates/live.js templates/contents.js
var templateFS embed.FS

type pages struct {
	byName map[string]*template.Template
	css    []byte
	js     []byte // the Assign form's role filter
	live   []byte // keeps the dev directory live
	toc    []byte // opens the API reference's operation a link names
}

var pageNames = []string{"error", "login", "sites", "site", "assignment", "unassign", "requests", "approval", "approval_done",
	"credential", "devmail", "devdirectory", "devchat", "rules", "api", "users", "register", "forgot", "reset", "sso_redirect", "policy"}

func mustParsePages() *pages {
	fns := template.FuncMap{
		"time":      fmtTime,
		"state":     rules.StateText,
		"edition":   editionName,
		"linkify":   linkify,
		"open":      domain.OpenState,
		"join":      strings.Join,
		"rule":      ruleLink,
		"rules":     withRuleLinks,
		"anchor":    opAnchor,
		"has":       slices.Contains[[]string],
		"admin":     isAdmin,
		"human":     humanText,
		"kind":      emailKindText,
		"delivery":  deliveryText,
		"via":       domain.ViaWords,
		"channel":   channelName,
		"chatstate": chatDeliveryText,
		"name":      nameOf,
		"progress":  approvalProgress,
		"duration":  policy.Human,
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		p.byName[name] = template.Must(template.New("layout.html").Funcs(fns).ParseFS(templateFS,
			"templates/layout.html", "templates/"+name+".html"))
	}
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	p.css = css
	if p.js, err = templateFS.ReadFile("templates/assign.js"); err != nil {
		panic(err)
	}
	if p.live, err = templateFS.ReadFile("templates/live.js"); err != nil {
		panic(err)
	}
	if p.toc, err = templateFS.ReadFile("templates/contents.js"); err != nil {
		panic(err)
	}
	return p
}

// render executes a page inside the layout; data gets the logged-in user.
func (s *Server) render(c *gin.Context, status int, name string, data gin.H) {
	if data == nil {
		data = gin.H{}
	}
	u, ok := actor(c)
	if ok {
		data["User"], data["SignedIn"] = u, signedIn(c)
	}
	data["DevMailbox"] = s.cfg.DevMailbox && (s.mailboxOpen(c) || isAdmin(u))
	data["DevDirectory"] = data["DevMailbox"] == true && s.cfg.DevDirectory != nil
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	if err := s.pages.byName[name].Execute(c.Writer, data); err != nil {
		s.log.Error("render page", "page", name, "error", err)
	}
}

func (s *Server) styleCSS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/css; charset=utf-8", s.pages.css)
}

func (s *Server) assignJS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", s.pages.js)
}

func (s *Server) contentsJS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", s.pages.toc)
}
