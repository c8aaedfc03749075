package store

import (
	"context"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
)

// Assignment is the projection of one assignment workflow.
type Assignment struct {
	ID               string     `db:"id"`
	WorkflowID       string     `db:"workflow_id"`
	SiteID           string     `db:"site_id"`
	SiteName         string     `db:"site_name"`
	CustomerID       string     `db:"customer_id"`
	CustomerName     string     `db:"customer_name"`
	PartnerID        string     `db:"partner_id"`
	PartnerUserID    string     `db:"partner_user_id"`
	PartnerUserName  string     `db:"partner_user_name"`
	PartnerUserEmail string     `db:"partner_user_email"`
	Role             string     `db:"role"`
	Reason           string     `db:"reason"`
	Edition          string     `db:"edition"`
	State            string     `db:"state"`
	Seq              int        `db:"seq"`
	RequestedBy      string     `db:"requested_by"`
	RequestedAt      time.Time  `db:"requested_at"`
	ApprovalDeadline *time.Time `db:"approval_deadline"`
	DecidedBy        string     `db:"decided_by"`
	Decision         string     `db:"decision"`
	DecidedAt        *time.Time `db:"decided_at"`
	ActivatedAt      *time.Time `db:"activated_at"`
	AccessEndsAt     *time.Time `db:"access_ends_at"`
	EndedAt          *time.Time `db:"ended_at"`
	EndedBy          string     `db:"ended_by"`
	EndReason        string     `db:"end_reason"`
	Failure          string     `db:"failure"`
	UpdatedAt        time.Time  `db:"updated_at"`
	// What the customer's policy asked of it (R10): how many approvals
	// settle the request, and when access starts (nil: once approved).
	ApprovalsRequired int        `db:"approvals_required"`
	StartsAt          *time.Time `db:"starts_at"`
	// DecidedVia is the channel the decision came through (email, page,
	// teams, slack; "" before channels were told apart, or by policy).
	DecidedVia string `db:"decided_via"`
}

// Open reports whether the assignment may still change.
func (a Assignment) Open() bool { return domain.OpenState(a.State) }

const assignmentColumns = `a.id, a.workflow_id, a.site_id, s.name AS site_name, s.customer_id,
	c.name AS customer_name, u.partner_id, a.partner_user_id, u.name AS partner_user_name,
	u.email AS partner_user_email, a.role, a.reason, a.edition, a.state, a.seq, a.requested_by,
	a.requested_at, a.approval_deadline, a.decided_by, a.decision, a.decided_at, a.activated_at,
	a.access_ends_at, a.ended_at, a.ended_by, a.end_reason, a.failure, a.updated_at,
	a.approvals_required, a.starts_at, a.decided_via
	FROM assignments a JOIN sites s ON s.id = a.site_id JOIN customers c ON c.id = s.customer_id
	JOIN users u ON u.id = a.partner_user_id`

// CreateAssignment records a new assignment in state requested. It is
// idempotent: both the server and the workflow's first step call it.
func (s *Store) CreateAssignment(ctx context.Context, a Assignment) error {
	a.RequestedAt, a.StartsAt = utc(a.RequestedAt), utcPtr(a.StartsAt)
	a.State = domain.StateRequested
	a.ApprovalsRequired = max(a.ApprovalsRequired, 1)
	_, err := s.w.namedExec(ctx, `INSERT INTO assignments
		(id, workflow_id, site_id, partner_user_id, role, reason, edition, state, requested_by, requested_at, updated_at,
		 approvals_required, starts_at)
		VALUES (:id, :workflow_id, :site_id, :partner_user_id, :role, :reason, :edition, :state,
		        :requested_by, :requested_at, :requested_at, :approvals_required, :starts_at)
		ON CONFLICT (id) DO NOTHING`, a)
	return wrap(err, "create assignment %s", a.ID)
}

// AssignmentByID returns one assignment.
func (s *Store) AssignmentByID(ctx context.Context, id string) (Assignment, error) {
	var a Assignment
	err := s.r.get(ctx, &a, `SELECT `+assignmentColumns+` WHERE a.id = ?`, id)
	return a, notFound(err, "assignment")
}

// Progress is how far an assignment has come: its state and, once an
// approver has decided, the decision and the signal that carried it.
type Progress struct {
	State          string `db:"state"`
	Decision       string `db:"decision"`
	DecisionSignal string `db:"decision_signal"` // its server's voucher ID
}

// AssignmentProgress is a cheap primary-key read for callers that wait for
// the workflow to move.
func (s *Store) AssignmentProgress(ctx context.Context, id string) (Progress, error) {
	var p Progress
	err := s.r.get(ctx, &p, `SELECT state, decision, decision_signal FROM assignments WHERE id = ?`, id)
	return p, notFound(err, "assignment")
}

// OpenAssignment returns the open assignment of a partner user to a site (R8).
func (s *Store) OpenAssignment(ctx context.Context, siteID, userID string) (Assignment, error) {
	var a Assignment
	err := s.r.get(ctx, &a, `SELECT `+assignmentColumns+` WHERE a.site_id = ? AND a.partner_user_id = ?
		AND a.state IN `+openStates, siteID, userID)
	return a, notFound(err, "open assignment")
}

