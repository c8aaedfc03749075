package store

import (
	"context"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
)

// Extension is a request for more Standard access, numbered from 1 within
// its assignment (the projection of the workflow's record of it).
type Extension struct {
	AssignmentID     string     `db:"assignment_id"`
	N                int        `db:"n"`
	Duration         string     `db:"duration"` // a Go duration, as asked for
	Reason           string     `db:"reason"`
	RequestedBy      string     `db:"requested_by"`
	RequestedAt      time.Time  `db:"requested_at"`
	ApprovalDeadline time.Time  `db:"approval_deadline"`
	State            string     `db:"state"` // domain.Extension…
	DecidedBy        string     `db:"decided_by"`
	DecidedAt        *time.Time `db:"decided_at"`
	EndsBefore       time.Time  `db:"ends_before"`
	EndsAfter        *time.Time `db:"ends_after"`
}

// PutExtension records a new extension request and its approvers' tokens;
// doing it again changes nothing.
func (s *Store) PutExtension(ctx context.Context, e Extension, tokens []ApprovalToken) error {
	e.RequestedAt, e.ApprovalDeadline, e.EndsBefore = utc(e.RequestedAt), utc(e.ApprovalDeadline), utc(e.EndsBefore)
	e.State = domain.ExtensionPending
	return wrap(s.inTx(ctx, func(tx conn) error {
		if _, err := tx.namedExec(ctx, `INSERT INTO extensions (assignment_id, n, duration, reason, requested_by,
			requested_at, approval_deadline, state, ends_before)
			VALUES (:assignment_id, :n, :duration, :reason, :requested_by, :requested_at, :approval_deadline, :state, :ends_before)
			ON CONFLICT (assignment_id, n) DO NOTHING`, e); err != nil {
			return err
		}
		for _, t := range tokens {
			t.ExpiresAt, t.Extension, t.AssignmentID = utc(t.ExpiresAt), e.N, e.AssignmentID
			if _, err := tx.namedExec(ctx, `INSERT INTO extension_tokens (token_hash, assignment_id, extension, approver_id, expires_at)
				VALUES (:token_hash, :assignment_id, :extension, :approver_id, :expires_at) ON CONFLICT DO NOTHING`, t); err != nil {
				return err
			}
		}
		return nil
	}), "record extension %d of %s", e.N, e.AssignmentID)
}

// SettleExtension records how a pending extension request ended and voids
// its links; a settled one stays as it is.
func (s *Store) SettleExtension(ctx context.Context, e Extension) error {
	at := utc(*e.DecidedAt)
	e.DecidedAt, e.EndsAfter = &at, utcPtr(e.EndsAfter)
	return wrap(s.inTx(ctx, func(tx conn) error {
		if _, err := tx.namedExec(ctx, `UPDATE extensions SET state = :state, decided_by = :decided_by,
			decided_at = :decided_at, ends_after = :ends_after
			WHERE assignment_id = :assignment_id AND n = :n AND state = 'pending'`, e); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `UPDATE extension_tokens SET voided_at = ?
			WHERE assignment_id = ? AND extension = ? AND voided_at IS NULL`, at, e.AssignmentID, e.N)
		return err
	}), "settle extension %d of %s", e.N, e.AssignmentID)
}

// Extensions lists an assignment's extension requests, first first.
func (s *Store) Extensions(ctx context.Context, assignmentID string) ([]Extension, error) {
	var es []Extension
	err := s.r.sel(ctx, &es, `SELECT assignment_id, n, duration, reason, requested_by, requested_at, approval_deadline,
		state, decided_by, decided_at, ends_before, ends_after FROM extensions WHERE assignment_id = ? ORDER BY n`, assignmentID)
	return es, wrap(err, "list extensions of %s", assignmentID)
}

// PendingExtension is a request for more time waiting for a decision,
// with the names its approvers read.
type PendingExtension struct {
	Extension
	SiteName         string `db:"site_name"`
	PartnerUserName  string `db:"partner_user_name"`
	PartnerUserEmail string `db:"partner_user_email"`
	RequestedByName  string `db:"requested_by_name"`
}

// PendingExtensions lists the customer's requests for more time that wait
// for a decision, oldest first.
func (s *Store) PendingExtensions(ctx context.Context, customerID string) ([]PendingExtension, error) {
	var es []PendingExtension
	err := s.r.sel(ctx, &es, `SELECT x.assignment_id, x.n, x.duration, x.reason, x.requested_by, x.requested_at,
		x.approval_deadline, x.state, x.decided_by, x.decided_at, x.ends_before, x.ends_after,
		s.name AS site_name, u.name AS partner_user_name, u.email AS partner_user_email,
		COALESCE(r.name, x.requested_by) AS requested_by_name
		FROM extensions x JOIN assignments a ON a.id = x.assignment_id JOIN sites s ON s.id = a.site_id
		JOIN users u ON u.id = a.partner_user_id LEFT JOIN users r ON r.id = x.requested_by
		WHERE s.customer_id = ? AND x.state = ? ORDER BY x.requested_at, x.assignment_id`, customerID, domain.ExtensionPending)
	return es, wrap(err, "list pending extensions of %s", customerID)
}

// ExtendGrant moves the end of an assignment's access that is still in force.
func (s *Store) ExtendGrant(ctx context.Context, assignmentID string, until time.Time) error {
	_, err := s.w.exec(ctx, `UPDATE access_grants SET expires_at = ? WHERE assignment_id = ? AND revoked_at IS NULL`,
		utc(until), assignmentID)
	return wrap(err, "extend access for %s", assignmentID)
}

// AssignmentsByState counts assignments in each state (a business metric).
func (s *Store) AssignmentsByState(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := s.r.sel(ctx, &rows, `SELECT state, COUNT(*) AS n FROM assignments GROUP BY state`); err != nil {
		return nil, wrap(err, "count assignments by state")
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}
