package store

import (
	"context"
	"iter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/partneraccess/partneraccess/internal/domain"
)

// ReportFilter selects the assignments of the evidence report (SPEC §15):
// those of the organization whose life overlaps [From, To): requested
// before To and not ended before From.
type ReportFilter struct {
	Org      OrgFilter
	From, To time.Time
}

// ReportCursor is where a page of the report ends: the last row's request
// time and ID, the order rows come in.
type ReportCursor struct {
	RequestedAt time.Time
	ID          string
}

// ReportRow is one assignment of the report, with its decisions and the
// proof that its access was removed.
type ReportRow struct {
	AssignmentID    string     `db:"id"`
	SiteID          string     `db:"site_id"`
	SiteName        string     `db:"site_name"`
	CustomerID      string     `db:"customer_id"`
	CustomerName    string     `db:"customer_name"`
	PartnerID       string     `db:"partner_id"`
	PartnerName     string     `db:"partner_name"`
	UserID          string     `db:"partner_user_id"`
	UserName        string     `db:"partner_user_name"`
	UserEmail       string     `db:"partner_user_email"`
	Role            string     `db:"role"`
	Edition         string     `db:"edition"`
	Reason          string     `db:"reason"`
	State           string     `db:"state"`
	RequestedBy     string     `db:"requested_by"`
	RequestedByName string     `db:"requested_by_name"`
	RequestedAt     time.Time  `db:"requested_at"`
	StartsAt        *time.Time `db:"starts_at"`
	ActivatedAt     *time.Time `db:"activated_at"`
	AccessEndsAt    *time.Time `db:"access_ends_at"`
	EndedAt         *time.Time `db:"ended_at"`
	EndedBy         string     `db:"ended_by"`
	EndedByName     string     `db:"ended_by_name"`
	EndReason       string     `db:"end_reason"`
	GrantRevokedAt  *time.Time `db:"grant_revoked_at"`
	// Decisions are the audit entries that decided the request and its
	// extension requests, oldest first (ReportDecisionActions).
	Decisions []ReportEntry `db:"-"`
	// Proof is the revocation.proven entry, when a directory proved the
	// access gone.
	Proof *ReportEntry `db:"-"`
}

// ReportEntry is an audit entry of a report row, with who acted.
type ReportEntry struct {
	AssignmentID string        `db:"assignment_id"`
	ID           int64         `db:"id"`
	At           time.Time     `db:"at"`
	ActorID      string        `db:"actor_id"`
	ActorName    string        `db:"actor_name"`
	ActorEmail   string        `db:"actor_email"`
	Action       domain.Action `db:"action"`
	Detail       string        `db:"detail"`
	// Via is the channel a decision came through (email, page, teams,
	// slack); "" in entries recorded before decisions kept it.
	Via string `db:"via"`
}

// ReportDecisionActions are the entries a row's decisions are read from:
// approvals and denials of the request and of its extension requests, and
// the extension requests that start a new round.
var ReportDecisionActions = []domain.Action{
	domain.ActionApprovalCounted, domain.ActionAssignmentApproved, domain.ActionAssignmentScheduled,
	domain.ActionAssignmentDenied, domain.ActionExtensionRequested, domain.ActionExtensionApproved,
	domain.ActionExtensionDenied,
}

// reportPageSize bounds what a report holds at once: rows are read a page
// at a time, with their decisions and proofs in two more queries per page.
const reportPageSize = 500

