package server

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/docs"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/redirect"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
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
	"credential", "devmail", "devdirectory", "rules", "api", "users", "register", "forgot", "reset", "sso_redirect"}

func mustParsePages() *pages {
	fns := template.FuncMap{
		"time":     fmtTime,
		"state":    rules.StateText,
		"edition":  editionName,
		"linkify":  linkify,
		"open":     domain.OpenState,
		"join":     strings.Join,
		"rule":     ruleLink,
		"rules":    withRuleLinks,
		"anchor":   opAnchor,
		"has":      slices.Contains[[]string],
		"admin":    isAdmin,
		"human":    humanText,
		"kind":     emailKindText,
		"delivery": deliveryText,
		"name":     nameOf,
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

func (s *Server) pageHome(c *gin.Context) {
	if _, ok := actor(c); ok {
		c.Redirect(http.StatusSeeOther, "/sites")
		return
	}
	c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) pageLogin(c *gin.Context) {
	// Email first (/sso/start); the password step once the email is
	// known not to sign in through its organization's provider.
	s.render(c, http.StatusOK, "login", gin.H{"Next": safeNext(c.Query("next")), "Notice": loginNotices[c.Query("notice")],
		"Email": c.Query("email")})
}

func (s *Server) pageLoginPost(c *gin.Context) {
	next := safeNext(c.PostForm("next"))
	token, _, device, err := s.svc.Login(c.Request.Context(), clientKey(c), deviceCookie(c), c.PostForm("email"), c.PostForm("password"))
	if err != nil {
		p := problem.As(err)
		if p == nil {
			s.fail(c, err)
			return
		}
		retryAfter(c, p)
		s.render(c, status(p), "login", gin.H{"Next": next, "Email": c.PostForm("email"), "Error": p.Detail})
		return
	}
	s.setSessionCookie(c, token)
	s.setDeviceCookie(c, device)
	c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) pageLogout(c *gin.Context) {
	s.logout(c)
	c.Redirect(http.StatusSeeOther, "/login")
}

// safeNext keeps redirects after login on this site.
func safeNext(next string) string { return redirect.SameOrigin(next, "/sites") }

func (s *Server) pageSites(c *gin.Context) {
	u, _ := actor(c)
	sites, err := s.svc.Sites(c.Request.Context(), u)
	if err != nil {
		s.fail(c, err)
		return
	}
	data := gin.H{"Sites": sites}
	if u.Kind == store.KindCustomer {
		v, err := s.svc.Customer(c.Request.Context(), u)
		if err != nil {
			s.fail(c, err)
			return
		}
		data["Customer"], data["Partner"], data["Permitted"] = v.Customer, v.Partner, v.Permitted
		data["CanSetPermission"], data["HaveAccess"] = v.CanSetPermission, v.HaveAccess
	}
	s.render(c, http.StatusOK, "sites", data)
}

func (s *Server) pageSite(c *gin.Context) {
	s.renderSite(c, http.StatusOK, gin.H{})
}

func (s *Server) renderSite(c *gin.Context, status int, data gin.H) {
	u, _ := actor(c)
	d, err := s.svc.Site(c.Request.Context(), u, c.Param("site"))
	if err != nil {
		s.fail(c, err)
		return
	}
	data["Site"], data["Assignable"], data["Assignments"] = d.Site, d.Assignable, d.Assignments
	if d.NoPermission != nil { // R1: say so instead of offering a form that can only be refused
		data["NoPermission"] = d.NoPermission
	}
	data["CanAssign"] = u.Kind == store.KindPartner && d.Site.Permitted
	s.render(c, status, "site", data)
}

func (s *Server) pageAssignPost(c *gin.Context) {
	u, _ := actor(c)
	req := rules.AssignRequest{SiteID: c.Param("site"), UserID: c.PostForm("user_id"), Role: c.PostForm("role"), Reason: c.PostForm("reason")}
	a, created, err := s.svc.Assign(c.Request.Context(), u, req)
	if p := problem.As(err); p != nil && p.Kind != problem.KindNotFound {
		s.renderSite(c, status(p), gin.H{"Error": p, "Form": req})
		return
	} else if err != nil {
		s.fail(c, err)
		return
	}
	notice := "created"
	if !created {
		notice = "existing"
	}
	c.Redirect(http.StatusSeeOther, "/assignments/"+url.PathEscape(a.ID)+"?notice="+notice)
}

var loginNotices = map[string]string{
	"registered": "You are registered. Log in with your email address and the password you chose.",
	"reset":      "Your password was changed and every session ended. Log in with the new password.",
}

var notices = map[string]string{
	"created":   "Assignment created.",
	"existing":  "This user already has an open assignment to this site (R8); here it is.",
	"unassign":  "Unassign requested: the assignment is ending.",
	"decided":   "Your decision was sent.",
	"extension": "More time was asked for: the approvers have been emailed, and the request is below.",
	"permitted": "Permission updated.",
}

func (s *Server) pageAssignment(c *gin.Context) {
	u, _ := actor(c)
	r, err := s.svc.Assignment(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	a := r.Assignment
	timeline, err := s.svc.Timeline(c.Request.Context(), a)
	if err != nil {
		s.fail(c, err)
		return
	}
	timing := s.svc.Config().Timing
	data := gin.H{
		"A": a, "Timeline": timeline, "Emails": r.Emails, "Extensions": r.Extensions, "Notice": notices[c.Query("notice")],
		"CanUnassign":       rules.CanUnassign(u, a) == nil,
		"CanDecide":         rules.CanDecide(u, a) == nil,
		"CanSeeCredential":  (a.Edition == domain.EditionProfessional || r.Credential) && u.ID == a.PartnerUserID && a.Open(),
		"RevocationPending": r.RevocationPending,
		"CanExtend":         rules.CanAskExtension(u, a) == nil && rules.ExtensionsLeft(r.Extensions, timing.MaxExtensions) == nil,
		"ExtensionChoices":  extensionChoices(timing.AccessDuration),
		"MaxExtensions":     timing.MaxExtensions,
	}
	for _, e := range r.Extensions {
		if rules.CanDecideExtension(u, a, e) == nil {
			data["DecideExtension"] = e
		}
	}
	data["Temporal"] = s.temporalRecord(c.Request.Context(), a)
	// The Temporal UI is for the people who run the service: the
	// partner's administrators, never the customer's users.
	data["ShowTemporalLink"] = u.Kind == store.KindPartner && u.HasRole(store.RolePartnerAdmin)
	data["Names"] = r.Names
	s.render(c, http.StatusOK, "assignment", data)
}

// pageUnassign asks before ending an assignment: the assignment page links
// here, and only the form on this page ends it.
func (s *Server) pageUnassign(c *gin.Context) {
	u, _ := actor(c)
	a, err := s.svc.VisibleAssignment(c.Request.Context(), u, c.Param("id"))
	if err == nil {
		err = rules.CanUnassign(u, a)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "unassign", gin.H{"A": a})
}

func (s *Server) pageUnassignPost(c *gin.Context) {
	u, _ := actor(c)
	a, err := s.svc.Unassign(c.Request.Context(), u, c.Param("id"), c.PostForm("reason"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/assignments/"+url.PathEscape(a.ID)+"?notice=unassign")
}

func (s *Server) pageDecidePost(c *gin.Context) {
	u, _ := actor(c)
	approve, err := parseDecision(c.PostForm("decision"))
	if err != nil {
		s.fail(c, err)
		return
	}
	extension, err := parseExtension(c.PostForm("extension"))
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.svc.Decide(c.Request.Context(), u, c.Param("id"), extension, approve)
	if err != nil && !errors.Is(err, service.ErrDecisionPending) {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/assignments/"+url.PathEscape(a.ID)+"?notice=decided")
}

func (s *Server) pageRequests(c *gin.Context) {
	u, _ := actor(c)
	as, err := s.svc.PendingRequests(c.Request.Context(), u)
	if err != nil {
		s.fail(c, err)
		return
	}
	xs, err := s.svc.PendingExtensions(c.Request.Context(), u)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "requests", gin.H{"Requests": as, "Extensions": xs, "CanDecide": u.IsApprover()})
}

func (s *Server) pagePermissionPost(c *gin.Context) {
	u, _ := actor(c)
	if _, err := s.svc.SetPermission(c.Request.Context(), u, c.Param("customer"), c.PostForm("granted") == "yes"); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/sites")
}

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

func (s *Server) pageApproval(c *gin.Context) {
	l, err := s.svc.ApprovalRequest(c.Request.Context(), c.Param("token"))
	if err != nil {
		s.failApproval(c, err)
		return
	}
	d := l.AccessDuration
	data := gin.H{"A": l.Assignment, "Approver": l.Approver, "Expires": l.Token.ExpiresAt, "Token": c.Param("token"),
		"Duration": domain.HumanDuration(d), "EndsIfNow": time.Now().Add(d)}
	if l.Extension != nil {
		data["Extension"], data["RequestedByName"] = *l.Extension, l.RequestedByName
	}
	s.render(c, http.StatusOK, "approval", data)
}

func (s *Server) pageApprovalPost(c *gin.Context) {
	approve, err := parseDecision(c.PostForm("decision"))
	if err != nil {
		s.fail(c, err)
		return
	}
	a, x, err := s.svc.DecideByLink(c.Request.Context(), c.Param("token"), approve)
	if err != nil && !errors.Is(err, service.ErrDecisionPending) {
		s.failApproval(c, err)
		return
	}
	s.render(c, http.StatusOK, "approval_done", gin.H{"A": a, "Extension": x, "Approved": approve})
}

// failApproval answers an approval link's refusal. A link opened or used
// after its request was settled (R4) is no fault of the approver's, so
// that page says what happened, calmly; others are errors.
func (s *Server) failApproval(c *gin.Context, err error) {
	if p := problem.As(err); p != nil && p.Rule == "R4" && (p.Kind == problem.KindGone || p.Kind == problem.KindConflict) {
		c.Set(problemKey, p)
		s.render(c, status(p), "error", gin.H{"Problem": shownProblem{p}, "Settled": true})
		return
	}
	s.fail(c, err)
}

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

// fmtTime writes a time as people read it, in a <time> element whose
// datetime attribute keeps the exact instant for machines.
func fmtTime(v any) template.HTML {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return ""
		}
		return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `">` + t.UTC().Format("Mon 2 Jan 2006 15:04:05 UTC") + `</time>`)
	case *time.Time:
		if t == nil {
			return ""
		}
		return fmtTime(*t)
	}
	return template.HTML(template.HTMLEscapeString(fmt.Sprint(v)))
}

func editionName(e string) string {
	if e == domain.EditionProfessional {
		return "Professional"
	}
	return "Standard"
}

// ruleLink links a rule's name ("R4") to its definition.
func ruleLink(rule string) template.HTML {
	return template.HTML(fmt.Sprintf(`<a href="%s">%s</a>`,
		template.HTMLEscapeString(docs.RuleURL(rule)), template.HTMLEscapeString(rule)))
}

var ruleRE = regexp.MustCompile(`\((R[1-9])\)`)

// withRuleLinks escapes text and links each "(Rn)" in it to the rule.
func withRuleLinks(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range ruleRE.FindAllStringSubmatchIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:m[0]]))
		fmt.Fprintf(&b, "(%s)", ruleLink(text[m[2]:m[3]]))
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

var urlRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify escapes text and turns its URLs into links (the dev mailbox).
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range urlRE.FindAllStringIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:m[0]]))
		u := template.HTMLEscapeString(text[m[0]:m[1]])
		fmt.Fprintf(&b, `<a href="%s">%s</a>`, u, u)
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

// emailKindText writes an email's kind for people: "access_granted" →
// "Access granted".
func emailKindText(kind string) string {
	t := strings.ReplaceAll(kind, "_", " ")
	t = strings.ReplaceAll(t, "avd", "Azure Virtual Desktop")
	if t == "" {
		return ""
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// deliveryText says where an email is, in the API's words (newEmailView):
// a message in the dev mailbox counts as sent, since it is this
// deployment's delivery, and one whose last attempt failed is queued.
func deliveryText(e store.Email) string {
	switch v := newEmailView(e); {
	case e.Status == store.EmailLocal:
		return "sent (to the dev mailbox)"
	case v.Status == "queued":
		return "queued (retrying)"
	default:
		return v.Status
	}
}

// nameOf is a person's name from names, or the ID when it is not there.
func nameOf(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}
