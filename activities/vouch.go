package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Kinds of vouched start: every workflow type the app starts is a door on
// the Temporal frontend, and each run's first step checks that a server
// (or, for the emails, the assignment's own run) vouched for it (SPEC §7).
const (
	VouchAssignment = "assignment"
	VouchEmails     = "emails"
	VouchReissue    = "reissue"
	// VouchReconcile: the reconciler's Schedule starts every pass with the
	// same input, so its vouch is a MAC only, never consumed. A pass only
	// removes what the store no longer justifies.
	VouchReconcile = "reconcile"
)

// ReconcileScheduleID is the Schedule that starts the reconciler's passes.
const ReconcileScheduleID = "partner-access-reconciler"

// ErrTypeForged is the application error type of a run whose start, or
// whose request, the store does not justify; it is not retried.
const ErrTypeForged = "Forged"

// VouchFields are what the MAC of a start covers: the workflow ID it is
// made under, the kind's tag, the vouch's ID and time, then what the run
// acts on (body).
func VouchFields(workflowID, tag, id string, sentAt time.Time, body ...string) []string {
	return append([]string{workflowID, tag, id, sentAt.UTC().Format(time.RFC3339Nano)}, body...)
}

// What a start's record says the run may do, in words an operator reads.
func AssignmentGrants(siteID, userID, edition string) string {
	return fmt.Sprintf("%s access of user %s to site %s", edition, userID, siteID)
}

// EmailsGrants is what an emails run may do.
func EmailsGrants(assignmentID string) string { return "the last emails of assignment " + assignmentID }

// ReconcileGrants is what a reconciler pass may do: a pass of the
// Schedule that started it (scheduleID "" when none did).
func ReconcileGrants(scheduleID string) string { return "a pass of schedule " + scheduleID }

// ReissueGrants is what a reissue run may do.
func ReissueGrants(assignmentID string) string {
	return "a new temporary password for the account of assignment " + assignmentID
}

// Vouches records the starts a server is about to make (the store).
type Vouches interface {
	PutVouch(ctx context.Context, id, kind, workflowID, grants string, at time.Time) error
}

// StartVouch is a start's voucher: its ID, time and MAC.
type StartVouch struct {
	ID     string
	SentAt time.Time
	MAC    string
}

// NewVouch vouches for a start of kind under workflowID: a fresh voucher
// signed over fields (given its ID and time), recorded in vs before the
// caller starts the run.
func NewVouch(ctx context.Context, keys *secret.Keys, vs Vouches, kind, workflowID, grants string, at time.Time,
	fields func(id string, sentAt time.Time) []string) (StartVouch, error) {
	v := StartVouch{ID: secret.NewToken(), SentAt: at}
	v.MAC = keys.SignSignal(fields(v.ID, v.SentAt)...)
	if kind == VouchReconcile || kind == VouchReviewPass { // a Schedule's, never consumed
		return v, nil
	}
	return v, vs.PutVouch(ctx, v.ID, kind, workflowID, grants, at)
}

// VouchRequest asks for a vouch for a start a workflow makes (the
// assignment's emails, which outlive it): Body is what the run acts on.
type VouchRequest struct {
	Kind       string
	Tag        string // the kind's tag in VouchFields
	WorkflowID string
	Grants     string
	Body       []string
}

// VouchStart vouches for a start a workflow is about to make; it runs as a
// local activity, so the key never enters history and replay takes the
// recorded voucher.
func (a *Activities) VouchStart(ctx context.Context, in VouchRequest) (StartVouch, error) {
	return NewVouch(ctx, a.Keys, a.Store, in.Kind, in.WorkflowID, in.Grants, time.Now(), func(id string, sentAt time.Time) []string {
		return VouchFields(in.WorkflowID, in.Tag, id, sentAt, in.Body...)
	})
}

// VouchCheck asks whether a run's start was vouched for, and consumes the
// vouch for this run.
type VouchCheck struct {
	Kind       string
	WorkflowID string
	RunID      string
	VouchID    string
	Grants     string
	Fields     []string // what the starter signed, in order
	MAC        string
	// AssignmentID names the assignment a refusal is audited on, if any.
	AssignmentID string `json:",omitempty"`
}

// checkVouch verifies the MAC and consumes the start's record for this
// run; why is empty when the start may go on.
func (a *Activities) checkVouch(ctx context.Context, in VouchCheck) (why string, err error) {
	if in.MAC == "" || !a.Keys.VerifySignal(in.MAC, in.Fields...) {
		return "the start was not made by a Partner Access server (no valid signature)", nil
	}
	if in.Kind == VouchReconcile { // its Schedule's pass, or nobody's
		if in.Grants != ReconcileGrants(ReconcileScheduleID) {
			return "a reconciler pass its Schedule did not start", nil
		}
		return "", nil
	}
	if in.Kind == VouchReviewPass {
		if in.Grants != ReviewPassGrants(ReviewScheduleID) {
			return "a review pass its Schedule did not start", nil
		}
		return "", nil
	}
	_, err = a.Store.ConsumeVouch(ctx, in.VouchID, in.Kind, in.WorkflowID, in.Grants, in.RunID, time.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "no Partner Access server recorded this start", nil
	case errors.Is(err, store.ErrVouchUsed):
		return "the start was already used (" + err.Error() + "): a start replayed, or a run reset to before its check, grants nothing", nil
	case errors.Is(err, store.ErrVouchMismatch):
		return err.Error(), nil
	}
	return "", err
}

// CheckVouch answers a VouchCheck for the workflows other than the
// assignment (whose CheckStart reads more). A refused start is audited,
// once per run: email.forged, reissue.forged or start.forged.
func (a *Activities) CheckVouch(ctx context.Context, in VouchCheck) (SignalVerdict, error) {
	why, err := a.checkVouch(ctx, in)
	if err != nil || why == "" {
		return SignalVerdict{OK: why == "" && err == nil}, err
	}
	action := domain.ActionStartForged
	switch in.Kind {
	case VouchEmails:
		action = domain.ActionEmailForged
	case VouchReissue:
		action = domain.ActionReissueForged
	}
	return SignalVerdict{Forged: true, Why: why}, a.auditForged(ctx, action, in.AssignmentID,
		fmt.Sprintf("%s start of %s refused: %s", in.Kind, in.WorkflowID, why), "forged/"+in.Kind+"/"+in.RunID)
}

// auditForged writes a refused input to the audit log, on its assignment
// (and so its tenants) when it names one, once per key.
func (a *Activities) auditForged(ctx context.Context, action domain.Action, assignmentID, detail, key string) error {
	return a.Store.Audit(ctx, store.AuditEntry{At: time.Now(), ActorID: "system", Action: action, Outcome: store.OutcomeRefused,
		AssignmentID: assignmentID, Detail: detail, EventKey: &key})
}
