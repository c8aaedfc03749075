package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/emailaddr"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/sso"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Sign-in through the organization's own identity provider: the login
// page asks for the email first (SSOStart); a user whose organization has a
// provider is sent there, and its answer (SSOFinish) opens a session for a
// user of that organization that the provider vouches for. No user is made
// by signing in: administrators invite (R2).

// SSOWait is how long a sign-in may stay at the provider.
const SSOWait = 10 * time.Minute

// SSOStep is where the email of the login page leads.
type SSOStep struct {
	// Redirect is the provider's sign-in page; empty: the person logs in
	// with a password here.
	Redirect string
	// Browser is the value of the cookie that binds the sign-in to this
	// browser, to set along with the redirect.
	Browser string
	// OrgName is the organization whose provider it is.
	OrgName string
}

// SSOStart finds how the person with email signs in. An address of a
// domain that an organization names for its provider is sent there: a
// sign-in under way is recorded (for SSOWait) and the redirect to it
// returned. Any other address gets the password step. The answer depends on
// the domain alone, never on whether an account has the address, so it
// tells no more than the login page would; the provider's answer is
// checked against the accounts (SSOFinish). next is where the person goes
// once signed in (already made safe).
func (s *Service) SSOStart(ctx context.Context, email, next string) (SSOStep, error) {
	addr, err := emailaddr.Check(email)
	if err != nil {
		return SSOStep{}, problem.Invalid("email", "%v", err)
	}
	p, err := s.store.SSOProviderByDomain(ctx, emailDomain(addr))
	if errors.Is(err, store.ErrNotFound) || s.SSO == nil {
		return SSOStep{}, nil
	} else if err != nil {
		return SSOStep{}, err
	}
	req, err := s.SSO.Begin(ctx, p, addr)
	if err != nil {
		s.log.Warn("sign-in provider unreachable", "issuer", p.Issuer, "error", err)
		return SSOStep{}, problem.Unavailable("your organization's sign-in provider cannot be reached just now; try again in a moment, or tell your administrator if it persists")
	}
	browser, now := secret.NewToken(), s.now()
	stateHash := secret.HashToken(req.State)
	err = s.store.BeginSSO(ctx, store.SSOPending{StateHash: stateHash, BrowserHash: secret.HashToken(browser),
		OrgKind: p.OrgKind, OrgID: p.OrgID, Issuer: p.Issuer, NonceHash: sso.HashNonce(req.Nonce),
		Verifier: s.keys.Seal([]byte(req.Verifier), verifierOwner(stateHash)), NextPath: next, ExpiresAt: now.Add(SSOWait)}, now)
	if err != nil {
		return SSOStep{}, err
	}
	o, err := s.orgByKind(ctx, p.OrgKind, p.OrgID)
	if err != nil {
		return SSOStep{}, err
	}
	return SSOStep{Redirect: req.URL, Browser: browser, OrgName: o.Name}, nil
}

// emailDomain is the domain of an address, in lower case, as sso.domains
// name it.
func emailDomain(addr string) string { return strings.ToLower(addr[strings.LastIndex(addr, "@")+1:]) }

func verifierOwner(stateHash []byte) string { return fmt.Sprintf("sso-verifier:%x", stateHash) }

// SSOAnswer is the provider's answer, as the browser brings it back.
type SSOAnswer struct {
	State, Code      string
	Error, ErrorText string // the provider's refusal (error, error_description)
	Browser          string // the cookie set with the redirect
	Client           string // the client address, for the rate limit
}

// SSOSignIn is a completed sign-in.
type SSOSignIn struct {
	Token string // the session's token
	User  store.User
	Next  string // where to go now
}

// SSOFinish turns the provider's answer into a session. Every refusal
// opens nothing, is audited, and counts against the client address like a
// failed login; its *problem.Error says what to do.
func (s *Service) SSOFinish(ctx context.Context, a SSOAnswer) (SSOSignIn, error) {
	from, wait, ok := s.Limits.loginClient.Limiter.Take(a.Client)
	if !ok {
		return SSOSignIn{}, s.Limits.loginClient.tooMany(wait)
	}
	in, err := s.ssoFinish(ctx, a)
	if err == nil {
		from.Undo()
	}
	return in, err
}

