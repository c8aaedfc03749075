package store

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Purposes of a user's one-time link.
const (
	PurposeInvitation    = "invitation"
	PurposePasswordReset = "password_reset"
)

// UserToken is a one-time link of a user: an invitation to register or a
// password reset. Only the token's hash is kept.
type UserToken struct {
	Hash      []byte     `db:"token_hash"`
	UserID    string     `db:"user_id"`
	Purpose   string     `db:"purpose"`
	CreatedBy string     `db:"created_by"`
	CreatedAt time.Time  `db:"created_at"`
	ExpiresAt time.Time  `db:"expires_at"`
	UsedAt    *time.Time `db:"used_at"`
	VoidedAt  *time.Time `db:"voided_at"`
}

// ErrTokenUnusable is returned when a one-time link was used, voided or has
// expired by the time it is used; read the token again to say which.
var ErrTokenUnusable = errors.New("the link was used, replaced or has expired")

// ErrUserState is returned when a user is not in the status a change needs
// (e.g. registering a user who is no longer invited).
var ErrUserState = errors.New("the user is not in the status this change needs")

const userTokenColumns = `token_hash, user_id, purpose, created_by, created_at, expires_at, used_at, voided_at`

// IssueUserToken stores a new link. A new invitation voids the user's
// earlier unused ones (only the newest works); password-reset links each
// work until one is used or they expire.
func (s *Store) IssueUserToken(ctx context.Context, t UserToken) error {
	t.CreatedAt, t.ExpiresAt = utc(t.CreatedAt), utc(t.ExpiresAt)
	return wrap(s.inTx(ctx, func(tx conn) error {
		if _, err := tx.exec(ctx, `UPDATE user_tokens SET voided_at = ?
			WHERE user_id = ? AND purpose = ? AND purpose = 'invitation' AND used_at IS NULL AND voided_at IS NULL`,
			t.CreatedAt, t.UserID, t.Purpose); err != nil {
			return err
		}
		_, err := tx.namedExec(ctx, `INSERT INTO user_tokens (token_hash, user_id, purpose, created_by, created_at, expires_at)
			VALUES (:token_hash, :user_id, :purpose, :created_by, :created_at, :expires_at)`, t)
		return err
	}), "issue %s link for %s", t.Purpose, t.UserID)
}

// UserTokenByHash looks a link up by its token's hash.
func (s *Store) UserTokenByHash(ctx context.Context, hash []byte) (UserToken, error) {
	var t UserToken
	err := s.r.get(ctx, &t, `SELECT `+userTokenColumns+` FROM user_tokens WHERE token_hash = ?`, hash)
	return t, notFound(err, "user token")
}

// OpenInvitation is the user's invitation that still works at now, if any.
func (s *Store) OpenInvitation(ctx context.Context, userID string, now time.Time) (UserToken, error) {
	var t UserToken
	err := s.r.get(ctx, &t, `SELECT `+userTokenColumns+` FROM user_tokens
		WHERE user_id = ? AND purpose = 'invitation' AND used_at IS NULL AND voided_at IS NULL AND expires_at > ?
		ORDER BY created_at DESC LIMIT 1`, userID, utc(now))
	return t, notFound(err, "invitation")
}

// useToken marks a link used, once: a second use, a voided or an expired
// link changes nothing and returns ErrTokenUnusable.
func useToken(ctx context.Context, tx conn, hash []byte, purpose string, at time.Time) (string, error) {
	res, err := tx.exec(ctx, `UPDATE user_tokens SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND voided_at IS NULL AND expires_at > ?`,
		utc(at), hash, purpose, utc(at))
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", ErrTokenUnusable
	}
	var userID string
	err = tx.get(ctx, &userID, `SELECT user_id FROM user_tokens WHERE token_hash = ?`, hash)
	return userID, err
}

// Register uses an invitation: the invited user gets its password and
// becomes active. The invitation works once; a user who is no longer
// invited (suspended meanwhile) is not changed (ErrUserState).
func (s *Store) Register(ctx context.Context, hash []byte, passwordHash string, at time.Time) (User, error) {
	var userID string
	err := s.inTx(ctx, func(tx conn) error {
		var err error
		if userID, err = useToken(ctx, tx, hash, PurposeInvitation, at); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE users SET status = 'active', registered_at = ?, password_hash = ?,
			status_changed_at = ? WHERE id = ? AND status = 'invited'`, utc(at), passwordHash, utc(at), userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrUserState
		}
		return nil
	})
	if err != nil {
		return User{}, wrap(err, "register")
	}
	return s.UserByID(ctx, userID)
}

// ResetPassword uses a password-reset link: the active user gets a new
// password, and every session and other reset link of theirs ends.
func (s *Store) ResetPassword(ctx context.Context, hash []byte, passwordHash string, at time.Time) (User, error) {
	var userID string
	err := s.inTx(ctx, func(tx conn) error {
		var err error
		if userID, err = useToken(ctx, tx, hash, PurposePasswordReset, at); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND status = 'active'`, passwordHash, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrUserState
		}
		return endSessionsAndLinks(ctx, tx, userID, PurposePasswordReset, at)
	})
	if err != nil {
		return User{}, wrap(err, "reset password")
	}
	return s.UserByID(ctx, userID)
}

// endSessionsAndLinks logs the user out everywhere and voids its unused
// links (of one purpose, or of all when purpose is "").
func endSessionsAndLinks(ctx context.Context, tx conn, userID, purpose string, at time.Time) error {
	if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `UPDATE user_tokens SET voided_at = ?
		WHERE user_id = ? AND (? = '' OR purpose = ?) AND used_at IS NULL AND voided_at IS NULL`,
		utc(at), userID, purpose, purpose)
	return err
}

