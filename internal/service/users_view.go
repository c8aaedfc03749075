package service

import (
	"context"
	"errors"

	"github.com/partneraccess/partneraccess/internal/store"
)

// ManagedUser is a user as its administrators see it, with the working
// invitation of a user who has not registered.
type ManagedUser struct {
	store.User
	Invitation *store.UserToken
}

// OrgUsers lists an organization's users, with their invitations, for one
// of its administrators.
func (s *Service) OrgUsers(ctx context.Context, actor store.User, kind, id string) (Org, []ManagedUser, error) {
	o, err := s.managedOrg(ctx, actor, kind, id)
	if err != nil {
		return o, nil, err
	}
	var us []store.User
	if o.Kind == store.KindPartner {
		us, err = s.store.PartnerUsers(ctx, o.ID)
	} else {
		us, err = s.store.CustomerUsers(ctx, o.ID)
	}
	if err != nil {
		return o, nil, err
	}
	invs, err := s.store.OpenInvitations(ctx, o.Kind, o.ID, s.now())
	if err != nil {
		return o, nil, err
	}
	out := make([]ManagedUser, len(us))
	for i, u := range us {
		out[i] = ManagedUser{User: u}
		if inv, ok := invs[u.ID]; ok && u.Status == store.StatusInvited {
			out[i].Invitation = &inv
		}
	}
	return o, out, nil
}

// Managed adds a user's working invitation, if any, for its administrators.
func (s *Service) Managed(ctx context.Context, u store.User) ManagedUser {
	m := ManagedUser{User: u}
	if u.Status != store.StatusInvited {
		return m
	}
	inv, err := s.store.OpenInvitation(ctx, u.ID, s.now())
	if err == nil {
		m.Invitation = &inv
	} else if !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("read invitation", "user", u.ID, "error", err)
	}
	return m
}
