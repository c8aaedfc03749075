package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
)

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
		"A": a, "Timeline": timeline, "Emails": r.Emails, "Chats": r.Chats, "Extensions": r.Extensions, "Notice": notices[c.Query("notice")],
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
	data["Following"] = following(a, r.Emails)
	if a.State == domain.StateProvisioning && a.Edition == domain.EditionProfessional {
		// The workflow waits READY_WAIT once the access is made, the state's
		// last change; a READY_WAIT changed since the start makes it "about".
		data["ReadyAt"], data["ReadyWait"] = a.UpdatedAt.Add(timing.ReadyWait), domain.HumanDuration(timing.ReadyWait)
	}
	data["Temporal"] = s.temporalRecord(c.Request.Context(), a)
	// The Temporal UI is for the people who run the service: the
	// partner's administrators, never the customer's users.
	data["ShowTemporalLink"] = u.Kind == store.KindPartner && u.HasRole(store.RolePartnerAdmin)
	data["Names"] = r.Names
	data["Approvals"] = service.ApprovalsOfRequest(r.Approvals, 0)
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

// following reports whether the workflow is still at work on an assignment
// in a way its page shows: a step under way, an email still being sent, or
// a change within the last minute, whose emails follow it.
func following(a store.Assignment, emails []store.Email) bool {
	if !a.Open() && time.Since(a.UpdatedAt) > time.Minute {
		return false
	}
	if a.State == domain.StateRequested || a.State == domain.StateProvisioning || len(emails) == 0 || time.Since(a.UpdatedAt) < time.Minute {
		return true
	}
	return slices.ContainsFunc(emails, func(e store.Email) bool { return e.Status == store.EmailSending })
}
