package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The user lifecycle (R2): an administrator of an organization invites its
// users, who register through a one-time link; administrators suspend,
// reactivate and set roles; anyone may reset a forgotten password.
// This file holds the organizations whose users are managed and who may
// manage whom; each step has a file named for it.

// Org is an organization whose users are managed: a partner or a customer.
type Org struct {
	Kind      string // store.KindPartner or store.KindCustomer
	ID, Name  string
	PartnerID string // the partner of a customer (the audit log's tenant)
}

func (o Org) audit(e store.AuditEntry) store.AuditEntry {
	if o.Kind == store.KindPartner {
		e.PartnerID = o.ID
	} else {
		e.CustomerID, e.PartnerID = o.ID, o.PartnerID
	}
	return e
}

// orgOf is the organization a user belongs to.
func (s *Service) orgOf(ctx context.Context, u store.User) (Org, error) {
	if u.Kind == store.KindPartner {
		return s.orgByKind(ctx, store.KindPartner, u.PartnerID)
	}
	return s.orgByKind(ctx, store.KindCustomer, u.CustomerID)
}

// orgByKind is the partner or customer (kind) id.
func (s *Service) orgByKind(ctx context.Context, kind, id string) (Org, error) {
	if kind == store.KindPartner {
		p, err := s.store.PartnerByID(ctx, id)
		return Org{Kind: store.KindPartner, ID: p.ID, Name: p.Name}, err
	}
	c, err := s.store.CustomerByID(ctx, id)
	return Org{Kind: store.KindCustomer, ID: c.ID, Name: c.Name, PartnerID: c.PartnerID}, err
}

// managedOrg is the organization kind/id whose users actor wants to
// manage, once actor may (CanManageUsers). A customer the actor may not see
// answers like a missing one; a partner other than the actor's own is
// refused without saying whether it exists.
func (s *Service) managedOrg(ctx context.Context, actor store.User, kind, id string) (Org, error) {
	var o Org
	var err error
	if kind == store.KindCustomer {
		var c store.Customer
		if c, err = s.visibleCustomer(ctx, actor, id); err == nil {
			o = Org{Kind: kind, ID: c.ID, Name: c.Name, PartnerID: c.PartnerID}
		}
	}
	if err == nil {
		err = rules.CanManageUsers(actor, kind, id)
	}
	if err == nil && kind == store.KindPartner {
		o, err = s.orgOf(ctx, actor)
	}
	if err != nil {
		s.refuseUsers(ctx, actor, "", err)
	}
	return o, err
}

// managedUser is a user actor may manage, with its organization. A user
// actor may not see answers like a missing one.
func (s *Service) managedUser(ctx context.Context, actor store.User, id string) (store.User, Org, error) {
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.canSeeUser(ctx, actor, u)) {
		err = problem.NotFound("user", "no user %q", id)
	} else if err != nil {
		return u, Org{}, err
	}
	var o Org
	if err == nil {
		if o, err = s.orgOf(ctx, u); err == nil {
			err = rules.CanManageUsers(actor, o.Kind, o.ID)
		}
	}
	if err != nil {
		s.refuseUsers(ctx, actor, id, err)
	}
	return u, o, err
}

// canSeeUser: the users of one's own organization, and a partner's the
// users of its customers (it sees their names on assignments).
func (s *Service) canSeeUser(ctx context.Context, actor, u store.User) bool {
	switch {
	case u.Kind == store.KindPartner:
		return actor.Kind == store.KindPartner && actor.PartnerID == u.PartnerID
	case actor.Kind == store.KindCustomer:
		return actor.CustomerID == u.CustomerID
	}
	c, err := s.store.CustomerByID(ctx, u.CustomerID)
	return err == nil && c.PartnerID == actor.PartnerID
}

// refuseUsers audits a refused attempt on users (R6) in the actor's tenant.
func (s *Service) refuseUsers(ctx context.Context, actor store.User, userID string, err error) error {
	r := refusal{Actor: &actor, Action: domain.ActionUserRefused}
	if userID != "" {
		r.Hidden = fmt.Sprintf("user %q", userID)
	}
	return s.refuse(ctx, r, err)
}

// auditUser writes a change to a user in its organization's audit log.
func (s *Service) auditUser(ctx context.Context, actorID string, o Org, action domain.Action, u store.User, detail string) {
	d := u.ID + " " + u.Email
	if detail != "" {
		d += ": " + detail
	}
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), o.audit(store.AuditEntry{At: s.now(), ActorID: actorID, Action: action,
		Outcome: store.OutcomeOK, Detail: clip(d)})))
}

// OwnOrg is the organization a user belongs to: (kind, id).
func OwnOrg(u store.User) (kind, id string) {
	if u.Kind == store.KindPartner {
		return store.KindPartner, u.PartnerID
	}
	return store.KindCustomer, u.CustomerID
}

// IsAdmin reports whether u administers its organization.
func IsAdmin(u store.User) bool {
	return u.Status == store.StatusActive && (u.HasRole(store.RolePartnerAdmin) || u.HasRole(store.RoleCustomerAdmin))
}
