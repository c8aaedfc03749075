package service

import (
	"context"
	"fmt"

	"github.com/partneraccess/partneraccess/internal/store"
)

// Operator is the actor of what the operator does from the command line
// (directory apply): the audit log's actor_id and, in invitation emails,
// who invited.
var Operator = store.User{ID: "operator", Name: "the Partner Access operator"}

// InviteAdministrator adds the first administrator of a partner or a
// customer (kind store.KindPartner or store.KindCustomer), invited, and
// emails the invitation: the path an administrator's invitation takes,
// with the operator as the one who invites. A user whose email could not
// be sent stays invited, and the error says so. When mail stays in the
// store (no sender), link is the invitation's link, for the operator to
// hand over: nobody can read the mailbox before logging in.
func (s *Service) InviteAdministrator(ctx context.Context, kind, orgID, email, name string) (u store.User, link string, err error) {
	o, err := s.orgByID(ctx, kind, orgID)
	if err != nil {
		return store.User{}, "", err
	}
	u, link, err = s.addInvitedUser(ctx, Operator, o, NewUser{Email: email, Name: name, Roles: []string{adminRole(kind)}})
	return u, s.keptLink(link), err
}

// keptLink is link when emails stay in the store, else "".
func (s *Service) keptLink(link string) string {
	if s.cfg.Mail != nil {
		return ""
	}
	return link
}

// ResendInvitationAsOperator sends a fresh invitation to a user still
// invited, from the operator; the earlier link stops working. link is as
// for InviteAdministrator.
func (s *Service) ResendInvitationAsOperator(ctx context.Context, userID string) (link string, err error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return "", err
	}
	if u.Status != store.StatusInvited {
		return "", fmt.Errorf("%s has already registered", u.Email)
	}
	o, err := s.orgOf(ctx, u)
	if err != nil {
		return "", err
	}
	link, err = s.sendInvitation(ctx, Operator, o, u)
	return s.keptLink(link), err
}

// orgByID is the partner or customer whose users are managed.
func (s *Service) orgByID(ctx context.Context, kind, id string) (Org, error) {
	switch kind {
	case store.KindPartner:
		return s.orgOf(ctx, store.User{Kind: kind, PartnerID: id})
	case store.KindCustomer:
		return s.orgOf(ctx, store.User{Kind: kind, CustomerID: id})
	}
	return Org{}, fmt.Errorf("unknown kind of organization %q", kind)
}