// AssignmentFilter selects assignments; empty fields match everything.
type AssignmentFilter struct {
	SiteID        string `db:"site_id"`
	CustomerID    string `db:"customer_id"`
	PartnerID     string `db:"partner_id"`
	PartnerUserID string `db:"partner_user_id"`
	State         string `db:"state"`
	Limit         int    `db:"limit"`
}

// Assignments lists assignments, newest first.
func (s *Store) Assignments(ctx context.Context, f AssignmentFilter) ([]Assignment, error) {
	if f.Limit <= 0 {
		f.Limit = 200
	}
	var as []Assignment
	err := s.r.namedSel(ctx, &as, `SELECT `+assignmentColumns+` WHERE
		(:site_id = '' OR a.site_id = :site_id) AND (:customer_id = '' OR s.customer_id = :customer_id)
		AND (:partner_id = '' OR u.partner_id = :partner_id)
		AND (:partner_user_id = '' OR a.partner_user_id = :partner_user_id)
		AND (:state = '' OR a.state = :state)
		ORDER BY a.requested_at DESC, a.id LIMIT :limit`, f)
	return as, wrap(err, "list assignments")
}

// Transition is one step the workflow records. Seq increases with each step
// of one workflow, so a late retry of an older step changes nothing.
type Transition struct {
	AssignmentID     string        `db:"id"`
	Seq              int           `db:"seq"`
	State            string        `db:"state"`
	At               time.Time     `db:"at"`
	Actor            string        `db:"actor"`
	Action           domain.Action `db:"action"`
	Detail           string        `db:"detail"`
	ApprovalDeadline *time.Time    `db:"approval_deadline"`
	DecidedBy        string        `db:"decided_by"`
	Decision         string        `db:"decision"`
	DecisionSignal   string        `db:"decision_signal"` // the voucher ID of the signal that decided
	ActivatedAt      *time.Time    `db:"activated_at"`
	AccessEndsAt     *time.Time    `db:"access_ends_at"`
	EndedBy          string        `db:"ended_by"`
	EndReason        string        `db:"end_reason"`
	Failure          string        `db:"failure"`
	// Set once the workflow knows them; zero keeps what is recorded.
	ApprovalsRequired int        `db:"approvals_required"`
	StartsAt          *time.Time `db:"starts_at"`
	// Via is the channel of the decision the transition records.
	Via string `db:"via"`
}

// ApplyTransition moves the projection to the transition's state and appends
// it to the audit log, once, however often it is retried.
func (s *Store) ApplyTransition(ctx context.Context, t Transition) error {
	t.At = utc(t.At)
	t.ApprovalDeadline, t.ActivatedAt, t.AccessEndsAt = utcPtr(t.ApprovalDeadline), utcPtr(t.ActivatedAt), utcPtr(t.AccessEndsAt)
	t.StartsAt = utcPtr(t.StartsAt)
	return wrap(s.inTx(ctx, func(tx conn) error {
		res, err := tx.namedExec(ctx, `UPDATE assignments SET state = :state, seq = :seq, updated_at = :at,
			approval_deadline = COALESCE(:approval_deadline, approval_deadline),
			decided_by = CASE WHEN :decision <> '' THEN :decided_by ELSE decided_by END,
			decision = CASE WHEN :decision <> '' THEN :decision ELSE decision END,
			decided_at = CASE WHEN :decision <> '' THEN :at ELSE decided_at END,
			decision_signal = CASE WHEN :decision <> '' THEN :decision_signal ELSE decision_signal END,
			decided_via = CASE WHEN :decision <> '' THEN :via ELSE decided_via END,
			activated_at = COALESCE(:activated_at, activated_at),
			access_ends_at = COALESCE(:access_ends_at, access_ends_at),
			approvals_required = CASE WHEN :approvals_required > 0 THEN :approvals_required ELSE approvals_required END,
			starts_at = COALESCE(:starts_at, starts_at),
			ended_at = CASE WHEN :state IN `+openStates+`
				THEN ended_at ELSE :at END,
			ended_by = CASE WHEN :ended_by <> '' THEN :ended_by ELSE ended_by END,
			end_reason = CASE WHEN :end_reason <> '' THEN :end_reason ELSE end_reason END,
			failure = CASE WHEN :failure <> '' THEN :failure ELSE failure END
			WHERE id = :id AND seq < :seq`, t)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists bool
			if err := tx.get(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM assignments WHERE id = ?)`, t.AssignmentID); err != nil {
				return err
			}
			if !exists {
				return fmt.Errorf("assignment %s: %w", t.AssignmentID, ErrNotFound)
			}
			return nil // already applied
		}
		key := fmt.Sprintf("%s/%d", t.AssignmentID, t.Seq)
		return appendAudit(ctx, tx, AuditEntry{
			At: t.At, ActorID: t.Actor, Action: t.Action, Outcome: OutcomeOK,
			AssignmentID: t.AssignmentID, Detail: t.Detail,
			EventKey: &key, Via: t.Via,
		})
	}), "record %s of assignment %s", t.State, t.AssignmentID)
}
