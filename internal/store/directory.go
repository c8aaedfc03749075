package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// User kinds and statuses, as stored.
const (
	KindPartner  = "partner"
	KindCustomer = "customer"

	StatusInvited   = "invited"
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// Roles a user can hold.
const (
	RolePartnerSupportAgent = "Partner Support Agent"
	RolePartnerConsultant   = "Partner Consultant"
	RolePartnerAdmin        = "Partner Administrator"
	RoleCustomerAdmin       = "Customer Administrator"
	RoleCustomerOps         = "Customer Operations Agent"
)

// Partner is a business partner (a reseller).
type Partner struct {
	ID   string `db:"id"`
	Name string `db:"name"`
}

// Customer is a customer under a partner's account.
type Customer struct {
	ID        string `db:"id"`
	Name      string `db:"name"`
	PartnerID string `db:"partner_id"`
	// Policy is the customer's policy as written (R10; "": none).
	Policy string `db:"policy"`
}

// User is a partner user or a customer user.
type User struct {
	ID           string     `db:"id"`
	Email        string     `db:"email"`
	Name         string     `db:"name"`
	Kind         string     `db:"kind"`
	PartnerID    string     `db:"partner_id"`
	CustomerID   string     `db:"customer_id"`
	Status       string     `db:"status"`
	RegisteredAt *time.Time `db:"registered_at"`
	PasswordHash string     `db:"password_hash"`
	// InvitedBy is the administrator who invited the user: "operator" for
	// the first administrators of directory apply, "" for the demo data.
	InvitedBy       string     `db:"invited_by"`
	StatusChangedAt *time.Time `db:"status_changed_at"`
	Roles           []string   `db:"-"`
}

// HasRole reports whether the user holds role.
func (u User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// IsApprover reports whether a customer user may decide on assignments (R4).
func (u User) IsApprover() bool {
	return u.Kind == KindCustomer && u.Status == StatusActive &&
		(u.HasRole(RoleCustomerAdmin) || u.HasRole(RoleCustomerOps))
}

// Site is a customer's Sage 200 site.
type Site struct {
	ID           string `db:"id"`
	Name         string `db:"name"`
	CustomerID   string `db:"customer_id"`
	CustomerName string `db:"customer_name"`
	PartnerID    string `db:"partner_id"`
	Edition      string `db:"edition"`
	// AccessGroup is the site's group in its customer's directory ("" for
	// the gateway alone).
	AccessGroup string `db:"access_group"`
	// Permitted is whether the customer has given its partner permission (R1).
	Permitted bool `db:"permitted"`
	// OpenAssignments counts assignments not yet ended.
	OpenAssignments int `db:"open_assignments"`
	// Policy is the site's own policy as written, over its customer's
	// (R10; "": none); CustomerPolicy is the customer's.
	Policy         string `db:"policy"`
	CustomerPolicy string `db:"customer_policy"`
}

// CreatePartner adds a partner.
func (s *Store) CreatePartner(ctx context.Context, p Partner) error {
	_, err := s.w.namedExec(ctx, `INSERT INTO partners (id, name) VALUES (:id, :name)`, p)
	return wrap(err, "create partner %s", p.ID)
}

// CreateCustomer adds a customer under a partner's account.
func (s *Store) CreateCustomer(ctx context.Context, c Customer) error {
	_, err := s.w.namedExec(ctx,
		`INSERT INTO customers (id, name, partner_id) VALUES (:id, :name, :partner_id)`, c)
	return wrap(err, "create customer %s", c.ID)
}

// CreateUser adds a user with its roles.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	u.Email = strings.TrimSpace(u.Email)
	u.RegisteredAt = utcPtr(u.RegisteredAt)
	return wrap(s.inTx(ctx, func(tx conn) error {
		if _, err := tx.namedExec(ctx, `INSERT INTO users
			(id, email, name, kind, partner_id, customer_id, status, registered_at, password_hash, invited_by)
			VALUES (:id, :email, :name, :kind, NULLIF(:partner_id, ''), NULLIF(:customer_id, ''),
			        :status, :registered_at, :password_hash, :invited_by)`, u); err != nil {
			return err
		}
		for _, r := range u.Roles {
			if _, err := tx.exec(ctx, `INSERT INTO user_roles (user_id, role) VALUES (?, ?)`, u.ID, r); err != nil {
				return err
			}
		}
		return nil
	}), "create user %s", u.ID)
}

// CreateSite adds a site.
func (s *Store) CreateSite(ctx context.Context, site Site) error {
	_, err := s.w.namedExec(ctx,
		`INSERT INTO sites (id, name, customer_id, edition) VALUES (:id, :name, :customer_id, :edition)`, site)
	return wrap(err, "create site %s", site.ID)
}

// SetPartnerPermission records a customer granting (or withdrawing) its
// partner's permission to assign users to its sites (R1).
func (s *Store) SetPartnerPermission(ctx context.Context, customerID, partnerID string, granted bool, by string, at time.Time) error {
	_, err := s.w.exec(ctx, `INSERT INTO partner_permissions (customer_id, partner_id, granted, changed_by, changed_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (customer_id, partner_id) DO UPDATE SET granted = excluded.granted,
			changed_by = excluded.changed_by, changed_at = excluded.changed_at, granted_until = NULL`,
		customerID, partnerID, granted, by, utc(at))
	return wrap(err, "set permission of customer %s for partner %s", customerID, partnerID)
}

// RenamePartner changes a partner's name.
func (s *Store) RenamePartner(ctx context.Context, id, name string) error {
	return wrap(oneRow(s.w.exec(ctx, `UPDATE partners SET name = ? WHERE id = ?`, name, id)), "rename partner %s", id)
}

// RenameCustomer changes a customer's name.
func (s *Store) RenameCustomer(ctx context.Context, id, name string) error {
	return wrap(oneRow(s.w.exec(ctx, `UPDATE customers SET name = ? WHERE id = ?`, name, id)), "rename customer %s", id)
}

// RenameSite changes a site's name.
func (s *Store) RenameSite(ctx context.Context, id, name string) error {
	return wrap(oneRow(s.w.exec(ctx, `UPDATE sites SET name = ? WHERE id = ?`, name, id)), "rename site %s", id)
}

// oneRow is ErrNotFound when an update by ID found no row.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// PartnerPermitted reports whether the customer has given the partner
// permission (R1), and it has not reached its end (SPEC §15).
func (s *Store) PartnerPermitted(ctx context.Context, customerID, partnerID string) (bool, error) {
	var granted bool
	err := s.r.get(ctx, &granted, `SELECT EXISTS (SELECT 1 FROM partner_permissions
		WHERE customer_id = ? AND partner_id = ? AND granted = TRUE
		AND (granted_until IS NULL OR granted_until > ?))`, customerID, partnerID, utc(time.Now()))
	return granted, wrap(err, "permission of customer %s", customerID)
}

const userColumns = `id, email, name, kind, COALESCE(partner_id, '') AS partner_id,
	COALESCE(customer_id, '') AS customer_id, status, registered_at, password_hash, invited_by, status_changed_at`

// UserByID returns a user with its roles.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	return s.user(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
}

