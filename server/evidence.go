package server

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
)

// reportRowView is one row of the evidence report (docs/operations.md
// lists its columns); the CSV has the same fields, in reportColumns order.
type reportRowView struct {
	AssignmentID       string         `json:"assignment_id"`
	Site               string         `json:"site"`
	SiteID             string         `json:"site_id"`
	Customer           string         `json:"customer"`
	Partner            string         `json:"partner"`
	User               string         `json:"user"`
	UserEmail          string         `json:"user_email"`
	Role               string         `json:"role"`
	Edition            string         `json:"edition"`
	Reason             string         `json:"reason"`
	RequestedBy        string         `json:"requested_by"`
	RequestedAt        string         `json:"requested_at"`
	Decisions          []decisionView `json:"decisions"`
	State              string         `json:"state"`
	ScheduledStart     string         `json:"scheduled_start,omitempty"`
	ActiveFrom         string         `json:"active_from,omitempty"`
	ActiveUntil        string         `json:"active_until,omitempty"`
	Ended              string         `json:"ended,omitempty"`
	EndReason          string         `json:"end_reason,omitempty"`
	EndedBy            string         `json:"ended_by,omitempty"`
	EndedAt            string         `json:"ended_at,omitempty"`
	RevocationProvenAt string         `json:"revocation_proven_at,omitempty"`
	RevocationTook     string         `json:"revocation_took_seconds,omitempty"`
}

