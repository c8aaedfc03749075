package store

import (
	"context"
	"time"
)

// Session is a login: a cookie for pages and a bearer token for the API.
type Session struct {
	TokenHash []byte    `db:"token_hash"`
	UserID    string    `db:"user_id"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// CreateSession stores a session by its token's hash.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	sess.CreatedAt, sess.ExpiresAt = utc(sess.CreatedAt), utc(sess.ExpiresAt)
	_, err := s.w.namedExec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
		VALUES (:token_hash, :user_id, :created_at, :expires_at)`, sess)
	return wrap(err, "create session")
}

// SessionUser returns the user of an unexpired session.
func (s *Store) SessionUser(ctx context.Context, hash []byte, now time.Time) (User, error) {
	var userID string
	if err := s.r.get(ctx, &userID, `SELECT user_id FROM sessions WHERE token_hash = ? AND expires_at > ?`,
		hash, utc(now)); err != nil {
		return User{}, notFound(err, "session")
	}
	return s.UserByID(ctx, userID)
}

// DeleteSession logs a session out.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.w.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hash)
	return wrap(err, "delete session")
}