// UserByEmail returns a user with its roles; the email is matched without case.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.user(ctx, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower(?)`, strings.TrimSpace(email))
}

func (s *Store) user(ctx context.Context, query string, arg string) (User, error) {
	var u User
	if err := s.r.get(ctx, &u, query, arg); err != nil {
		return User{}, notFound(err, "user")
	}
	if err := s.r.sel(ctx, &u.Roles, `SELECT role FROM user_roles WHERE user_id = ? ORDER BY role`, u.ID); err != nil {
		return User{}, fmt.Errorf("roles of user %s: %w", u.ID, err)
	}
	return u, nil
}

// PartnerUsers lists a partner's users with their roles, by name.
func (s *Store) PartnerUsers(ctx context.Context, partnerID string) ([]User, error) {
	return s.users(ctx, `SELECT `+userColumns+` FROM users WHERE partner_id = ? ORDER BY name`, partnerID)
}

// CustomerUsers lists a customer's users with their roles, by name.
func (s *Store) CustomerUsers(ctx context.Context, customerID string) ([]User, error) {
	return s.users(ctx, `SELECT `+userColumns+` FROM users WHERE customer_id = ? ORDER BY name`, customerID)
}

func (s *Store) users(ctx context.Context, query, arg string) ([]User, error) {
	var us []User
	if err := s.r.sel(ctx, &us, query, arg); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	var roles []struct {
		UserID string `db:"user_id"`
		Role   string `db:"role"`
	}
	if err := s.r.sel(ctx, &roles, `SELECT user_id, role FROM user_roles
		WHERE user_id IN (SELECT id FROM (`+query+`) AS listed) ORDER BY role`, arg); err != nil {
		return nil, fmt.Errorf("list user roles: %w", err)
	}
	byID := make(map[string]*User, len(us))
	for i := range us {
		byID[us[i].ID] = &us[i]
	}
	for _, r := range roles {
		if u := byID[r.UserID]; u != nil {
			u.Roles = append(u.Roles, r.Role)
		}
	}
	return us, nil
}

// Approvers lists the customer users who may decide on assignments to the
// customer's sites (R4): active, with an approver role.
func (s *Store) Approvers(ctx context.Context, customerID string) ([]User, error) {
	us, err := s.CustomerUsers(ctx, customerID)
	if err != nil {
		return nil, err
	}
	approvers := us[:0]
	for _, u := range us {
		if u.IsApprover() {
			approvers = append(approvers, u)
		}
	}
	return approvers, nil
}

