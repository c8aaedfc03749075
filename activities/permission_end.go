package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/store"
)

// PermissionReminders are how long before a permission's end its customer's
// administrators are reminded, with its renewal (SPEC §15).
var PermissionReminders = []time.Duration{14 * 24 * time.Hour, 2 * 24 * time.Hour}

// PermissionPassResult counts what a pass did.
type PermissionPassResult struct {
	Reminded int
	Lapsed   int
}

// EndPermissions is the permissions' part of a review pass: each permission
// whose end came is withdrawn (R1: its partner's open assignments there
// end, both sides told), and each one ending within a reminder's distance
// is reminded, once per reminder and end. The store is the truth: a pass
// after a restart does what the last left undone.
func (a *Activities) EndPermissions(ctx context.Context, at time.Time) (PermissionPassResult, error) {
	var res PermissionPassResult
	ending, err := a.Store.PermissionsEndingBy(ctx, at.Add(PermissionReminders[0]))
	if err != nil {
		return res, err
	}
	for _, p := range ending {
		c, err := a.Store.CustomerByID(ctx, p.CustomerID)
		if err != nil {
			return res, err
		}
		partner, err := a.Store.PartnerByID(ctx, p.PartnerID)
		if err != nil {
			return res, err
		}
		d := mail.Data{PartnerName: partner.Name, CustomerName: c.Name, OrganizationName: c.Name,
			LinkURL: strings.TrimRight(a.Config.PublicURL, "/") + "/sites", LinkExpiresAt: *p.GrantedUntil}
		customerAdmins, err := a.Store.CustomerUsers(ctx, c.ID)
		if err != nil {
			return res, err
		}
		key := fmt.Sprintf("permission/%s/%s/%d", c.ID, p.PartnerID, p.GrantedUntil.Unix())
		if !at.Before(*p.GrantedUntil) {
			if a.Reviews == nil {
				return res, fmt.Errorf("the worker has no review removals: permission of %s not ended", c.ID)
			}
			if err := a.Reviews.LapsePermission(ctx, p); err != nil {
				return res, err
			}
			partnerUsers, err := a.Store.PartnerUsers(ctx, p.PartnerID)
			if err != nil {
				return res, err
			}
			for _, u := range append(admins(customerAdmins, store.RoleCustomerAdmin), admins(partnerUsers, store.RolePartnerAdmin)...) {
				if err := a.SendOrgEmail(ctx, domain.EmailPermissionLapsed, u, d, key+"/lapsed/"+u.ID); err != nil {
					return res, err
				}
			}
			res.Lapsed++
			continue
		}
		round := 0
		for i, before := range PermissionReminders {
			if !at.Before(p.GrantedUntil.Add(-before)) {
				round = i + 1
			}
		}
		for _, u := range admins(customerAdmins, store.RoleCustomerAdmin) {
			if err := a.SendOrgEmail(ctx, domain.EmailPermissionEnding, u, d, fmt.Sprintf("%s/ending/%d/%s", key, round, u.ID)); err != nil {
				return res, err
			}
		}
		res.Reminded++
	}
	return res, nil
}
