package service

import (
	"context"
	"errors"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Register sets an invited user's password from its invitation link and
// makes it active.
func (s *Service) Register(ctx context.Context, raw, pw string) (store.User, error) {
	t, u, o, h, err := s.passwordFromLink(ctx, raw, pw, store.PurposeInvitation, domain.ActionRegistrationRefused)
	if err != nil {
		return u, err
	}
	registered, err := s.store.Register(ctx, t.Hash, h, s.now())
	if errors.Is(err, store.ErrTokenUnusable) || errors.Is(err, store.ErrUserState) {
		_, _, err = s.userLink(ctx, raw, store.PurposeInvitation) // used meanwhile: say how
		if err == nil {
			err = &problem.Error{Kind: problem.KindGone, Field: "token", Detail: "this invitation link no longer works"}
		}
		return u, err
	} else if err != nil {
		return u, err
	}
	s.auditUser(ctx, u.ID, o, domain.ActionUserRegistered, registered, "")
	return registered, nil
}
