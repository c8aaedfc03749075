package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Whether an organization with a sign-in provider still lets its users
// log in with a password held here.
const (
	LocalPasswordsAllowed  = "allowed"
	LocalPasswordsDisabled = "disabled"
)

// SSOProvider is an organization's own OpenID Connect provider: its users
// sign in there. The client secret itself is never stored: SecretEnv or
// SecretFile names where the server reads it.
type SSOProvider struct {
	OrgKind        string `db:"org_kind"` // KindPartner or KindCustomer
	OrgID          string `db:"org_id"`
	Issuer         string `db:"issuer"`
	ClientID       string `db:"client_id"`
	SecretEnv      string `db:"secret_env"`
	SecretFile     string `db:"secret_file"`
	LocalPasswords string `db:"local_passwords"`
	// Domains are the email domains (lower case) whose addresses sign in
	// here, known or not; each is one organization's.
	Domains []string `db:"-"`
}

// PasswordsDisabled: the organization's users may not log in, register or
// reset a password with a password held here.
func (p SSOProvider) PasswordsDisabled() bool { return p.LocalPasswords == LocalPasswordsDisabled }

// SSOProviderOf is the sign-in provider of the organization kind/id;
// ErrNotFound when it has none.
func (s *Store) SSOProviderOf(ctx context.Context, kind, orgID string) (SSOProvider, error) {
	var p SSOProvider
	err := s.r.get(ctx, &p, `SELECT org_kind, org_id, issuer, client_id, secret_env, secret_file, local_passwords
		FROM sso_providers WHERE org_kind = ? AND org_id = ?`, kind, orgID)
	if err != nil {
		return p, notFound(err, "sign-in provider")
	}
	err = s.r.sel(ctx, &p.Domains, `SELECT domain FROM sso_domains WHERE org_kind = ? AND org_id = ? ORDER BY domain`, kind, orgID)
	return p, wrap(err, "domains of the sign-in provider of %s", orgID)
}

// SSOProviderByDomain is the sign-in provider that the addresses of an
// email domain sign in with; ErrNotFound when no organization names it.
func (s *Store) SSOProviderByDomain(ctx context.Context, domain string) (SSOProvider, error) {
	var org struct {
		Kind string `db:"org_kind"`
		ID   string `db:"org_id"`
	}
	err := s.r.get(ctx, &org, `SELECT org_kind, org_id FROM sso_domains WHERE domain = ?`, strings.ToLower(domain))
	if err != nil {
		return SSOProvider{}, notFound(err, "sign-in provider")
	}
	return s.SSOProviderOf(ctx, org.Kind, org.ID)
}

// SSODomain is an email domain and the organization whose provider its
// addresses sign in with.
type SSODomain struct {
	Domain  string `db:"domain"`
	OrgKind string `db:"org_kind"`
	OrgID   string `db:"org_id"`
}

// SSODomains lists every organization's sign-in domains.
func (s *Store) SSODomains(ctx context.Context) ([]SSODomain, error) {
	var ds []SSODomain
	err := s.r.sel(ctx, &ds, `SELECT domain, org_kind, org_id FROM sso_domains ORDER BY domain`)
	return ds, wrap(err, "sign-in domains")
}

// UserSSOProvider is the sign-in provider of the user's organization;
// ErrNotFound when it has none.
func (s *Store) UserSSOProvider(ctx context.Context, u User) (SSOProvider, error) {
	if u.Kind == KindPartner {
		return s.SSOProviderOf(ctx, KindPartner, u.PartnerID)
	}
	return s.SSOProviderOf(ctx, KindCustomer, u.CustomerID)
}

// SetSSOProvider sets the organization's sign-in provider with its
// domains (a domain of another organization is refused); nil removes it.
// Users keep the subject bound to them: it is checked only against the
// issuer it came from.
func (s *Store) SetSSOProvider(ctx context.Context, kind, orgID string, p *SSOProvider) error {
	return wrap(s.inTx(ctx, func(tx conn) error {
		if _, err := tx.exec(ctx, `DELETE FROM sso_domains WHERE org_kind = ? AND org_id = ?`, kind, orgID); err != nil {
			return err
		}
		if p == nil {
			_, err := tx.exec(ctx, `DELETE FROM sso_providers WHERE org_kind = ? AND org_id = ?`, kind, orgID)
			return err
		}
		q := *p
		q.OrgKind, q.OrgID = kind, orgID
		if q.LocalPasswords == "" {
			q.LocalPasswords = LocalPasswordsAllowed
		}
		if _, err := tx.namedExec(ctx, `INSERT INTO sso_providers (org_kind, org_id, issuer, client_id, secret_env, secret_file, local_passwords)
			VALUES (:org_kind, :org_id, :issuer, :client_id, :secret_env, :secret_file, :local_passwords)
			ON CONFLICT (org_kind, org_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,
				secret_env = excluded.secret_env, secret_file = excluded.secret_file, local_passwords = excluded.local_passwords`, q); err != nil {
			return err
		}
		for _, d := range q.Domains {
			if _, err := tx.exec(ctx, `INSERT INTO sso_domains (domain, org_kind, org_id) VALUES (?, ?, ?)`,
				strings.ToLower(d), kind, orgID); err != nil {
				return err
			}
		}
		return nil
	}), "set sign-in provider of %s", orgID)
}