// decisionView is one approval or denial.
type decisionView struct {
	Request  string `json:"request"`
	Decision string `json:"decision"`
	By       string `json:"by"`
	ByEmail  string `json:"by_email,omitempty"`
	At       string `json:"at"`
	Via      string `json:"via"`
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func newReportRowView(r store.ReportRow) reportRowView {
	v := reportRowView{AssignmentID: r.AssignmentID, Site: r.SiteName, SiteID: r.SiteID, Customer: r.CustomerName,
		Partner: r.PartnerName, User: r.UserName, UserEmail: r.UserEmail, Role: r.Role, Edition: r.Edition,
		Reason: r.Reason, RequestedBy: cmpName(r.RequestedByName, r.RequestedBy), RequestedAt: stamp(&r.RequestedAt),
		State: r.State, ScheduledStart: stamp(r.StartsAt), ActiveFrom: stamp(r.ActivatedAt), Decisions: []decisionView{}}
	for _, d := range service.Decisions(r) {
		v.Decisions = append(v.Decisions, decisionView{Request: d.Request, Decision: d.Decision, By: d.By, ByEmail: d.ByEmail,
			At: stamp(&d.At), Via: d.Via})
	}
	if r.ActivatedAt != nil {
		until := r.AccessEndsAt
		if r.EndedAt != nil && (until == nil || r.EndedAt.Before(*until)) {
			until = r.EndedAt
		}
		v.ActiveUntil = stamp(until)
	}
	if !domain.OpenState(r.State) {
		v.Ended, v.EndReason, v.EndedAt = r.State, r.EndReason, stamp(r.EndedAt)
		v.EndedBy = cmpName(r.EndedByName, r.EndedBy)
	}
	if at, took, ok := service.Proof(r); ok {
		v.RevocationProvenAt = stamp(&at)
		if took == 0 && r.EndedAt != nil && at.After(*r.EndedAt) {
			took = at.Sub(*r.EndedAt)
		}
		v.RevocationTook = strconv.FormatFloat(took.Seconds(), 'f', 3, 64)
	}
	return v
}

func cmpName(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// reportColumns are the CSV's header.
var reportColumns = []string{"assignment_id", "site", "site_id", "customer", "partner", "user", "user_email", "role", "edition",
	"reason", "requested_by", "requested_at", "decisions", "state", "scheduled_start", "active_from", "active_until",
	"ended", "end_reason", "ended_by", "ended_at", "revocation_proven_at", "revocation_took_seconds"}

// record is the row as CSV cells; each decision is "approved by NAME
// <EMAIL> at TIME via CHANNEL", joined by "; ".
func (v reportRowView) record() []string {
	ds := make([]string, len(v.Decisions))
	for i, d := range v.Decisions {
		ds[i] = d.text()
	}
	return []string{v.AssignmentID, v.Site, v.SiteID, v.Customer, v.Partner, v.User, v.UserEmail, v.Role, v.Edition,
		v.Reason, v.RequestedBy, v.RequestedAt, strings.Join(ds, "; "), v.State, v.ScheduledStart, v.ActiveFrom, v.ActiveUntil,
		v.Ended, v.EndReason, v.EndedBy, v.EndedAt, v.RevocationProvenAt, v.RevocationTook}
}

func (d decisionView) text() string {
	by := d.By
	if d.ByEmail != "" {
		by += " <" + d.ByEmail + ">"
	}
	s := d.Decision + " by " + by + " at " + d.At + " via " + d.Via
	if d.Request != "access" {
		s = d.Request + ": " + s
	}
	return s
}

// spreadsheetSafe keeps a cell a spreadsheet would run as a formula
// (=, +, -, @, tab, return first) text, with a leading quote.
func spreadsheetSafe(cells []string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}

// apiAccessReport is the evidence report: CSV streamed whole, a row as it
// is read, or JSON a page at a time (after, next).
func (s *Server) apiAccessReport(c *gin.Context) {
	u, _ := actor(c)
	period, err := s.svc.ParseReportPeriod(c.Query("from"), c.Query("to"))
	if err != nil {
		s.fail(c, err)
		return
	}
	switch c.DefaultQuery("format", "json") {
	case "json":
		s.reportJSON(c, u, period)
	case "csv":
		if c.Query("after") != "" {
			s.fail(c, problem.Invalid("after", "the CSV report is the whole period in one download; after pages the JSON report"))
			return
		}
		s.reportCSV(c, u, period)
	default:
		s.fail(c, problem.Invalid("format", "format must be csv or json"))
	}
}

func (s *Server) reportJSON(c *gin.Context, u store.User, p service.ReportPeriod) {
	limit, err := queryLimit(c, service.MaxReportPage)
	if err != nil {
		s.fail(c, err)
		return
	}
	rows, next, err := s.svc.AccessReportPage(c.Request.Context(), u, p, c.Query("after"), limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"from": stamp(&p.From), "to": stamp(&p.To), "rows": mapViews(rows, newReportRowView), "next": next})
}

// reportCSV writes the rows as they come; an error after the first row
// has gone ends the download short (the status is sent), and is logged.
func (s *Server) reportCSV(c *gin.Context, u store.User, p service.ReportPeriod) {
	w := csv.NewWriter(c.Writer)
	started := false
	start := func() {
		started = true
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="access-report-`+p.From.Format("20060102")+"-"+p.To.Format("20060102")+`.csv"`)
		c.Status(http.StatusOK)
		w.Write(reportColumns)
	}
	n := 0
	for r, err := range s.svc.AccessReport(c.Request.Context(), u, p) {
		if err != nil {
			if !started {
				s.fail(c, err)
				return
			}
			s.log.Error("access report cut short", "user", u.ID, "rows", n, "error", err)
			w.Flush()
			return
		}
		if !started {
			start()
		}
		w.Write(spreadsheetSafe(newReportRowView(r).record()))
		if n++; n%200 == 0 {
			w.Flush()
		}
	}
	if !started {
		start()
	}
	w.Flush()
}

func queryLimit(c *gin.Context, most int) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return most, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, problem.Invalid("limit", "limit must be a number from 1 to %d", most)
	}
	return n, nil
}

// apiEvents is the pull feed: the organization's events after the cursor.
func (s *Server) apiEvents(c *gin.Context) {
	u, _ := actor(c)
	limit, err := queryLimit(c, service.MaxEventsPage)
	if err != nil {
		s.fail(c, err)
		return
	}
	es, next, err := s.svc.Events(c.Request.Context(), u, c.Query("after"), limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": es, "next": next})
}

// pageAudit is the Audit page: the evidence report's download, and where
// the organization's events are read.
func (s *Server) pageAudit(c *gin.Context) {
	to := time.Now().UTC()
	s.render(c, http.StatusOK, "audit", gin.H{"From": to.Add(-service.DefaultReportPeriod).Format(time.DateOnly),
		"To": to.AddDate(0, 0, 1).Format(time.DateOnly)})
}