// SuspendUser suspends a registered user: its sessions end and its links
// stop working. Suspending a suspended user changes nothing (but ends any
// session again); an invited user is not changed (ErrUserState). It
// reports whether this call suspended the user.
func (s *Store) SuspendUser(ctx context.Context, userID string, at time.Time) (bool, error) {
	var changed bool
	err := s.inTx(ctx, func(tx conn) error {
		if err := s.keepAnAdministrator(ctx, tx, userID, nil); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE users SET status = 'suspended', status_changed_at = ?
			WHERE id = ? AND status = 'active'`, utc(at), userID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		changed = n == 1
		var status string
		if err := tx.get(ctx, &status, `SELECT status FROM users WHERE id = ?`, userID); err != nil {
			return notFound(err, "user")
		}
		if status != StatusSuspended {
			return ErrUserState
		}
		return endSessionsAndLinks(ctx, tx, userID, "", at)
	})
	return changed, wrap(err, "suspend user %s", userID)
}

// WithdrawInvitation voids a user's unused invitation links; it reports
// how many it voided.
func (s *Store) WithdrawInvitation(ctx context.Context, userID string, at time.Time) (int, error) {
	res, err := s.w.exec(ctx, `UPDATE user_tokens SET voided_at = ?
		WHERE user_id = ? AND purpose = 'invitation' AND used_at IS NULL AND voided_at IS NULL`, utc(at), userID)
	if err != nil {
		return 0, wrap(err, "withdraw invitation of %s", userID)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ReactivateUser lifts a suspension. It reports whether this call changed
// the user.
func (s *Store) ReactivateUser(ctx context.Context, userID string, at time.Time) (bool, error) {
	res, err := s.w.exec(ctx, `UPDATE users SET status_changed_at = ?, status = 'active'
		WHERE id = ? AND status = 'suspended'`, utc(at), userID)
	if err != nil {
		return false, wrap(err, "reactivate user %s", userID)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetUserRoles replaces a user's roles.
func (s *Store) SetUserRoles(ctx context.Context, userID string, roles []string) error {
	return wrap(s.inTx(ctx, func(tx conn) error {
		if err := s.keepAnAdministrator(ctx, tx, userID, roles); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM user_roles WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, r := range roles {
			if _, err := tx.exec(ctx, `INSERT INTO user_roles (user_id, role) VALUES (?, ?)`, userID, r); err != nil {
				return err
			}
		}
		return nil
	}), "set roles of user %s", userID)
}

// OpenInvitations are the working invitations of an organization's users
// (kind KindPartner or KindCustomer), the newest of each by user ID: the
// Users page reads them in one query, not one per user.
func (s *Store) OpenInvitations(ctx context.Context, kind, orgID string, now time.Time) (map[string]UserToken, error) {
	column := "customer_id"
	if kind == KindPartner {
		column = "partner_id"
	}
	var ts []UserToken
	err := s.r.sel(ctx, &ts, `SELECT `+userTokenColumns+` FROM user_tokens
		WHERE user_id IN (SELECT id FROM users WHERE `+column+` = ?)
		AND purpose = 'invitation' AND used_at IS NULL AND voided_at IS NULL AND expires_at > ?
		ORDER BY created_at`, orgID, utc(now))
	if err != nil {
		return nil, wrap(err, "invitations of %s %s", kind, orgID)
	}
	out := make(map[string]UserToken, len(ts))
	for _, t := range ts {
		out[t.UserID] = t
	}
	return out, nil
}

// ErrLastAdministrator: the change would leave the user's organization
// without an active administrator.
var ErrLastAdministrator = errors.New("the organization would have no active administrator left")

// keepAnAdministrator refuses, inside the transaction of a suspension
// (roles nil) or of new roles, a change that would leave the user's
// organization without an active administrator. On PostgreSQL it first
// locks the organization's active users, so two administrators suspending
// or demoting each other at once are taken one after the other and the
// second sees the first's change; SQLite has one writer and takes them in
// turn anyway.
func (s *Store) keepAnAdministrator(ctx context.Context, tx conn, userID string, roles []string) error {
	var u User
	if err := tx.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID); err != nil {
		return notFound(err, "user")
	}
	if err := tx.sel(ctx, &u.Roles, `SELECT role FROM user_roles WHERE user_id = ?`, userID); err != nil {
		return err
	}
	admin := RolePartnerAdmin
	column, org := "partner_id", u.PartnerID
	if u.Kind == KindCustomer {
		admin, column, org = RoleCustomerAdmin, "customer_id", u.CustomerID
	}
	if u.Status != StatusActive || !u.HasRole(admin) || (roles != nil && slices.Contains(roles, admin)) {
		return nil // not an active administrator, or stays one
	}
	if s.dialect == Postgres {
		var locked []string
		if err := tx.sel(ctx, &locked, `SELECT id FROM users WHERE `+column+` = ? AND status = 'active' ORDER BY id FOR UPDATE`, org); err != nil {
			return err
		}
	}
	var others int
	if err := tx.get(ctx, &others, `SELECT COUNT(*) FROM users u JOIN user_roles r ON r.user_id = u.id
		WHERE u.`+column+` = ? AND u.status = 'active' AND u.id <> ? AND r.role = ?`, org, userID, admin); err != nil {
		return err
	}
	if others == 0 {
		return ErrLastAdministrator
	}
	return nil
}