// ReleaseSSODomains takes domains from whichever organization has them, so
// that another may take them.
func (s *Store) ReleaseSSODomains(ctx context.Context, domains []string) error {
	for _, d := range domains {
		if _, err := s.w.exec(ctx, `DELETE FROM sso_domains WHERE domain = ?`, strings.ToLower(d)); err != nil {
			return wrap(err, "release sign-in domain %s", d)
		}
	}
	return nil
}

// SSOPending is a sign-in under way: between the redirect to the provider
// and its answer. Only hashes of the state, the browser's cookie and the
// nonce are kept, and the PKCE verifier sealed.
type SSOPending struct {
	StateHash   []byte    `db:"state_hash"`
	BrowserHash []byte    `db:"browser_hash"`
	OrgKind     string    `db:"org_kind"`
	OrgID       string    `db:"org_id"`
	Issuer      string    `db:"issuer"`
	NonceHash   []byte    `db:"nonce_hash"`
	Verifier    []byte    `db:"verifier"`
	NextPath    string    `db:"next_path"`
	ExpiresAt   time.Time `db:"expires_at"`
}

// BeginSSO records a sign-in under way, and forgets those expired at now.
func (s *Store) BeginSSO(ctx context.Context, p SSOPending, now time.Time) error {
	p.ExpiresAt = utc(p.ExpiresAt)
	return wrap(s.inTx(ctx, func(tx conn) error {
		if _, err := tx.exec(ctx, `DELETE FROM sso_pending WHERE expires_at <= ?`, utc(now)); err != nil {
			return err
		}
		_, err := tx.namedExec(ctx, `INSERT INTO sso_pending (state_hash, browser_hash, org_kind, org_id, issuer, nonce_hash, verifier, next_path, expires_at)
			VALUES (:state_hash, :browser_hash, :org_kind, :org_id, :issuer, :nonce_hash, :verifier, :next_path, :expires_at)`, p)
		return err
	}), "begin sign-in")
}

// TakeSSO returns the sign-in under way of a state and forgets it, so an
// answer works once. ErrNotFound when there is none (forged, already used
// or forgotten); an expired one is forgotten and not returned.
func (s *Store) TakeSSO(ctx context.Context, stateHash []byte, now time.Time) (SSOPending, error) {
	var p SSOPending
	err := s.inTx(ctx, func(tx conn) error {
		if err := tx.get(ctx, &p, `SELECT state_hash, browser_hash, org_kind, org_id, issuer, nonce_hash, verifier, next_path, expires_at
			FROM sso_pending WHERE state_hash = ?`, stateHash); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `DELETE FROM sso_pending WHERE state_hash = ?`, stateHash)
		if err != nil {
			return err
		}
		if noRow(res) { // taken by a concurrent answer
			return sql.ErrNoRows
		}
		if !p.ExpiresAt.After(now) {
			return sql.ErrNoRows
		}
		return nil
	})
	if err != nil {
		return SSOPending{}, notFound(err, "sign-in under way")
	}
	return p, nil
}

// ErrSubjectMismatch: the user is bound to another subject of the same
// provider, or the subject to another user.
var ErrSubjectMismatch = errors.New("another identity of the provider is bound to this user")

// SignInSSO completes a sign-in by the provider issuer's subject: it binds
// the subject to the user at the first sign-in with that issuer (bound
// reports it), refuses another subject later (ErrSubjectMismatch), makes an
// invited user active (R2: its open invitations end), and opens the
// session. A user that is suspended, or not invited nor active, is not
// changed (ErrUserState).
func (s *Store) SignInSSO(ctx context.Context, userID, issuer, subject string, sess Session, at time.Time) (u User, bound bool, err error) {
	err = s.inTx(ctx, func(tx conn) error {
		var cur struct {
			Status  string `db:"status"`
			Issuer  string `db:"sso_issuer"`
			Subject string `db:"sso_subject"`
		}
		if err := tx.get(ctx, &cur, `SELECT status, sso_issuer, sso_subject FROM users WHERE id = ?`, userID); err != nil {
			return err
		}
		switch {
		case cur.Status != StatusActive && cur.Status != StatusInvited:
			return ErrUserState
		case cur.Issuer == issuer && cur.Subject != "" && cur.Subject != subject:
			return ErrSubjectMismatch
		case cur.Issuer != issuer || cur.Subject == "":
			var other int
			if err := tx.get(ctx, &other, `SELECT COUNT(*) FROM users WHERE sso_issuer = ? AND sso_subject = ? AND id <> ?`,
				issuer, subject, userID); err != nil {
				return err
			}
			if other > 0 {
				return ErrSubjectMismatch
			}
			if _, err := tx.exec(ctx, `UPDATE users SET sso_issuer = ?, sso_subject = ? WHERE id = ?`, issuer, subject, userID); err != nil {
				return err
			}
			bound = true
		}
		if cur.Status == StatusInvited {
			if _, err := tx.exec(ctx, `UPDATE users SET status = 'active', registered_at = ?, status_changed_at = ?
				WHERE id = ? AND status = 'invited'`, utc(at), utc(at), userID); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `UPDATE user_tokens SET voided_at = ? WHERE user_id = ? AND purpose = ?
				AND used_at IS NULL AND voided_at IS NULL`, utc(at), userID, PurposeInvitation); err != nil {
				return err
			}
		}
		sess.UserID, sess.Method, sess.Issuer = userID, SessionSSO, issuer
		return createSession(ctx, tx, sess)
	})
	if err != nil {
		return User{}, false, wrap(err, "sign in %s", userID)
	}
	u, err = s.UserByID(ctx, userID)
	return u, bound, err
}
