package store

import (
	"context"
	"time"
)

// How a session was opened.
const (
	SessionPassword = "password" // a password held here
	SessionSSO      = "sso"      // the organization's own provider (Session.Issuer)
)

// Session is a login: a cookie for pages and a bearer token for the API.
type Session struct {
	TokenHash []byte    `db:"token_hash"`
	UserID    string    `db:"user_id"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
	Method    string    `db:"method"` // SessionPassword (the default) or SessionSSO
	Issuer    string    `db:"issuer"` // the provider of an SSO session
}

// CreateSession stores a session by its token's hash.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	return wrap(createSession(ctx, s.w, sess), "create session")
}

func createSession(ctx context.Context, c conn, sess Session) error {
	sess.CreatedAt, sess.ExpiresAt = utc(sess.CreatedAt), utc(sess.ExpiresAt)
	if sess.Method == "" {
		sess.Method = SessionPassword
	}
	_, err := c.namedExec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, method, issuer)
		VALUES (:token_hash, :user_id, :created_at, :expires_at, :method, :issuer)`, sess)
	return err
}

// SessionUser returns the user of an unexpired session.
func (s *Store) SessionUser(ctx context.Context, hash []byte, now time.Time) (User, error) {
	u, _, err := s.SessionOf(ctx, hash, now)
	return u, err
}

// SessionOf returns an unexpired session and its user.
func (s *Store) SessionOf(ctx context.Context, hash []byte, now time.Time) (User, Session, error) {
	var sess Session
	if err := s.r.get(ctx, &sess, `SELECT token_hash, user_id, created_at, expires_at, method, issuer
		FROM sessions WHERE token_hash = ? AND expires_at > ?`, hash, utc(now)); err != nil {
		return User{}, Session{}, notFound(err, "session")
	}
	u, err := s.UserByID(ctx, sess.UserID)
	return u, sess, err
}

// DeleteSession logs a session out.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.w.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hash)
	return wrap(err, "delete session")
}
