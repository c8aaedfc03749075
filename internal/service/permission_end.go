package service

import (
	"context"
	"errors"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
)

// maxPermissionSpan bounds how far ahead a permission's end may be.
const maxPermissionSpan = 3 * 365 * 24 * time.Hour

// SetPermissionUntil grants the customer's permission for its partner
// until a time (SPEC §15): customer administrators only. Its end is a
// withdrawal (R1), reminded 14 and 2 days before.
func (s *Service) SetPermissionUntil(ctx context.Context, actor store.User, customerID, until string) (store.Permission, error) {
	c, err := s.visibleCustomer(ctx, actor, customerID)
	if err == nil {
		err = rules.CanSetPermission(actor, customerID)
	}
	var end time.Time
	if err == nil {
		end, err = permissionEnd(until, s.now())
	}
	if err != nil {
		return store.Permission{}, s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionPermissionRefused}, err)
	}
	return s.grantUntil(ctx, actor, c, end, "until "+end.Format(time.RFC3339))
}

func permissionEnd(until string, now time.Time) (time.Time, error) {
	end, err := time.Parse(time.RFC3339, until)
	switch {
	case err != nil:
		return end, problem.Invalid("until", `until must be a time in RFC 3339, such as "2027-03-31T18:00:00Z"`)
	case !end.After(now):
		return end, problem.Unprocessable("R1", "until", "until must be in the future")
	case end.Sub(now) > maxPermissionSpan:
		return end, problem.Unprocessable("R1", "until", "until may be at most 3 years ahead")
	}
	return end.UTC(), nil
}

func (s *Service) grantUntil(ctx context.Context, actor store.User, c store.Customer, end time.Time, detail string) (store.Permission, error) {
	if err := s.store.GrantPermissionUntil(ctx, c.ID, c.PartnerID, end, actor.ID, s.now()); err != nil {
		return store.Permission{}, err
	}
	s.logAuditFailure(s.store.Audit(ctx, store.AuditEntry{At: s.now(), ActorID: actor.ID, Action: domain.ActionPermissionGranted,
		Outcome: store.OutcomeOK, CustomerID: c.ID, PartnerID: c.PartnerID, Detail: detail}))
	return s.store.PermissionOf(ctx, c.ID, c.PartnerID)
}

// RenewPermission moves a permission's end as far again as it was granted
// for (the reminders' one-click renewal).
func (s *Service) RenewPermission(ctx context.Context, actor store.User, customerID string) (store.Permission, error) {
	c, err := s.visibleCustomer(ctx, actor, customerID)
	if err == nil {
		err = rules.CanSetPermission(actor, customerID)
	}
	var p store.Permission
	if err == nil {
		p, err = s.store.PermissionOf(ctx, c.ID, c.PartnerID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!p.Granted || p.GrantedUntil == nil)) {
			err = problem.Conflict("the permission has no end to renew; grant it again instead")
		}
	}
	if err != nil {
		return p, s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionPermissionRefused}, err)
	}
	span := max(p.GrantedUntil.Sub(p.ChangedAt), 24*time.Hour)
	end := s.now().UTC().Add(span).Truncate(time.Second)
	return s.grantUntil(ctx, actor, c, end, "renewed until "+end.Format(time.RFC3339))
}

// Permission returns the customer's permission for its partner, for the
// permissions page (ErrNotFound: never granted).
func (s *Service) Permission(ctx context.Context, c store.Customer) (store.Permission, error) {
	return s.store.PermissionOf(ctx, c.ID, c.PartnerID)
}
