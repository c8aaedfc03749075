package server

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Access reviews (SPEC §15): the API and the pages.

type reviewBody struct {
	Organization string `json:"organization"`
	DueIn        string `json:"due_in"`
}

type decisionBody struct {
	Decision string `json:"decision"`
}

// reviewView is a review as the API answers it.
type reviewView struct {
	ID           string           `json:"id"`
	Organization string           `json:"organization"`
	Kind         string           `json:"organization_kind"`
	State        string           `json:"state"`
	StartedBy    string           `json:"started_by"`
	StartedAt    time.Time        `json:"started_at"`
	DueAt        time.Time        `json:"due_at"`
	OnMissed     string           `json:"on_missed"`
	FinishedAt   *time.Time       `json:"finished_at"`
	Pending      int              `json:"pending"`
	Items        []reviewItemView `json:"items"`
}

type reviewItemView struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Subject   string     `json:"subject"`
	SubjectID string     `json:"subject_id"`
	Decision  string     `json:"decision"`
	DecidedBy string     `json:"decided_by"`
	DecidedAt *time.Time `json:"decided_at"`
	Outcome   string     `json:"outcome"`
}

func newReviewView(r store.Review) reviewView {
	v := reviewView{ID: r.ID, Organization: r.OrgID, Kind: r.OrgKind, State: r.State, StartedBy: r.StartedBy,
		StartedAt: r.StartedAt.UTC(), DueAt: r.DueAt.UTC(), OnMissed: r.OnMissed, FinishedAt: r.FinishedAt,
		Items: make([]reviewItemView, len(r.Items))}
	for i, it := range r.Items {
		v.Items[i] = newReviewItemView(it)
		if it.Decision == "" {
			v.Pending++
		}
	}
	return v
}

func newReviewItemView(it store.ReviewItem) reviewItemView {
	return reviewItemView{ID: it.ID, Kind: it.Kind, Subject: it.Subject, SubjectID: it.SubjectID, Decision: it.Decision,
		DecidedBy: it.DecidedBy, DecidedAt: it.DecidedAt, Outcome: it.Outcome}
}

func (s *Server) apiStartReview(c *gin.Context) {
	u, _ := actor(c)
	var body reviewBody
	if err := decodeJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if body.Organization == "" {
		s.fail(c, problem.Invalid("organization", "organization is required: your partner's or customer's ID"))
		return
	}
	r, err := s.svc.StartReview(c.Request.Context(), u, body.Organization, body.DueIn)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, newReviewView(r))
}

func (s *Server) apiReviews(c *gin.Context) {
	u, _ := actor(c)
	rs, err := s.svc.Reviews(c.Request.Context(), u)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]reviewView, len(rs))
	for i, r := range rs {
		out[i] = newReviewView(r)
	}
	c.JSON(http.StatusOK, gin.H{"reviews": out})
}

func (s *Server) apiReview(c *gin.Context) {
	u, _ := actor(c)
	r, err := s.svc.Review(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newReviewView(r))
}

func (s *Server) apiDecideReviewItem(c *gin.Context) {
	u, _ := actor(c)
	var body decisionBody
	if err := decodeJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	it, err := s.svc.DecideReviewItem(c.Request.Context(), u, c.Param("id"), c.Param("item"), body.Decision)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, newReviewItemView(it))
}

// pageReviews lists the organization's reviews, with a form to start one.
func (s *Server) pageReviews(c *gin.Context) {
	s.renderReviews(c, http.StatusOK, gin.H{})
}

func (s *Server) renderReviews(c *gin.Context, status int, data gin.H) {
	u, _ := actor(c)
	rs, err := s.svc.Reviews(c.Request.Context(), u)
	if err != nil {
		s.fail(c, err)
		return
	}
	views := make([]reviewView, len(rs))
	for i, r := range rs {
		views[i] = newReviewView(r)
	}
	data["Reviews"] = views
	s.render(c, status, "reviews", data)
}

func (s *Server) pageStartReviewPost(c *gin.Context) {
	u, _ := actor(c)
	org := u.PartnerID
	if u.Kind == store.KindCustomer {
		org = u.CustomerID
	}
	dueIn := ""
	if days := c.PostForm("due_in_days"); days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 365 {
			s.renderReviews(c, http.StatusUnprocessableEntity, gin.H{"Error": problem.Invalid("due_in", "give the days to decide in as a number from 1 to 365")})
			return
		}
		dueIn = (time.Duration(n) * 24 * time.Hour).String()
	}
	r, err := s.svc.StartReview(c.Request.Context(), u, org, dueIn)
	if p := problem.As(err); p != nil && p.Kind != problem.KindNotFound && p.Kind != problem.KindForbidden {
		s.renderReviews(c, status(p), gin.H{"Error": p})
		return
	} else if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/reviews/"+url.PathEscape(r.ID))
}

// pageReview shows one review: its items with their decisions, and once
// finished, its report.
func (s *Server) pageReview(c *gin.Context) {
	s.renderReview(c, http.StatusOK, gin.H{})
}

func (s *Server) renderReview(c *gin.Context, status int, data gin.H) {
	u, _ := actor(c)
	r, err := s.svc.Review(c.Request.Context(), u, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	data["Review"] = newReviewView(r)
	data["Counts"] = reviewCounts(r)
	s.render(c, status, "review", data)
}

// reviewCounts are a report's figures: items by decision.
func reviewCounts(r store.Review) map[string]int {
	n := map[string]int{}
	for _, it := range r.Items {
		n[it.Decision]++
	}
	return n
}

func (s *Server) pageDecideReviewPost(c *gin.Context) {
	u, _ := actor(c)
	_, err := s.svc.DecideReviewItem(c.Request.Context(), u, c.Param("id"), c.Param("item"), c.PostForm("decision"))
	if p := problem.As(err); p != nil && p.Kind != problem.KindNotFound && p.Kind != problem.KindForbidden {
		s.renderReview(c, status(p), gin.H{"Error": p})
		return
	} else if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/reviews/"+url.PathEscape(c.Param("id")))
}

// A permission with an end (SPEC §15).

type permissionUntilBody struct {
	Until string `json:"until"`
}

func (s *Server) apiSetPermissionUntil(c *gin.Context, u store.User) {
	var body permissionUntilBody
	if err := decodeJSON(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if body.Until == "" {
		s.fail(c, problem.Invalid("until", `send {"until":"<RFC 3339>"}, or no body for a permission without end`))
		return
	}
	p, err := s.svc.SetPermissionUntil(c.Request.Context(), u, c.Param("customer"), body.Until)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"customer_id": p.CustomerID, "partner_id": p.PartnerID, "granted": p.Granted, "until": p.GrantedUntil})
}

// pagePermissionUntilPost grants the permission until the end of a day
// (UTC) chosen on the permissions page.
func (s *Server) pagePermissionUntilPost(c *gin.Context) {
	u, _ := actor(c)
	day, err := time.Parse(time.DateOnly, c.PostForm("until"))
	if err != nil {
		s.fail(c, problem.Invalid("until", "choose the last day of the permission"))
		return
	}
	until := day.Add(24*time.Hour - time.Second).Format(time.RFC3339)
	if _, err := s.svc.SetPermissionUntil(c.Request.Context(), u, c.Param("customer"), until); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/sites?notice=permitted")
}

// pagePermissionRenewPost is the reminders' one-click renewal: the
// permission ends as far from now as it was granted for.
func (s *Server) pagePermissionRenewPost(c *gin.Context) {
	u, _ := actor(c)
	if _, err := s.svc.RenewPermission(c.Request.Context(), u, c.Param("customer")); err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/sites?notice=permitted")
}
