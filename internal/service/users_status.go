package service

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

// UserPatch is a change to a user: its status, its roles, or both.
type UserPatch struct {
	Status *string
	Roles  *[]string
}

// UpdateUser applies an administrator's change to a user.
func (s *Service) UpdateUser(ctx context.Context, by store.User, id string, p UserPatch) (store.User, error) {
	if p.Status == nil && p.Roles == nil {
		return store.User{}, problem.Invalid("", `send "status" ("active" or "suspended"), "roles", or both`)
	}
	u, o, err := s.managedUser(ctx, by, id)
	if err != nil {
		return u, err
	}
	var roles []string
	if p.Roles != nil {
		if roles, err = rules.Roles(u.Kind, *p.Roles); err != nil {
			return u, err
		}
		if u.ID == by.ID && !slices.Contains(roles, adminRole(u.Kind)) {
			return u, problem.Unprocessable("", "roles", "you cannot remove your own %s role; ask another administrator", adminRole(u.Kind))
		}
	}
	if p.Status != nil {
		if err := s.checkStatusChange(by, u, *p.Status); err != nil {
			return u, err
		}
	}
	if p.Roles != nil && !slices.Equal(roles, u.Roles) {
		if err := s.store.SetUserRoles(ctx, u.ID, roles); err != nil {
			return u, lastAdmin(err, u, o)
		}
		s.auditUser(ctx, by.ID, o, domain.ActionUserRolesSet, u, strings.Join(roles, ", "))
	}
	if p.Status != nil {
		if err := s.setStatus(ctx, by, o, u, *p.Status); err != nil {
			return u, err
		}
	}
	return s.store.UserByID(ctx, u.ID)
}

func adminRole(kind string) string {
	if kind == store.KindCustomer {
		return store.RoleCustomerAdmin
	}
	return store.RolePartnerAdmin
}

func (s *Service) checkStatusChange(by, u store.User, status string) error {
	switch {
	case status != store.StatusActive && status != store.StatusSuspended:
		return problem.Unprocessable("R2", "status", `status must be "active" or "suspended"`)
	case u.ID == by.ID && status == store.StatusSuspended:
		return problem.Unprocessable("R2", "status", "you cannot suspend yourself; ask another administrator")
	case u.Status == store.StatusInvited:
		return problem.Conflict("%s has not registered yet; withdraw or resend the invitation instead", u.Email)
	}
	return nil
}

// setStatus suspends or reactivates a registered user. Suspending ends its
// sessions and links, then every open assignment of theirs as a withdrawal
// of permission does (R2, R7); repeating it finishes what a Temporal
// outage left open.
func (s *Service) setStatus(ctx context.Context, by store.User, o Org, u store.User, status string) error {
	if status == store.StatusActive {
		changed, err := s.store.ReactivateUser(ctx, u.ID, s.now())
		if err == nil && changed {
			s.auditUser(ctx, by.ID, o, domain.ActionUserReactivated, u, "")
		}
		return err
	}
	changed, err := s.store.SuspendUser(ctx, u.ID, s.now())
	if err != nil {
		return lastAdmin(err, u, o)
	}
	if changed {
		s.auditUser(ctx, by.ID, o, domain.ActionUserSuspended, u, "sessions ended")
	}
	if u.Kind != store.KindPartner { // a customer user holds no assignment; CheckSignal stops its decisions
		if unbound, err := s.store.UnbindTeams(ctx, u.ID); err != nil {
			return err
		} else if unbound {
			s.auditUser(ctx, by.ID, o, domain.ActionTeamsUnbound, u, "suspended: the Teams conversation no longer receives requests")
		}
		return nil
	}
	if err := s.endOpen(ctx, by, store.AssignmentFilter{PartnerUserID: u.ID}, workflows.CauseUserSuspended); err != nil {
		return problem.Unavailable("%s is suspended and logged out, but open assignments could not all be ended yet; repeat the request to end them", u.Email)
	}
	return nil
}

// lastAdmin says so when a change would leave an organization without an
// active administrator (checked in the change's own transaction).
func lastAdmin(err error, u store.User, o Org) error {
	if errors.Is(err, store.ErrLastAdministrator) {
		return problem.Conflict("%s is the last active administrator of %s; make someone else an administrator first", u.Email, o.Name)
	}
	return err
}