func (s *Service) ssoFinish(ctx context.Context, a SSOAnswer) (SSOSignIn, error) {
	const startAgain = " Start again from the login page."
	now := s.now()
	pending, err := s.store.TakeSSO(ctx, secret.HashToken(a.State), now)
	if errors.Is(err, store.ErrNotFound) {
		return SSOSignIn{}, s.ssoRefused(ctx, nil, "state", problem.KindInvalid,
			"this sign-in is not one this browser started, was already used, or took longer than %s."+startAgain, SSOWait)
	} else if err != nil {
		return SSOSignIn{}, err
	}
	if subtle.ConstantTimeCompare(secret.HashToken(a.Browser), pending.BrowserHash) != 1 {
		return SSOSignIn{}, s.ssoRefused(ctx, nil, "browser", problem.KindInvalid,
			"this sign-in was started in another browser, or this browser's cookies are off."+startAgain)
	}
	if a.Error != "" {
		return SSOSignIn{}, s.ssoRefused(ctx, nil, "provider", problem.KindForbidden,
			"your organization's sign-in provider did not sign you in (%s%s)."+startAgain, a.Error, prefixed(": ", a.ErrorText))
	}
	p, err := s.store.SSOProviderOf(ctx, pending.OrgKind, pending.OrgID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.Issuer != pending.Issuer) {
		return SSOSignIn{}, s.ssoRefused(ctx, nil, "provider_changed", problem.KindConflict,
			"your organization changed how it signs in while you were at its provider."+startAgain)
	} else if err != nil {
		return SSOSignIn{}, err
	}
	verifier, err := s.keys.Open(pending.Verifier, verifierOwner(pending.StateHash))
	if err != nil {
		return SSOSignIn{}, fmt.Errorf("sign-in: open the PKCE verifier: %w", err)
	}
	id, err := s.SSO.Finish(ctx, p, a.Code, string(verifier), pending.NonceHash)
	var ref *sso.Refusal
	if errors.As(err, &ref) {
		return SSOSignIn{}, s.ssoRefused(ctx, nil, ref.Reason, problem.KindForbidden, "%s. Nobody was signed in."+startAgain, ref.Error())
	} else if err != nil {
		s.log.Warn("sign-in provider failed", "issuer", p.Issuer, "error", err)
		return SSOSignIn{}, problem.Unavailable("your organization's sign-in provider did not answer; nothing was changed. Start again from the login page in a moment.")
	}
	u, err := s.store.UserByEmail(ctx, id.Email)
	if errors.Is(err, store.ErrNotFound) {
		return SSOSignIn{}, s.ssoRefused(ctx, nil, "unknown_email", problem.KindForbidden,
			"%s has no account here. Ask an administrator of your organization to invite you (R2); signing in makes no account.", id.Email)
	} else if err != nil {
		return SSOSignIn{}, err
	}
	o, err := s.orgOf(ctx, u)
	if err != nil {
		return SSOSignIn{}, err
	}
	if o.Kind != p.OrgKind || o.ID != p.OrgID {
		return SSOSignIn{}, s.ssoRefused(ctx, &u, "organization", problem.KindForbidden,
			"%s belongs to %s, whose users sign in through their own provider, not this one."+startAgain, id.Email, o.Name)
	}
	token := secret.NewToken()
	user, bound, err := s.store.SignInSSO(ctx, u.ID, id.Issuer, id.Subject,
		store.Session{TokenHash: secret.HashToken(token), CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}, now)
	switch {
	case errors.Is(err, store.ErrUserState):
		return SSOSignIn{}, s.ssoRefused(ctx, &u, "status", problem.KindForbidden,
			"your account is %s (R2): an administrator of %s can reactivate it.", u.Status, o.Name)
	case errors.Is(err, store.ErrSubjectMismatch):
		return SSOSignIn{}, s.ssoRefused(ctx, &u, "subject", problem.KindForbidden,
			"%s is bound to another identity at your organization's provider. Ask an administrator of %s to check the account.", id.Email, o.Name)
	case err != nil:
		return SSOSignIn{}, err
	}
	if bound {
		s.auditUser(ctx, user.ID, o, domain.ActionSSOBound, user, "subject of "+id.Issuer)
	}
	if u.Status == store.StatusInvited {
		s.auditUser(ctx, user.ID, o, domain.ActionUserRegistered, user, "first sign-in through "+id.Issuer)
	}
	s.auditUser(ctx, user.ID, o, domain.ActionSSOSignedIn, user, id.Issuer)
	return SSOSignIn{Token: token, User: user, Next: pending.NextPath}, nil
}

// ssoRefused audits a refused sign-in (by the user it names, when known)
// and returns what the person is told.
func (s *Service) ssoRefused(ctx context.Context, u *store.User, reason string, kind problem.Kind, format string, args ...any) error {
	p := problem.New(kind, format, args...)
	s.metrics.Refused("")
	e := store.AuditEntry{At: s.now(), ActorID: "anonymous", Action: domain.ActionSSORefused, Outcome: store.OutcomeRefused,
		Detail: reason + ": " + p.Detail}
	if u != nil {
		e.ActorID, e.PartnerID, e.CustomerID = u.ID, u.PartnerID, u.CustomerID
	}
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), e))
	return p
}

// passwordsDisabled refuses a password held here for a user whose
// organization signs in through its provider only.
func (s *Service) passwordsDisabled(ctx context.Context, u store.User, what string) error {
	p, err := s.store.UserSSOProvider(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if !p.PasswordsDisabled() {
		return nil
	}
	return problem.Unprocessable("R2", "password",
		"%s is not possible here: your organization signs in through its own identity provider (SSO). On the login page, enter your email and continue to it", what)
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// SignInWays says how a user may sign in: through the organization's
// provider (when it names the domain of the user's address, as the login
// page's email step decides), and whether with a password held here.
func (s *Service) SignInWays(ctx context.Context, u store.User) (provider, password bool, err error) {
	p, err := s.store.UserSSOProvider(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return false, true, nil
	} else if err != nil {
		return false, false, err
	}
	return slices.Contains(p.Domains, emailDomain(u.Email)), !p.PasswordsDisabled(), nil
}