// ReportPage reads up to limit rows after the cursor (nil: from the first).
func (s *Store) ReportPage(ctx context.Context, f ReportFilter, after *ReportCursor, limit int) ([]ReportRow, error) {
	column := "s.customer_id"
	if f.Org.Kind == KindPartner {
		column = "u.partner_id"
	}
	if f.Org.ID == "" {
		return nil, nil
	}
	var c ReportCursor
	if after != nil {
		c = *after
	}
	var rows []ReportRow
	err := s.r.sel(ctx, &rows, `SELECT a.id, a.site_id, s.name AS site_name, s.customer_id, c.name AS customer_name,
		u.partner_id, p.name AS partner_name, a.partner_user_id, u.name AS partner_user_name,
		u.email AS partner_user_email, a.role, a.edition, a.reason, a.state, a.requested_by,
		COALESCE(rb.name, '') AS requested_by_name, a.requested_at, a.starts_at, a.activated_at, a.access_ends_at,
		a.ended_at, a.ended_by, COALESCE(eb.name, '') AS ended_by_name, a.end_reason, g.revoked_at AS grant_revoked_at
		FROM assignments a JOIN sites s ON s.id = a.site_id JOIN customers c ON c.id = s.customer_id
		JOIN users u ON u.id = a.partner_user_id JOIN partners p ON p.id = u.partner_id
		LEFT JOIN users rb ON rb.id = a.requested_by
		LEFT JOIN users eb ON eb.id = a.ended_by OR lower(eb.email) = lower(a.ended_by)
		LEFT JOIN access_grants g ON g.assignment_id = a.id
		WHERE `+column+` = ? AND a.requested_at < ? AND (a.ended_at IS NULL OR a.ended_at >= ?)
		AND (? = '' OR a.requested_at > ? OR (a.requested_at = ? AND a.id > ?))
		ORDER BY a.requested_at, a.id LIMIT ?`,
		f.Org.ID, utc(f.To), utc(f.From), c.ID, utc(c.RequestedAt), utc(c.RequestedAt), c.ID, limit)
	if err != nil || len(rows) == 0 {
		return nil, wrap(err, "read the access report")
	}
	ids := make([]string, len(rows))
	at := make(map[string]int, len(rows))
	for i, r := range rows {
		ids[i], at[r.AssignmentID] = r.AssignmentID, i
	}
	entries, err := s.reportEntries(ctx, ids, ReportDecisionActions)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		r := &rows[at[e.AssignmentID]]
		r.Decisions = append(r.Decisions, e)
	}
	proofs, err := s.reportEntries(ctx, ids, []domain.Action{domain.ActionRevocationProven})
	if err != nil {
		return nil, err
	}
	for _, e := range proofs {
		if r := &rows[at[e.AssignmentID]]; r.Proof == nil {
			r.Proof = &e
		}
	}
	return rows, nil
}

func (s *Store) reportEntries(ctx context.Context, ids []string, actions []domain.Action) ([]ReportEntry, error) {
	q, args, err := sqlx.In(`SELECT l.assignment_id, l.id, l.at, l.actor_id, COALESCE(u.name, '') AS actor_name,
		COALESCE(u.email, '') AS actor_email, l.action, l.detail, COALESCE(l.via, '') AS via
		FROM audit_log l LEFT JOIN users u ON u.id = l.actor_id
		WHERE l.assignment_id IN (?) AND l.action IN (?) AND l.outcome = 'ok' ORDER BY l.id`, ids, actions)
	if err != nil {
		return nil, wrap(err, "read the access report's entries")
	}
	var es []ReportEntry
	return es, wrap(s.r.sel(ctx, &es, q, args...), "read the access report's entries")
}

// Report yields every row of the report in order, a page at a time, so a
// report of any size is written as it is read.
func (s *Store) Report(ctx context.Context, f ReportFilter) iter.Seq2[ReportRow, error] {
	return func(yield func(ReportRow, error) bool) {
		var after *ReportCursor
		for {
			rows, err := s.ReportPage(ctx, f, after, reportPageSize)
			if err != nil {
				yield(ReportRow{}, err)
				return
			}
			for _, r := range rows {
				if !yield(r, nil) {
					return
				}
			}
			if len(rows) < reportPageSize {
				return
			}
			last := rows[len(rows)-1]
			after = &ReportCursor{RequestedAt: last.RequestedAt, ID: last.AssignmentID}
		}
	}
}
