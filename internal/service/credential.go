package service

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/partneraccess/partneraccess/internal/access"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
)

// credentialAssignment is the Professional assignment whose temporary
// password actor asks for; only the assigned partner user gets it (R5), and
// every other attempt is refused and audited.
func (s *Service) credentialAssignment(ctx context.Context, actor store.User, id string) (store.Assignment, error) {
	a, err := s.rules.VisibleAssignment(ctx, actor, id)
	if err == nil && actor.ID != a.PartnerUserID {
		err = problem.Forbidden("R5", "only the assigned partner user can view this temporary password")
	}
	if err == nil && a.Edition != domain.EditionProfessional {
		err = problem.NotFound("assignment", "this assignment has no temporary password")
	}
	if err != nil {
		return a, s.refuse(ctx, s.onAssignment(actor, "credential.refused", id, a), err)
	}
	return a, nil
}

// CredentialState is what the credential page shows before the password is.
type CredentialState struct {
	Assignment store.Assignment
	// Available: a temporary password waits to be viewed.
	Available bool
	ViewedAt  *time.Time
	// CanReissue: access is active, so a new password may be issued.
	CanReissue bool
}

// Credential says whether the assigned partner user's temporary password
// can be viewed, without showing it.
func (s *Service) Credential(ctx context.Context, actor store.User, id string) (CredentialState, error) {
	a, err := s.credentialAssignment(ctx, actor, id)
	if err != nil {
		return CredentialState{}, err
	}
	c, err := s.store.CredentialByAssignment(ctx, a.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return CredentialState{}, err
	}
	found := err == nil
	return CredentialState{Assignment: a, Available: found && c.Ciphertext != nil, ViewedAt: c.ViewedAt,
		CanReissue: found && a.State == domain.StateActive}, nil
}

// ViewCredential shows the assigned partner user its temporary password once.
func (s *Service) ViewCredential(ctx context.Context, actor store.User, id string) (login, password string, err error) {
	a, err := s.credentialAssignment(ctx, actor, id)
	if err != nil {
		return "", "", err
	}
	login, password, err = access.TakeCredential(ctx, s.store, s.keys, a.ID, s.now())
	switch {
	case errors.Is(err, access.ErrCredentialGone), errors.Is(err, store.ErrNotFound):
		return login, "", &problem.Error{Status: http.StatusGone, Detail: "the temporary password has already been viewed or was destroyed when access ended"}
	case err != nil:
		return "", "", err
	}
	s.audit(ctx, actor, "credential.viewed", a.ID, "")
	return login, password, nil
}

// ReissueCredential destroys the assigned partner user's temporary password
// and issues a new one, viewable once, while access lasts (R5).
func (s *Service) ReissueCredential(ctx context.Context, actor store.User, id string) (store.Assignment, error) {
	a, err := s.credentialAssignment(ctx, actor, id)
	if err != nil {
		return a, err
	}
	if a.State != domain.StateActive {
		err = problem.Conflict("a new temporary password can be issued only while access is active; this assignment is %s", rules.StateText(a.State))
	} else if err = access.ReissueCredential(ctx, s.store, s.keys, a.ID, s.now()); errors.Is(err, access.ErrNoAccess) {
		err = problem.Conflict("a new temporary password cannot be issued: access is not in force, or the first one is not issued yet")
	}
	if err != nil {
		return a, s.refuse(ctx, s.onAssignment(actor, "credential.reissue_refused", a.ID, a), err)
	}
	s.audit(ctx, actor, "credential.reissued", a.ID, "the old temporary password was destroyed")
	return a, nil
}
