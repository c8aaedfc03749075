package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/emailaddr"
	pamail "github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// NewUser is what an administrator gives to invite a user.
type NewUser struct {
	Email string
	Name  string
	Roles []string
}

// Invite adds an invited user to an organization and emails the
// invitation. When the email cannot be sent the user stays, invited, and
// the error says how to send it again.
//
// An address that a user of another organization holds gets the answer of
// an invitation sent, and nothing happens: that user gets no email, and the
// administrator learns nothing about who uses the product elsewhere. The
// look-alike invitation is in no list and no link works; the operator sees
// it in the audit log (user.invitation_suppressed). An address held in the
// administrator's own organization is a conflict, as they can see it.
func (s *Service) Invite(ctx context.Context, by store.User, kind, orgID string, in NewUser) (ManagedUser, error) {
	o, err := s.managedOrg(ctx, by, kind, orgID)
	if err != nil {
		return ManagedUser{}, err
	}
	// Only an invitation that will go out takes from the budget.
	u, err := s.checkNewUser(o.Kind, in)
	if err != nil {
		return ManagedUser{}, err
	}
	if err := s.Limits.invitation(by, in.Email); err != nil {
		return ManagedUser{}, err
	}
	if held, err := s.store.UserByEmail(ctx, u.Email); err == nil && !inOrg(held, o) {
		return s.suppressedInvitation(ctx, by, o, u, held), nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return ManagedUser{}, err
	}
	u, _, err = s.addInvitedUser(ctx, by, o, in)
	if u.ID == "" {
		return ManagedUser{}, err
	}
	return s.Managed(ctx, u), err
}

func inOrg(u store.User, o Org) bool {
	if o.Kind == store.KindPartner {
		return u.Kind == store.KindPartner && u.PartnerID == o.ID
	}
	return u.Kind == store.KindCustomer && u.CustomerID == o.ID
}

// suppressedInvitation is the answer to an invitation of an address held
// elsewhere: shaped like one sent, recorded for the operator, nothing more.
func (s *Service) suppressedInvitation(ctx context.Context, by store.User, o Org, u store.User, held store.User) ManagedUser {
	now := s.now()
	u.ID, u.InvitedBy = "u-"+secret.NewToken()[:12], by.ID
	if o.Kind == store.KindPartner {
		u.PartnerID = o.ID
	} else {
		u.CustomerID = o.ID
	}
	s.auditUser(ctx, by.ID, o, domain.ActionUserInvitationSuppressed, u, "the address belongs to user "+held.ID+
		" of another organization; nothing was stored or sent")
	return ManagedUser{User: u, Invitation: &store.UserToken{UserID: u.ID, Purpose: store.PurposeInvitation,
		CreatedBy: by.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}}
}

// addInvitedUser is the one path of an invitation, for administrators and
// the operator alike: check, add the user invited, audit, email the link.
func (s *Service) addInvitedUser(ctx context.Context, by store.User, o Org, in NewUser) (store.User, string, error) {
	u, err := s.checkNewUser(o.Kind, in)
	if err != nil {
		return store.User{}, "", err
	}
	u.ID, u.InvitedBy = "u-"+secret.NewToken()[:12], by.ID
	if o.Kind == store.KindPartner {
		u.PartnerID = o.ID
	} else {
		u.CustomerID = o.ID
	}
	if err := s.store.CreateUser(ctx, u); store.IsConstraint(err) {
		return store.User{}, "", problem.Conflict("a user with the email %s already exists", u.Email)
	} else if err != nil {
		return store.User{}, "", err
	}
	s.auditUser(ctx, by.ID, o, domain.ActionUserInvited, u, strings.Join(u.Roles, ", "))
	link, err := s.sendInvitation(ctx, by, o, u)
	return u, link, err
}

func (s *Service) checkNewUser(kind string, in NewUser) (store.User, error) {
	email, err := emailaddr.Check(in.Email)
	if errors.Is(err, emailaddr.ErrNotAnAddress) {
		return store.User{}, problem.Invalid("email", "email must be an address like name@example.com")
	} else if err != nil {
		return store.User{}, problem.Unprocessable("", "email", "%s", err)
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return store.User{}, problem.Invalid("name", "name is required")
	}
	if name, err = rules.Note("", "name", name); err != nil {
		return store.User{}, err
	}
	roles, err := rules.Roles(kind, in.Roles)
	if err != nil {
		return store.User{}, err
	}
	return store.User{Email: email, Name: name, Kind: kind, Status: store.StatusInvited, Roles: roles}, nil
}

// sendInvitation issues a fresh invitation link (the old one dies) and
// emails it.
// It returns the link, for the operator's console when mail stays in the
// store.
func (s *Service) sendInvitation(ctx context.Context, by store.User, o Org, u store.User) (string, error) {
	token, now := secret.NewToken(), s.now()
	hash := secret.HashToken(token)
	if err := s.store.IssueUserToken(ctx, store.UserToken{Hash: hash, UserID: u.ID, Purpose: store.PurposeInvitation,
		CreatedBy: by.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}); err != nil {
		return "", err
	}
	link := s.link("register", token)
	err := s.sendUserEmail(ctx, domain.EmailInvitation, u, pamail.Data{
		OrganizationName: o.Name, InvitedBy: by.Name, Roles: strings.Join(u.Roles, ", "),
		LinkURL: link, LinkExpiresAt: now.Add(s.cfg.InvitationTTL), LinkValidFor: s.cfg.InvitationTTL,
	}, userEmailKey(domain.EmailInvitation, u.ID, hash))
	var notSent *errMailNotSent
	if errors.As(err, &notSent) {
		s.auditUser(ctx, by.ID, o, domain.ActionUserInvitationFailed, u, notSent.Detail)
		return "", &problem.Error{Kind: problem.KindUpstreamFailed, Field: "email", Detail: fmt.Sprintf(
			"%s is %s, but the invitation email could not be sent (%s); send it again from the Users page or with POST /api/v1/users/%s/invitation",
			u.Email, u.Status, notSent.Detail, u.ID)}
	} else if err != nil {
		return "", err
	}
	s.auditUser(ctx, by.ID, o, domain.ActionUserInvitationSent, u, "")
	return link, nil
}

// ResendInvitation sends a fresh invitation to a user who has not
// registered yet; the earlier link stops working.
func (s *Service) ResendInvitation(ctx context.Context, by store.User, id string) (store.User, error) {
	u, o, err := s.managedUser(ctx, by, id)
	if err != nil {
		return u, err
	}
	if u.Status != store.StatusInvited {
		return u, problem.Conflict("%s has already registered; someone who forgot the password uses \"Forgot your password?\" on the login page", u.Email)
	}
	if err := s.Limits.invitation(by, u.Email); err != nil {
		return u, err
	}
	_, err = s.sendInvitation(ctx, by, o, u)
	return u, err
}

// WithdrawInvitation makes a user's invitation link stop working.
func (s *Service) WithdrawInvitation(ctx context.Context, by store.User, id string) (store.User, error) {
	u, o, err := s.managedUser(ctx, by, id)
	if err != nil {
		return u, err
	}
	if u.Status != store.StatusInvited {
		return u, problem.Conflict("%s has already registered; suspend the account instead", u.Email)
	}
	n, err := s.store.WithdrawInvitation(ctx, u.ID, s.now())
	if err != nil {
		return u, err
	}
	if n > 0 {
		s.auditUser(ctx, by.ID, o, domain.ActionUserInvitationWithdrawn, u, "")
	}
	return u, nil
}
