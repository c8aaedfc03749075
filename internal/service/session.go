package service

import (
	"context"
	"errors"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Login checks a password and opens a session; it returns the session
// token and the device cookie to keep. Failed attempts count against the
// client address and against the account: from a device that logged in to
// the account before (device, its device cookie), per device; from any
// other, per account. So a flood of failures from elsewhere slows down
// unknown devices, never the owner on a known one (OWASP's device cookies).
// Successful attempts do not count.
func (s *Service) Login(ctx context.Context, client, device, email, password string) (token string, u store.User, newDevice string, err error) {
	account := AccountKey(email)
	limit, key := s.Limits.loginAccount, account
	if id, ok := s.device(device, account); ok {
		limit, key, newDevice = s.Limits.loginDevice, id, device
	}
	mine, wait, ok := limit.Limiter.Take(key)
	if !ok {
		return "", store.User{}, "", limit.tooMany(wait)
	}
	from, wait, ok := s.Limits.loginClient.Limiter.Take(client)
	if !ok {
		mine.Undo()
		return "", store.User{}, "", s.Limits.loginClient.tooMany(wait)
	}
	token, u, err = s.checkPassword(ctx, email, password)
	if p := problem.As(err); p == nil || p.Kind != problem.KindUnauthorized {
		mine.Undo()
		from.Undo()
	}
	if err == nil && newDevice == "" && s.keys != nil {
		newDevice = s.keys.DeviceCookie(account)
	}
	return token, u, newDevice, err
}

func (s *Service) checkPassword(ctx context.Context, email, password string) (string, store.User, error) {
	bad := problem.Unauthorized("the email or password is not right")
	u, err := s.store.UserByEmail(ctx, email)
	if err == nil {
		// Before the password: one that may not be used is refused the
		// same, right or wrong, and counts as no failure.
		if err := s.passwordsDisabled(ctx, u, "logging in with a password"); err != nil {
			return "", store.User{}, s.refuse(ctx, refusal{Actor: &u, Action: domain.ActionSessionRefused}, err)
		}
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.PasswordHash == "") {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password)) // same time as a real check
		return "", store.User{}, bad
	} else if err != nil {
		return "", store.User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return "", store.User{}, s.refuse(ctx, refusal{Actor: &u, Action: domain.ActionSessionRefused}, bad)
	}
	if u.Status != store.StatusActive {
		return "", store.User{}, problem.Forbidden("R2", "your account is %s", u.Status)
	}
	token := secret.NewToken()
	now := s.now()
	if err := s.store.CreateSession(ctx, store.Session{TokenHash: secret.HashToken(token), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL)}); err != nil {
		return "", store.User{}, err
	}
	return token, u, nil
}

// device is the ID of a device cookie made for account.
func (s *Service) device(cookie, account string) (string, bool) {
	if cookie == "" || s.keys == nil {
		return "", false
	}
	return s.keys.DeviceID(cookie, account)
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("timing equaliser"), bcrypt.DefaultCost)

// SessionUser is the active user of a session token; false for a token
// that is malformed, unknown, expired, or whose user is not active.
func (s *Service) SessionUser(ctx context.Context, token string) (store.User, bool) {
	u, _, ok := s.Session(ctx, token)
	return u, ok
}

// Session is SessionUser with the session: how it was opened.
func (s *Service) Session(ctx context.Context, token string) (store.User, store.Session, bool) {
	if _, err := secret.ParseToken(token); err != nil {
		return store.User{}, store.Session{}, false
	}
	u, sess, err := s.store.SessionOf(ctx, secret.HashToken(token), s.now())
	return u, sess, err == nil && u.Status == store.StatusActive
}

// Logout ends the session of a token.
func (s *Service) Logout(ctx context.Context, token string) {
	s.logAuditFailure(s.store.DeleteSession(ctx, secret.HashToken(token)))
}
