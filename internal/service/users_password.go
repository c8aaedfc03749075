package service

import (
	"context"
	"errors"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/domain"
	pamail "github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/password"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// hashPassword applies the policy to a new password and hashes it.
func (s *Service) hashPassword(pw string, u store.User, orgName string) (string, error) {
	if err := password.Check(pw, u.Email, u.Name, orgName); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cfg.PasswordCost)
	return string(h), err
}

// sendReset emails a one-time link to an active user with that email. An
// earlier link still works until it is used or expires, so that requests in
// someone else's name never cancel the one the owner is about to use.
func (s *Service) sendReset(ctx context.Context, email string) error {
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != store.StatusActive) {
		s.metrics.Refused("")
		return nil
	} else if err != nil {
		return err
	}
	o, err := s.orgOf(ctx, u)
	if err != nil {
		return err
	}
	if err := s.passwordsDisabled(ctx, u, "resetting a password"); err != nil {
		s.auditUser(ctx, u.ID, o, domain.ActionPasswordResetRefused, u, "the organization signs in through its own provider only (SSO): no link sent")
		return nil
	}
	token, now := secret.NewToken(), s.now()
	hash := secret.HashToken(token)
	if err := s.store.IssueUserToken(ctx, store.UserToken{Hash: hash, UserID: u.ID, Purpose: store.PurposePasswordReset,
		CreatedBy: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.PasswordResetTTL)}); err != nil {
		return err
	}
	err = s.sendUserEmail(ctx, domain.EmailPasswordReset, u, pamail.Data{OrganizationName: o.Name,
		LinkURL: s.link("reset", token), LinkExpiresAt: now.Add(s.cfg.PasswordResetTTL), LinkValidFor: s.cfg.PasswordResetTTL,
	}, userEmailKey(domain.EmailPasswordReset, u.ID, hash))
	var notSent *errMailNotSent
	if errors.As(err, &notSent) {
		s.auditUser(ctx, u.ID, o, domain.ActionPasswordResetMailFailed, u, notSent.Detail)
		return nil
	} else if err != nil {
		return err
	}
	s.auditUser(ctx, u.ID, o, domain.ActionPasswordResetRequested, u, "")
	return nil
}

// ResetPassword sets a new password from a reset link; every session of
// the user ends.
func (s *Service) ResetPassword(ctx context.Context, raw, pw string) (store.User, error) {
	t, u, o, h, err := s.passwordFromLink(ctx, raw, pw, store.PurposePasswordReset, domain.ActionPasswordResetRefused)
	if err != nil {
		return u, err
	}
	reset, err := s.store.ResetPassword(ctx, t.Hash, h, s.now())
	if errors.Is(err, store.ErrTokenUnusable) || errors.Is(err, store.ErrUserState) {
		return u, &problem.Error{Kind: problem.KindGone, Field: "token", Detail: "this password-reset link no longer works; ask for a new one"}
	} else if err != nil {
		return u, err
	}
	s.auditUser(ctx, u.ID, o, domain.ActionPasswordResetCompleted, reset, "every session ended")
	return reset, nil
}
