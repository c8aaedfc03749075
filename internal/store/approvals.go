package store

import (
	"context"
	"time"
)

// Approval is one approval that counted towards a request (Extension 0) or
// an extension request (1, 2, …) when the customer's policy asks for more
// than one (R10). The approver's name and email are read from users.
type Approval struct {
	AssignmentID  string    `db:"assignment_id"`
	Extension     int       `db:"extension"`
	ApproverID    string    `db:"approver_id"`
	ApproverName  string    `db:"approver_name"`
	ApproverEmail string    `db:"approver_email"`
	At            time.Time `db:"approved_at"`
	Via           string    `db:"via"` // the channel it came through
}

// PutApproval records an approval that counted. An approver counts once per
// request, so a retry, or the same approver again, adds nothing and keeps
// the first time.
func (s *Store) PutApproval(ctx context.Context, a Approval) error {
	a.At = utc(a.At)
	_, err := s.w.namedExec(ctx, `INSERT INTO approvals (assignment_id, extension, approver_id, approved_at, via)
		VALUES (:assignment_id, :extension, :approver_id, :approved_at, :via)
		ON CONFLICT (assignment_id, extension, approver_id) DO NOTHING`, a)
	return wrap(err, "record approval of assignment %s by %s", a.AssignmentID, a.ApproverID)
}

// ApprovalsOf lists the approvals of an assignment's request and of each of
// its extension requests, oldest first.
func (s *Store) ApprovalsOf(ctx context.Context, assignmentID string) ([]Approval, error) {
	var as []Approval
	err := s.r.sel(ctx, &as, `SELECT p.assignment_id, p.extension, p.approver_id, u.name AS approver_name,
		u.email AS approver_email, p.approved_at, p.via
		FROM approvals p JOIN users u ON u.id = p.approver_id
		WHERE p.assignment_id = ? ORDER BY p.approved_at, p.extension, p.approver_id`, assignmentID)
	return as, wrap(err, "list approvals of assignment %s", assignmentID)
}