// PartnerByID returns a partner.
func (s *Store) PartnerByID(ctx context.Context, id string) (Partner, error) {
	var p Partner
	err := s.r.get(ctx, &p, `SELECT id, name FROM partners WHERE id = ?`, id)
	return p, notFound(err, "partner")
}

// CustomerByID returns a customer.
func (s *Store) CustomerByID(ctx context.Context, id string) (Customer, error) {
	var c Customer
	err := s.r.get(ctx, &c, `SELECT id, name, partner_id, policy FROM customers WHERE id = ?`, id)
	return c, notFound(err, "customer")
}

var siteColumns = `s.id, s.name, s.customer_id, c.name AS customer_name, c.partner_id, s.edition, s.access_group,
	s.policy, c.policy AS customer_policy,
	EXISTS (SELECT 1 FROM partner_permissions p WHERE p.customer_id = c.id
		AND p.partner_id = c.partner_id AND p.granted = TRUE) AS permitted,
	(SELECT COUNT(*) FROM assignments a WHERE a.site_id = s.id
		AND a.state IN ` + openStates + `) AS open_assignments
	FROM sites s JOIN customers c ON c.id = s.customer_id`

// SiteByID returns a site with its customer and permission state.
func (s *Store) SiteByID(ctx context.Context, id string) (Site, error) {
	var site Site
	err := s.r.get(ctx, &site, `SELECT `+siteColumns+` WHERE s.id = ?`, id)
	return site, notFound(err, "site")
}

// SitesForPartner lists the sites of every customer under the partner's account.
func (s *Store) SitesForPartner(ctx context.Context, partnerID string) ([]Site, error) {
	var sites []Site
	err := s.r.sel(ctx, &sites, `SELECT `+siteColumns+` WHERE c.partner_id = ? ORDER BY c.name, s.name`, partnerID)
	return sites, wrap(err, "sites of partner %s", partnerID)
}

// SitesForCustomer lists a customer's sites.
func (s *Store) SitesForCustomer(ctx context.Context, customerID string) ([]Site, error) {
	var sites []Site
	err := s.r.sel(ctx, &sites, `SELECT `+siteColumns+` WHERE c.id = ? ORDER BY s.name`, customerID)
	return sites, wrap(err, "sites of customer %s", customerID)
}

// AssignFacts is what the rules of an assign request read from the store,
// in four reads: the site with its partner's name, the permission and the
// policies (not
// its count of open assignments, which grows with them), the user to
// assign, and that user's open assignment to the site (R8).
type AssignFacts struct {
	Site        Site
	PartnerName string
	// User is the user to assign; UserFound is false when there is none.
	User      User
	UserFound bool
	// UserCustomerPartner is the partner of a customer user's customer.
	UserCustomerPartner string
	Open                *Assignment
}

// AssignFacts reads the facts of an assign request; ErrNotFound when the
// site does not exist.
func (s *Store) AssignFacts(ctx context.Context, siteID, userID string) (AssignFacts, error) {
	var f AssignFacts
	var site struct {
		Site
		PartnerName string `db:"partner_name"`
	}
	err := s.r.get(ctx, &site, `SELECT s.id, s.name, s.customer_id, c.name AS customer_name, c.partner_id, s.edition,
		s.policy, c.policy AS customer_policy,
		EXISTS (SELECT 1 FROM partner_permissions p WHERE p.customer_id = c.id
			AND p.partner_id = c.partner_id AND p.granted = TRUE) AS permitted,
		pa.name AS partner_name
		FROM sites s JOIN customers c ON c.id = s.customer_id JOIN partners pa ON pa.id = c.partner_id
		WHERE s.id = ?`, siteID)
	if err != nil {
		return f, notFound(err, "site")
	}
	f.Site, f.PartnerName = site.Site, site.PartnerName
	if userID == "" {
		return f, nil
	}
	var u struct {
		User
		CustomerPartner string `db:"customer_partner"`
	}
	err = s.r.get(ctx, &u, `SELECT `+userColumns+`,
		COALESCE((SELECT c.partner_id FROM customers c WHERE c.id = users.customer_id), '') AS customer_partner
		FROM users WHERE id = ?`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return f, nil
	} else if err != nil {
		return f, fmt.Errorf("user %s: %w", userID, err)
	}
	f.User, f.UserFound, f.UserCustomerPartner = u.User, true, u.CustomerPartner
	if err := s.r.sel(ctx, &f.User.Roles, `SELECT role FROM user_roles WHERE user_id = ? ORDER BY role`, userID); err != nil {
		return f, fmt.Errorf("roles of user %s: %w", userID, err)
	}
	open, err := s.OpenAssignment(ctx, siteID, userID)
	if err == nil {
		f.Open = &open
	} else if !errors.Is(err, ErrNotFound) {
		return f, err
	}
	return f, nil
}
