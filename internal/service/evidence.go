package service

import (
	"context"
	"encoding/base64"
	"iter"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/webhook"
)

// orgOf is the organization whose records a user reads: its partner's or
// its customer's, never another tenant's (the audit log's visibility).
func orgOf(u store.User) store.OrgFilter {
	if u.Kind == store.KindPartner {
		return store.OrgFilter{Kind: store.KindPartner, ID: u.PartnerID}
	}
	return store.OrgFilter{Kind: store.KindCustomer, ID: u.CustomerID}
}

// ReportPeriod is the period of the evidence report.
type ReportPeriod struct{ From, To time.Time }

// DefaultReportPeriod is how far back a report without a from goes.
const DefaultReportPeriod = 90 * 24 * time.Hour

// ParseReportPeriod reads from and to (RFC 3339 or a date, 2026-12-01: its
// midnight UTC); an empty to is now, an empty from 90 days before to.
func (s *Service) ParseReportPeriod(from, to string) (ReportPeriod, error) {
	var p ReportPeriod
	var err error
	if p.To, err = reportTime("to", to, s.now()); err != nil {
		return p, err
	}
	if p.From, err = reportTime("from", from, p.To.Add(-DefaultReportPeriod)); err != nil {
		return p, err
	}
	if !p.From.Before(p.To) {
		return p, problem.Invalid("from", "from (%s) must be before to (%s)", p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))
	}
	return p, nil
}

func reportTime(field, v string, otherwise time.Time) (time.Time, error) {
	if v == "" {
		return otherwise.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, problem.Invalid(field, "%s must be a time in RFC 3339 (2026-12-01T00:00:00Z) or a date (2026-12-01)", field)
}

// AccessReport is every row of the reader's evidence report in the
// period, read a page at a time as the caller writes them.
func (s *Service) AccessReport(ctx context.Context, u store.User, p ReportPeriod) iter.Seq2[store.ReportRow, error] {
	return s.store.Report(ctx, store.ReportFilter{Org: orgOf(u), From: p.From, To: p.To})
}

// MaxReportPage is the most rows one page of the JSON report holds.
const MaxReportPage = 500

// AccessReportPage is one page of the report after the cursor after ("":
// from the first row), and the cursor of the next page ("": none).
func (s *Service) AccessReportPage(ctx context.Context, u store.User, p ReportPeriod, after string, limit int) ([]store.ReportRow, string, error) {
	c, err := parseReportCursor(after)
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > MaxReportPage {
		limit = MaxReportPage
	}
	rows, err := s.store.ReportPage(ctx, store.ReportFilter{Org: orgOf(u), From: p.From, To: p.To}, c, limit)
	if err != nil || len(rows) < limit {
		return rows, "", err
	}
	last := rows[len(rows)-1]
	next := last.RequestedAt.UTC().Format(time.RFC3339Nano) + " " + last.AssignmentID
	return rows, base64.RawURLEncoding.EncodeToString([]byte(next)), nil
}

func parseReportCursor(after string) (*store.ReportCursor, error) {
	if after == "" {
		return nil, nil
	}
	bad := problem.Invalid("after", "after must be the next cursor of the page before, as it was given")
	raw, err := base64.RawURLEncoding.DecodeString(after)
	if err != nil {
		return nil, bad
	}
	at, id, ok := strings.Cut(string(raw), " ")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || id == "" {
		return nil, bad
	}
	return &store.ReportCursor{RequestedAt: t, ID: id}, nil
}

// Decision is one approval or denial of a report row.
type Decision struct {
	// Request is what was decided: "access", or "extension N".
	Request  string
	Decision string // approved or denied
	By       string // the approver's name, or who settled it ("policy")
	ByEmail  string
	At       time.Time
	// Via is the channel the decision came through (email, page, teams,
	// slack), "policy" for an approval given in advance, or "web" for a
	// decision recorded before decisions kept their channel (the approval
	// email's link or the Requests page, which were recorded alike).
	Via string
}

// Decisions are the row's decisions in order, each approver once per
// request (an approval that settles a request is both counted and the
// decision).
func Decisions(r store.ReportRow) []Decision {
	var out []Decision
	request, seen := "access", map[string]bool{}
	extensions := 0
	for _, e := range r.Decisions {
		d := Decision{Request: request, By: e.ActorName, ByEmail: e.ActorEmail, At: e.At}
		switch e.Action {
		case domain.ActionExtensionRequested:
			extensions++
			request, seen = "extension "+strconv.Itoa(extensions), map[string]bool{}
			continue
		case domain.ActionAssignmentDenied, domain.ActionExtensionDenied:
			d.Decision = domain.DecisionDenied
		case domain.ActionAssignmentScheduled:
			if e.ActorID == "" { // scheduled without asking anyone (Professional)
				continue
			}
			d.Decision = domain.DecisionApproved
		default:
			d.Decision = domain.DecisionApproved
		}
		if d.By == "" {
			d.By = e.ActorID
		}
		switch {
		case e.Via != "":
			d.Via = e.Via
		case e.ActorID == "policy":
			d.Via = "policy"
		default:
			d.Via = "web"
		}
		key := d.Decision + "\x00" + e.ActorID
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, d)
	}
	return out
}

var provenInRE = regexp.MustCompile(`proven in (\S+)$`)

// Proof is when a row's access was proven gone and how long the proof
// took, as its page shows them: the directory's revocation.proven entry
// and the time it gives, else (access only in this service) the grant's
// end, at once. ok is false when nothing was revoked (never active, or
// still open).
func Proof(r store.ReportRow) (at time.Time, took time.Duration, ok bool) {
	if r.Proof != nil {
		if m := provenInRE.FindStringSubmatch(r.Proof.Detail); m != nil {
			took, _ = time.ParseDuration(m[1])
		}
		return r.Proof.At, took, true
	}
	if r.GrantRevokedAt != nil {
		return *r.GrantRevokedAt, 0, true
	}
	return time.Time{}, 0, false
}

// MaxEventsPage is the most events one page of the feed holds.
const MaxEventsPage = 1000

// Events is the reader's organization's events after the cursor after, in
// order, and the cursor to ask for next (after itself when none is new).
func (s *Service) Events(ctx context.Context, u store.User, after string, limit int) ([]webhook.Event, string, error) {
	var from int64
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 0 {
			return nil, "", problem.Invalid("after", "after must be the next cursor of the page before (a number), or absent for the first page")
		}
		from = n
	}
	if limit <= 0 || limit > MaxEventsPage {
		limit = MaxEventsPage
	}
	es, err := s.store.EventsAfter(ctx, orgOf(u), from, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]webhook.Event, len(es))
	source := webhook.Source(s.cfg.PublicURL)
	for i, e := range es {
		out[i] = webhook.FromEntry(e, source)
		from = e.ID
	}
	return out, strconv.FormatInt(from, 10), nil
}
