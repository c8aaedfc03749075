package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Vouch is a server's record of a workflow start it vouches for: written
// before the start, consumed by the run's first step.
type Vouch struct {
	ID         string     `db:"id"`
	Kind       string     `db:"kind"`
	WorkflowID string     `db:"workflow_id"`
	Grants     string     `db:"grants"` // what the run may do, in words
	CreatedAt  time.Time  `db:"created_at"`
	ConsumedAt *time.Time `db:"consumed_at"`
	ConsumedBy string     `db:"consumed_by"` // the run that consumed it
}

// ErrVouchUsed: the vouch was consumed by another run (a start replayed,
// or a run reset to before its check).
var ErrVouchUsed = errors.New("the start's vouch was already used")

// ErrVouchMismatch: the vouch was made for another workflow or another
// grant than the run claims.
var ErrVouchMismatch = errors.New("the start's vouch was made for something else")

// PutVouch records a start about to be made; recording the same one again
// is a no-op.
func (s *Store) PutVouch(ctx context.Context, id, kind, workflowID, grants string, at time.Time) error {
	_, err := s.w.exec(ctx, `INSERT INTO start_vouches (id, kind, workflow_id, grants, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, id, kind, workflowID, grants, utc(at))
	return wrap(err, "record the vouch of a %s start", kind)
}

// ConsumeVouch uses the vouch id for run runID of workflowID, once: it is
// ErrNotFound when no server recorded it, ErrVouchMismatch when it was made
// for another kind, workflow or grant, and ErrVouchUsed when another run
// consumed it. The run that consumed it may ask again (a retried check).
func (s *Store) ConsumeVouch(ctx context.Context, id, kind, workflowID, grants, runID string, at time.Time) (Vouch, error) {
	var v Vouch
	err := s.inTx(ctx, func(tx conn) error {
		if _, err := tx.exec(ctx, `UPDATE start_vouches SET consumed_at = ?, consumed_by = ?
			WHERE id = ? AND kind = ? AND workflow_id = ? AND grants = ? AND consumed_at IS NULL`,
			utc(at), runID, id, kind, workflowID, grants); err != nil {
			return err
		}
		err := tx.get(ctx, &v, `SELECT id, kind, workflow_id, grants, created_at, consumed_at, consumed_by
			FROM start_vouches WHERE id = ?`, id)
		return notFound(err, "vouch")
	})
	switch {
	case err != nil:
		return v, wrap(err, "consume the vouch of a %s start", kind)
	case v.Kind != kind || v.WorkflowID != workflowID || v.Grants != grants:
		return v, fmt.Errorf("%w (a %s start of %s: %s)", ErrVouchMismatch, v.Kind, v.WorkflowID, v.Grants)
	case v.ConsumedBy != runID:
		return v, fmt.Errorf("%w by run %s at %s", ErrVouchUsed, v.ConsumedBy, v.ConsumedAt.UTC().Format(time.RFC3339))
	}
	return v, nil
}
