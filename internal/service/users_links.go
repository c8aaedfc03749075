package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// userLink resolves a one-time link of purpose to its token and user. It
// changes nothing; a wrong link is not found, a used, replaced or expired
// one gone, each with what to do.
func (s *Service) userLink(ctx context.Context, raw, purpose string) (store.UserToken, store.User, error) {
	what, again := "invitation link", "ask your administrator to send a new invitation"
	if purpose == store.PurposePasswordReset {
		what, again = "password-reset link", `ask for a new one with "Forgot your password?" on the login page`
	}
	invalid := problem.NotFound("token", "this %s is not valid; check that it was copied whole", what)
	tok, err := secret.ParseToken(raw)
	if err != nil {
		return store.UserToken{}, store.User{}, invalid
	}
	t, err := s.store.UserTokenByHash(ctx, secret.HashToken(tok))
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Purpose != purpose) {
		return t, store.User{}, invalid
	} else if err != nil {
		return t, store.User{}, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return t, u, err
	}
	gone := func(format string, args ...any) error {
		return &problem.Error{Kind: problem.KindGone, Field: "token", Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case t.UsedAt != nil && purpose == store.PurposeInvitation:
		return t, u, gone("this invitation has already been used: the account is registered; log in, or use \"Forgot your password?\" on the login page")
	case t.UsedAt != nil:
		return t, u, gone("this %s has already been used; %s", what, again)
	case t.VoidedAt != nil && u.Status == store.StatusSuspended:
		return t, u, gone("this %s no longer works: the account is suspended", what)
	case t.VoidedAt != nil && purpose == store.PurposeInvitation && u.Status == store.StatusInvited:
		return t, u, gone("this invitation was replaced or withdrawn; use the link in the latest invitation email, or %s", again)
	case t.VoidedAt != nil:
		return t, u, gone("this %s was replaced by a newer one or no longer applies; %s", what, again)
	case !s.now().Before(t.ExpiresAt):
		return t, u, gone("this %s has expired; %s", what, again)
	case purpose == store.PurposeInvitation && u.Status != store.StatusInvited:
		return t, u, gone("this account is no longer waiting to register (it is %s)", u.Status)
	case purpose == store.PurposePasswordReset && u.Status != store.StatusActive:
		return t, u, gone("this account is %s; its password cannot be reset", u.Status)
	}
	return t, u, nil
}

// passwordFromLink checks a one-time link of purpose and hashes the new
// password it sets, which the policy must accept; a link that does not work
// is audited as refused.
func (s *Service) passwordFromLink(ctx context.Context, raw, pw, purpose string, refused domain.Action) (store.UserToken, store.User, Org, string, error) {
	t, u, err := s.userLink(ctx, raw, purpose)
	if err != nil {
		return t, u, Org{}, "", s.refuseLink(ctx, refused, store.Assignment{}, err)
	}
	o, err := s.orgOf(ctx, u)
	if err != nil {
		return t, u, o, "", err
	}
	what := map[string]string{store.PurposeInvitation: "registering with a password", store.PurposePasswordReset: "resetting a password"}[purpose]
	if err := s.passwordsDisabled(ctx, u, what); err != nil {
		return t, u, o, "", s.refuseLink(ctx, refused, store.Assignment{}, err)
	}
	h, err := s.hashPassword(pw, u, o.Name)
	return t, u, o, h, err
}

// link is a page of this service, for emails.
func (s *Service) link(kind, token string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/" + kind + "/" + token
}

// LinkUser resolves a one-time link of purpose (store.PurposeInvitation or
// store.PurposePasswordReset) to its user and organization, for the page
// that uses it. It changes nothing.
func (s *Service) LinkUser(ctx context.Context, raw, purpose string) (store.User, Org, error) {
	_, u, err := s.userLink(ctx, raw, purpose)
	if err != nil {
		return u, Org{}, err
	}
	o, err := s.orgOf(ctx, u)
	return u, o, err
}
