package target

import (
	"context"
	"time"

	"github.com/partneraccess/partneraccess/internal/store"
)

// Steps of an activation or a revocation, as a directory target records
// them in Steps (SPEC §16).
const (
	StepCreate     = "create"     // an account's create was sent (its answer may be lost)
	StepAccount    = "account"    // the account is found or made, enabled, its password set; or, revoking, disabled
	StepMembership = "membership" // added to, or removed from, the site's access group
	StepSessions   = "sessions"   // its sign-in sessions ended
	StepDesktops   = "desktops"   // its desktop sessions logged off, none left (detail: how many, how long)
	// StepDesktopsEnded is the logoff in progress: how many sessions were
	// ended so far and since when (detail "N since RFC 3339"), so a retried
	// logoff still counts what an earlier attempt ended.
	StepDesktopsEnded = "desktops-ended"
	StepProof         = "proof" // the group read back without it
)

// Steps are the steps of one assignment's activation or revocation that
// the directory answered, as the store records them: a retried attempt
// (another worker's, after this one died) resumes after the last one, so
// no answered write is sent twice, and the directory's quota, which counts
// every request, is spent once.
type Steps struct {
	st           Store
	assignmentID string
	phase        string
	done         map[string]string // step → detail
}

// Steps reads the assignment's steps in phase (store.PhaseActivate or
// store.PhaseRevoke). An activation that finds steps of a revocation is
// one started again after it (a run reset to before activation): both
// phases start over.
func (b Base) Steps(ctx context.Context, assignmentID, phase string) (*Steps, error) {
	s := &Steps{st: b.Store, assignmentID: assignmentID, phase: phase, done: map[string]string{}}
	steps, err := b.Store.DirectorySteps(ctx, assignmentID)
	if err != nil {
		return nil, err
	}
	revoked := false
	for _, st := range steps {
		if st.Phase == phase {
			s.done[st.Step] = st.Detail
		}
		revoked = revoked || st.Phase == store.PhaseRevoke
	}
	if phase == store.PhaseActivate && revoked {
		for _, p := range []string{store.PhaseRevoke, store.PhaseActivate} {
			if err := b.Store.ClearDirectorySteps(ctx, assignmentID, p); err != nil {
				return nil, err
			}
		}
		clear(s.done)
	}
	return s, nil
}

// Done reports whether the step was answered, and what was recorded of it.
func (s *Steps) Done(step string) (string, bool) {
	d, ok := s.done[step]
	return d, ok
}

// Mark records the step as answered, with detail.
func (s *Steps) Mark(ctx context.Context, step, detail string) error {
	if err := s.st.SaveDirectoryStep(ctx, store.DirectoryStep{AssignmentID: s.assignmentID, Phase: s.phase, Step: step,
		Detail: detail, DoneAt: time.Now()}); err != nil {
		return err
	}
	s.done[step] = detail
	return nil
}
