package server

import (
	"context"
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
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

//go:embed templates/*.html templates/style.css templates/assign.js
var templateFS embed.FS

type pages struct {
	byName map[string]*template.Template
	css    []byte
	js     []byte // the Assign form's role filter
}

var pageNames = []string{"error", "login", "sites", "site", "assignment", "unassign", "requests", "approval", "approval_done",
	"credential", "devmail", "rules", "api", "users", "register", "forgot", "reset"}

func mustParsePages() *pages {
	fns := template.FuncMap{
		"time":    fmtTime,
		"state":   rules.StateText,
		"edition": editionName,
		"linkify": linkify,
		"open":    domain.OpenState,
		"join":    strings.Join,
		"rule":    ruleLink,
		"rules":   withRuleLinks,
		"anchor":  opAnchor,
		"has":     slices.Contains[[]string],
		"admin":   isAdmin,
		"human":   humanText,
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
	return p
}

// render executes a page inside the layout; data gets the logged-in user.
func (s *Server) render(c *gin.Context, status int, name string, data gin.H) {
	if data == nil {
		data = gin.H{}
	}
	u, ok := actor(c)
	if ok {
		data["User"] = u
	}
	data["DevMailbox"] = s.cfg.DevMailbox && (!s.cfg.DevMailboxAdminsOnly || isAdmin(u))
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

func (s *Server) pageHome(c *gin.Context) {
	if _, ok := actor(c); ok {
		c.Redirect(http.StatusSeeOther, "/sites")
		return
	}
	c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) pageLogin(c *gin.Context) {
	s.render(c, http.StatusOK, "login", gin.H{"Next": safeNext(c.Query("next")), "Notice": loginNotices[c.Query("notice")]})
}

func (s *Server) pageLoginPost(c *gin.Context) {
	next := safeNext(c.PostForm("next"))
	token, _, err := s.login(c, clientKey(c), c.PostForm("email"), c.PostForm("password"))
	if err != nil {
		p := problem.As(err)
		if p == nil {
			s.fail(c, err)
			return
		}
		retryAfter(c, p)
		s.render(c, p.Status, "login", gin.H{"Next": next, "Email": c.PostForm("email"), "Error": p.Detail})
		return
	}
	s.setSessionCookie(c, token)
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
	sites, err := s.sitesFor(c, u)
	if err != nil {
		s.fail(c, err)
		return
	}
	data := gin.H{"Sites": sites}
	if u.Kind == store.KindCustomer {
		cust, err := s.store.CustomerByID(c, u.CustomerID)
		if err != nil {
			s.fail(c, err)
			return
		}
		permitted, err := s.store.PartnerPermitted(c, cust.ID, cust.PartnerID)
		if err != nil {
			s.fail(c, err)
			return
		}
		partner, err := s.store.PartnerByID(c, cust.PartnerID)
		if err != nil {
			s.fail(c, err)
			return
		}
		data["Customer"], data["Partner"], data["Permitted"] = cust, partner, permitted
		data["CanSetPermission"] = rules.CanSetPermission(u, cust.ID) == nil
		if data["HaveAccess"], err = s.haveAccess(c, u); err != nil {
			s.fail(c, err)
			return
		}
	}
	s.render(c, http.StatusOK, "sites", data)
}

// haveAccess is a customer's "who has access now": the partner users whose
// access to one of its sites is active or being set up, each with whether
// the reader may end it.
func (s *Server) haveAccess(ctx context.Context, u store.User) ([]accessNow, error) {
	var out []accessNow
	for _, state := range []string{domain.StateActive, domain.StateProvisioning} {
		as, err := s.store.Assignments(ctx, store.AssignmentFilter{CustomerID: u.CustomerID, State: state})
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			out = append(out, accessNow{Assignment: a, CanEnd: rules.CanUnassign(u, a) == nil})
		}
	}
	return out, nil
}

type accessNow struct {
	store.Assignment
	CanEnd bool
}

func (s *Server) pageSite(c *gin.Context) {
	s.renderSite(c, http.StatusOK, gin.H{})
}

func (s *Server) renderSite(c *gin.Context, status int, data gin.H) {
	u, _ := actor(c)
	d, err := s.siteDetail(c, u, c.Param("site"))
	if err != nil {
		s.fail(c, err)
		return
	}
	data["Site"], data["Assignable"], data["Assignments"] = d.Site, d.Assignable, d.Assignments
	if u.Kind == store.KindPartner && !d.Site.Permitted {
		// R1: say so instead of offering a form that can only be refused.
		partner, err := s.store.PartnerByID(c, u.PartnerID)
		if err != nil {
			s.fail(c, err)
			return
		}
		data["NoPermission"] = problem.As(rules.NoPermission(d.Site.CustomerName, partner.Name))
	}
	data["CanAssign"] = u.Kind == store.KindPartner && d.Site.Permitted
	s.render(c, status, "site", data)
}

func (s *Server) pageAssignPost(c *gin.Context) {
	u, _ := actor(c)
	req := rules.AssignRequest{SiteID: c.Param("site"), UserID: c.PostForm("user_id"), Role: c.PostForm("role"), Reason: c.PostForm("reason")}
	a, created, err := s.assign(c, u, req)
	if p := problem.As(err); p != nil && p.Status != http.StatusNotFound {
		s.renderSite(c, p.Status, gin.H{"Error": p, "Form": req})
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
	a, err := s.rules.VisibleAssignment(c, u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	timeline, err := s.timeline(c, a)
	if err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.assignmentRecord(c, a.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	data := gin.H{
		"A": a, "Timeline": timeline, "Emails": r.Emails, "Extensions": r.Extensions, "Notice": notices[c.Query("notice")],
		"CanUnassign":      rules.CanUnassign(u, a) == nil,
		"CanDecide":        rules.CanDecide(u, a) == nil,
		"CanSeeCredential": a.Edition == domain.EditionProfessional && u.ID == a.PartnerUserID && a.Open(),
		"CanExtend":        rules.CanAskExtension(u, a) == nil && rules.ExtensionsLeft(r.Extensions, s.cfg.Timing.MaxExtensions) == nil,
		"ExtensionChoices": extensionChoices(s.cfg.Timing.AccessDuration),
		"MaxExtensions":    s.cfg.Timing.MaxExtensions,
	}
	for _, e := range r.Extensions {
		if rules.CanDecideExtension(u, a, e) == nil {
			data["DecideExtension"] = e
		}
	}
	data["Temporal"] = s.temporalRecord(c, a)
	s.render(c, http.StatusOK, "assignment", data)
}

// pageUnassign asks before ending an assignment: the assignment page links
// here, and only the form on this page ends it.
func (s *Server) pageUnassign(c *gin.Context) {
	u, _ := actor(c)
	a, err := s.rules.VisibleAssignment(c, u, c.Param("id"))
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
	a, err := s.unassign(c, u, c.Param("id"), c.PostForm("reason"))
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
	a, err := s.decideAs(c, u, c.Param("id"), extension, approve)
	if err != nil && !errors.Is(err, errDecisionPending) {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/assignments/"+url.PathEscape(a.ID)+"?notice=decided")
}

func (s *Server) pageRequests(c *gin.Context) {
	u, _ := actor(c)
	if u.Kind != store.KindCustomer {
		s.fail(c, problem.NotFound("", "pending requests are for customer users"))
		return
	}
	as, err := s.store.Assignments(c, store.AssignmentFilter{CustomerID: u.CustomerID, State: domain.StatePendingApproval})
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "requests", gin.H{"Requests": as, "CanDecide": u.IsApprover()})
}

func (s *Server) pagePermissionPost(c *gin.Context) {
	u, _ := actor(c)
	if _, err := s.setPermission(c, u, c.Param("customer"), c.PostForm("granted") == "yes"); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/sites")
}

func (s *Server) pageCredential(c *gin.Context) {
	u, _ := actor(c)
	a, err := s.credentialAssignment(c, u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	cred, err := s.store.CredentialByAssignment(c, a.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(c, err)
		return
	}
	notice := ""
	if c.Query("notice") == "reissued" {
		notice = "A new temporary password was issued; the previous one no longer works."
	}
	s.render(c, http.StatusOK, "credential", gin.H{"A": a, "Available": err == nil && cred.Ciphertext != nil, "Viewed": cred.ViewedAt,
		"Notice": notice, "CanReissue": err == nil && a.State == domain.StateActive})
}

func (s *Server) pageCredentialPost(c *gin.Context) {
	u, _ := actor(c)
	login, password, err := s.viewCredential(c, u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "credential", gin.H{"Login": login, "Password": password, "Shown": true})
}

func (s *Server) pageApproval(c *gin.Context) {
	t, a, err := s.approvalToken(c, c.Param("token"))
	if err != nil {
		s.fail(c, err)
		return
	}
	approver, err := s.store.UserByID(c, t.ApproverID)
	if err != nil {
		s.fail(c, err)
		return
	}
	d := s.accessDuration(c, a)
	data := gin.H{"A": a, "Approver": approver, "Expires": t.ExpiresAt, "Token": c.Param("token"),
		"Duration": domain.HumanDuration(d), "EndsIfNow": s.now().Add(d)}
	if t.Extension > 0 {
		e, err := s.extension(c, a.ID, t.Extension)
		if err != nil {
			s.fail(c, err)
			return
		}
		data["Extension"] = e
	}
	s.render(c, http.StatusOK, "approval", data)
}

// accessDuration is how long the assignment's access lasts once approved:
// what its workflow fixed when it started, or, if the workflow does not
// answer in time, what this server would give a new assignment.
func (s *Server) accessDuration(ctx context.Context, a store.Assignment) time.Duration {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var st workflows.Status
	v, err := s.temporal.QueryWorkflow(qctx, a.WorkflowID, a.ID, workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil || st.AccessDuration <= 0 {
		return s.cfg.Timing.AccessDuration
	}
	return st.AccessDuration
}

func (s *Server) pageApprovalPost(c *gin.Context) {
	approve, err := parseDecision(c.PostForm("decision"))
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.decideByToken(c, c.Param("token"), approve)
	if err != nil && !errors.Is(err, errDecisionPending) {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "approval_done", gin.H{"A": a})
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
	es, err := s.store.Emails(c, store.EmailFilter{Status: store.EmailLocal, To: c.Query("to"), Limit: 1000})
	if err != nil {
		s.fail(c, err)
		return
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 { // newest first
		es[i], es[j] = es[j], es[i]
	}
	s.render(c, http.StatusOK, "devmail", gin.H{"Emails": es, "To": c.Query("to")})
}

func fmtTime(v any) string {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("Mon 2 Jan 2006 15:04:05 UTC")
	case *time.Time:
		if t == nil {
			return ""
		}
		return fmtTime(*t)
	}
	return fmt.Sprint(v)
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
