package service

import (
	"context"
	"errors"
	"time"

	"github.com/partneraccess/partneraccess/internal/access"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/internal/wfclient"
)

// credentialAssignment is the assignment whose temporary password actor
// asks for (Professional, or an account made in the customer's directory); only the assigned partner user gets it (R5), and
// every other attempt is refused and audited.
func (s *Service) credentialAssignment(ctx context.Context, actor store.User, id string) (store.Assignment, error) {
	a, err := s.rules.VisibleAssignment(ctx, actor, id)
	if err == nil && actor.ID != a.PartnerUserID {
		err = problem.Forbidden("R5", "only the assigned partner user can view this temporary password")
	}
	if err == nil && a.Edition != domain.EditionProfessional && !s.hasCredential(ctx, a.ID) {
		err = problem.NotFound("assignment", "this assignment has no temporary password")
	}
	if err != nil {
		return a, s.refuse(ctx, s.onAssignment(actor, domain.ActionCredentialRefused, id, a), err)
	}
	return a, nil
}

// hasCredential reports whether a temporary password was issued for the
// assignment: always on Professional, on Standard when activation made the
// partner user's account in the customer's directory.
func (s *Service) hasCredential(ctx context.Context, id string) bool {
	_, err := s.store.CredentialByAssignment(ctx, id)
	return err == nil
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
		return login, "", problem.New(problem.KindGone, "the temporary password has already been viewed or was destroyed when access ended")
	case err != nil:
		return "", "", err
	}
	s.audit(ctx, actor, domain.ActionCredentialViewed, a.ID, "")
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
	} else {
		err = s.reissue(ctx, a)
	}
	if err != nil {
		return a, s.refuse(ctx, s.onAssignment(actor, domain.ActionCredentialReissueRefused, a.ID, a), err)
	}
	s.audit(ctx, actor, domain.ActionCredentialReissued, a.ID, "the old temporary password was destroyed")
	return a, nil
}

// reissue sets the new password: in the customer's directory, through the
// worker that holds its secrets, or in the store alone for the gateway.
func (s *Service) reissue(ctx context.Context, a store.Assignment) error {
	noAccess := problem.Conflict("a new temporary password cannot be issued: access is not in force, or the first one is not issued yet")
	site, err := s.store.SiteByID(ctx, a.SiteID)
	if err != nil {
		return err
	}
	t, err := s.store.CustomerTarget(ctx, site.CustomerID)
	if err != nil {
		return err
	}
	if t.Kind == store.TargetGateway {
		if err := access.ReissueCredential(ctx, s.store, s.keys, a.ID, s.now()); errors.Is(err, access.ErrNoAccess) {
			return noAccess
		} else if err != nil {
			return err
		}
		return nil
	}
	if s.wf == nil {
		return problem.Unavailable("the workflow engine is not connected; try again shortly")
	}
	u, err := s.store.UserByID(ctx, a.PartnerUserID)
	if err != nil {
		return err
	}
	err = s.wf.Reissue(ctx, target.Input{AssignmentID: a.ID, CustomerID: site.CustomerID, SiteID: a.SiteID,
		PartnerID: site.PartnerID, UserID: a.PartnerUserID, DisplayName: u.Name, Edition: a.Edition, At: s.now()})
	switch {
	case errors.Is(err, wfclient.ErrNoAccess):
		return noAccess
	case errors.Is(err, wfclient.ErrUnavailable):
		return problem.Unavailable("the workflow engine did not answer; try again shortly")
	case errors.Is(err, wfclient.ErrNotRecorded):
		return errNotRecorded
	case err != nil:
		return problem.New(problem.KindUpstreamFailed, "the customer's directory did not take the new password: %s", err)
	}
	return nil
}
