package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/emailaddr"
	pamail "github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/password"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

// The user lifecycle (R2): an administrator of an organization invites its
// users, who register through a one-time link; administrators suspend,
// reactivate and set roles; anyone may reset a forgotten password.

// Org is an organization whose users are managed: a partner or a customer.
type Org struct {
	Kind      string // store.KindPartner or store.KindCustomer
	ID, Name  string
	PartnerID string // the partner of a customer (the audit log's tenant)
}

func (o Org) audit(e store.AuditEntry) store.AuditEntry {
	if o.Kind == store.KindPartner {
		e.PartnerID = o.ID
	} else {
		e.CustomerID, e.PartnerID = o.ID, o.PartnerID
	}
	return e
}

// orgOf is the organization a user belongs to.
func (s *Service) orgOf(ctx context.Context, u store.User) (Org, error) {
	if u.Kind == store.KindPartner {
		return s.orgByKind(ctx, store.KindPartner, u.PartnerID)
	}
	return s.orgByKind(ctx, store.KindCustomer, u.CustomerID)
}

// orgByKind is the partner or customer (kind) id.
func (s *Service) orgByKind(ctx context.Context, kind, id string) (Org, error) {
	if kind == store.KindPartner {
		p, err := s.store.PartnerByID(ctx, id)
		return Org{Kind: store.KindPartner, ID: p.ID, Name: p.Name}, err
	}
	c, err := s.store.CustomerByID(ctx, id)
	return Org{Kind: store.KindCustomer, ID: c.ID, Name: c.Name, PartnerID: c.PartnerID}, err
}

// managedOrg is the organization kind/id whose users actor wants to
// manage, once actor may (CanManageUsers). A customer the actor may not see
// answers like a missing one; a partner other than the actor's own is
// refused without saying whether it exists.
func (s *Service) managedOrg(ctx context.Context, actor store.User, kind, id string) (Org, error) {
	var o Org
	var err error
	if kind == store.KindCustomer {
		var c store.Customer
		if c, err = s.visibleCustomer(ctx, actor, id); err == nil {
			o = Org{Kind: kind, ID: c.ID, Name: c.Name, PartnerID: c.PartnerID}
		}
	}
	if err == nil {
		err = rules.CanManageUsers(actor, kind, id)
	}
	if err == nil && kind == store.KindPartner {
		o, err = s.orgOf(ctx, actor)
	}
	if err != nil {
		s.refuseUsers(ctx, actor, "", err)
	}
	return o, err
}

// managedUser is a user actor may manage, with its organization. A user
// actor may not see answers like a missing one.
func (s *Service) managedUser(ctx context.Context, actor store.User, id string) (store.User, Org, error) {
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.canSeeUser(ctx, actor, u)) {
		err = problem.NotFound("user", "no user %q", id)
	} else if err != nil {
		return u, Org{}, err
	}
	var o Org
	if err == nil {
		if o, err = s.orgOf(ctx, u); err == nil {
			err = rules.CanManageUsers(actor, o.Kind, o.ID)
		}
	}
	if err != nil {
		s.refuseUsers(ctx, actor, id, err)
	}
	return u, o, err
}

// canSeeUser: the users of one's own organization, and a partner's the
// users of its customers (it sees their names on assignments).
func (s *Service) canSeeUser(ctx context.Context, actor, u store.User) bool {
	switch {
	case u.Kind == store.KindPartner:
		return actor.Kind == store.KindPartner && actor.PartnerID == u.PartnerID
	case actor.Kind == store.KindCustomer:
		return actor.CustomerID == u.CustomerID
	}
	c, err := s.store.CustomerByID(ctx, u.CustomerID)
	return err == nil && c.PartnerID == actor.PartnerID
}

// refuseUsers audits a refused attempt on users (R6) in the actor's tenant.
func (s *Service) refuseUsers(ctx context.Context, actor store.User, userID string, err error) error {
	r := refusal{Actor: &actor, Action: "user.refused"}
	if userID != "" {
		r.Hidden = fmt.Sprintf("user %q", userID)
	}
	return s.refuse(ctx, r, err)
}

// auditUser writes a change to a user in its organization's audit log.
func (s *Service) auditUser(ctx context.Context, actorID string, o Org, action string, u store.User, detail string) {
	d := u.ID + " " + u.Email
	if detail != "" {
		d += ": " + detail
	}
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), o.audit(store.AuditEntry{At: s.now(), ActorID: actorID, Action: action,
		Outcome: store.OutcomeOK, Detail: clip(d)})))
}

// NewUser is what an administrator gives to invite a user.
type NewUser struct {
	Email string
	Name  string
	Roles []string
}

// Invite adds an invited user to an organization and emails the
// invitation. When the email cannot be sent the user stays, invited, and
// the error says how to send it again.
//
// An address that a user of another organization holds gets the answer of
// an invitation sent, and nothing happens: that user gets no email, and the
// administrator learns nothing about who uses the product elsewhere. The
// look-alike invitation is in no list and no link works; the operator sees
// it in the audit log (user.invitation_suppressed). An address held in the
// administrator's own organization is a conflict, as they can see it.
func (s *Service) Invite(ctx context.Context, by store.User, kind, orgID string, in NewUser) (ManagedUser, error) {
	o, err := s.managedOrg(ctx, by, kind, orgID)
	if err != nil {
		return ManagedUser{}, err
	}
	// Only an invitation that will go out takes from the budget.
	u, err := s.checkNewUser(o.Kind, in)
	if err != nil {
		return ManagedUser{}, err
	}
	if err := s.Limits.invitation(by, in.Email); err != nil {
		return ManagedUser{}, err
	}
	if held, err := s.store.UserByEmail(ctx, u.Email); err == nil && !inOrg(held, o) {
		return s.suppressedInvitation(ctx, by, o, u, held), nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return ManagedUser{}, err
	}
	u, _, err = s.addInvitedUser(ctx, by, o, in)
	if u.ID == "" {
		return ManagedUser{}, err
	}
	return s.Managed(ctx, u), err
}

func inOrg(u store.User, o Org) bool {
	if o.Kind == store.KindPartner {
		return u.Kind == store.KindPartner && u.PartnerID == o.ID
	}
	return u.Kind == store.KindCustomer && u.CustomerID == o.ID
}

// suppressedInvitation is the answer to an invitation of an address held
// elsewhere: shaped like one sent, recorded for the operator, nothing more.
func (s *Service) suppressedInvitation(ctx context.Context, by store.User, o Org, u store.User, held store.User) ManagedUser {
	now := s.now()
	u.ID, u.InvitedBy = "u-"+secret.NewToken()[:12], by.ID
	if o.Kind == store.KindPartner {
		u.PartnerID = o.ID
	} else {
		u.CustomerID = o.ID
	}
	s.auditUser(ctx, by.ID, o, "user.invitation_suppressed", u, "the address belongs to user "+held.ID+
		" of another organization; nothing was stored or sent")
	return ManagedUser{User: u, Invitation: &store.UserToken{UserID: u.ID, Purpose: store.PurposeInvitation,
		CreatedBy: by.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}}
}

// addInvitedUser is the one path of an invitation, for administrators and
// the operator alike: check, add the user invited, audit, email the link.
func (s *Service) addInvitedUser(ctx context.Context, by store.User, o Org, in NewUser) (store.User, string, error) {
	u, err := s.checkNewUser(o.Kind, in)
	if err != nil {
		return store.User{}, "", err
	}
	u.ID, u.InvitedBy = "u-"+secret.NewToken()[:12], by.ID
	if o.Kind == store.KindPartner {
		u.PartnerID = o.ID
	} else {
		u.CustomerID = o.ID
	}
	if err := s.store.CreateUser(ctx, u); store.IsConstraint(err) {
		return store.User{}, "", problem.Conflict("a user with the email %s already exists", u.Email)
	} else if err != nil {
		return store.User{}, "", err
	}
	s.auditUser(ctx, by.ID, o, "user.invited", u, strings.Join(u.Roles, ", "))
	link, err := s.sendInvitation(ctx, by, o, u)
	return u, link, err
}

func (s *Service) checkNewUser(kind string, in NewUser) (store.User, error) {
	email, err := emailaddr.Check(in.Email)
	if errors.Is(err, emailaddr.ErrNotAnAddress) {
		return store.User{}, problem.Invalid("email", "email must be an address like name@example.com")
	} else if err != nil {
		return store.User{}, problem.Unprocessable("", "email", "%s", err)
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return store.User{}, problem.Invalid("name", "name is required")
	}
	if name, err = rules.Note("", "name", name); err != nil {
		return store.User{}, err
	}
	roles, err := rules.Roles(kind, in.Roles)
	if err != nil {
		return store.User{}, err
	}
	return store.User{Email: email, Name: name, Kind: kind, Status: store.StatusInvited, Roles: roles}, nil
}

// sendInvitation issues a fresh invitation link (the old one dies) and
// emails it.
// It returns the link, for the operator's console when mail stays in the
// store.
func (s *Service) sendInvitation(ctx context.Context, by store.User, o Org, u store.User) (string, error) {
	token, now := secret.NewToken(), s.now()
	hash := secret.HashToken(token)
	if err := s.store.IssueUserToken(ctx, store.UserToken{Hash: hash, UserID: u.ID, Purpose: store.PurposeInvitation,
		CreatedBy: by.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}); err != nil {
		return "", err
	}
	link := s.link("register", token)
	err := s.sendUserEmail(ctx, domain.EmailInvitation, u, pamail.Data{
		OrganizationName: o.Name, InvitedBy: by.Name, Roles: strings.Join(u.Roles, ", "),
		LinkURL: link, LinkExpiresAt: now.Add(s.cfg.InvitationTTL), LinkValidFor: s.cfg.InvitationTTL,
	}, userEmailKey(domain.EmailInvitation, u.ID, hash))
	var notSent *errMailNotSent
	if errors.As(err, &notSent) {
		s.auditUser(ctx, by.ID, o, "user.invitation_failed", u, notSent.Detail)
		return "", &problem.Error{Kind: problem.KindUpstreamFailed, Field: "email", Detail: fmt.Sprintf(
			"%s is %s, but the invitation email could not be sent (%s); send it again from the Users page or with POST /api/v1/users/%s/invitation",
			u.Email, u.Status, notSent.Detail, u.ID)}
	} else if err != nil {
		return "", err
	}
	s.auditUser(ctx, by.ID, o, "user.invitation_sent", u, "")
	return link, nil
}

// ResendInvitation sends a fresh invitation to a user who has not
// registered yet; the earlier link stops working.
func (s *Service) ResendInvitation(ctx context.Context, by store.User, id string) (store.User, error) {
	u, o, err := s.managedUser(ctx, by, id)
	if err != nil {
		return u, err
	}
	if u.Status != store.StatusInvited {
		return u, problem.Conflict("%s has already registered; someone who forgot the password uses \"Forgot your password?\" on the login page", u.Email)
	}
	if err := s.Limits.invitation(by, u.Email); err != nil {
		return u, err
	}
	_, err = s.sendInvitation(ctx, by, o, u)
	return u, err
}

// WithdrawInvitation makes a user's invitation link stop working.
func (s *Service) WithdrawInvitation(ctx context.Context, by store.User, id string) (store.User, error) {
	u, o, err := s.managedUser(ctx, by, id)
	if err != nil {
		return u, err
	}
	if u.Status != store.StatusInvited {
		return u, problem.Conflict("%s has already registered; suspend the account instead", u.Email)
	}
	n, err := s.store.WithdrawInvitation(ctx, u.ID, s.now())
	if err != nil {
		return u, err
	}
	if n > 0 {
		s.auditUser(ctx, by.ID, o, "user.invitation_withdrawn", u, "")
	}
	return u, nil
}

// UserPatch is a change to a user: its status, its roles, or both.
type UserPatch struct {
	Status *string
	Roles  *[]string
}

// UpdateUser applies an administrator's change to a user.
func (s *Service) UpdateUser(ctx context.Context, by store.User, id string, p UserPatch) (store.User, error) {
	if p.Status == nil && p.Roles == nil {
		return store.User{}, problem.Invalid("", `send "status" ("active" or "suspended"), "roles", or both`)
	}
	u, o, err := s.managedUser(ctx, by, id)
	if err != nil {
		return u, err
	}
	var roles []string
	if p.Roles != nil {
		if roles, err = rules.Roles(u.Kind, *p.Roles); err != nil {
			return u, err
		}
		if u.ID == by.ID && !slices.Contains(roles, adminRole(u.Kind)) {
			return u, problem.Unprocessable("", "roles", "you cannot remove your own %s role; ask another administrator", adminRole(u.Kind))
		}
	}
	if p.Status != nil {
		if err := s.checkStatusChange(by, u, *p.Status); err != nil {
			return u, err
		}
	}
	if p.Roles != nil && !slices.Equal(roles, u.Roles) {
		if err := s.store.SetUserRoles(ctx, u.ID, roles); err != nil {
			return u, lastAdmin(err, u, o)
		}
		s.auditUser(ctx, by.ID, o, "user.roles_set", u, strings.Join(roles, ", "))
	}
	if p.Status != nil {
		if err := s.setStatus(ctx, by, o, u, *p.Status); err != nil {
			return u, err
		}
	}
	return s.store.UserByID(ctx, u.ID)
}

func adminRole(kind string) string {
	if kind == store.KindCustomer {
		return store.RoleCustomerAdmin
	}
	return store.RolePartnerAdmin
}

func (s *Service) checkStatusChange(by, u store.User, status string) error {
	switch {
	case status != store.StatusActive && status != store.StatusSuspended:
		return problem.Unprocessable("R2", "status", `status must be "active" or "suspended"`)
	case u.ID == by.ID && status == store.StatusSuspended:
		return problem.Unprocessable("R2", "status", "you cannot suspend yourself; ask another administrator")
	case u.Status == store.StatusInvited:
		return problem.Conflict("%s has not registered yet; withdraw or resend the invitation instead", u.Email)
	}
	return nil
}

// setStatus suspends or reactivates a registered user. Suspending ends its
// sessions and links, then every open assignment of theirs as a withdrawal
// of permission does (R2, R7); repeating it finishes what a Temporal
// outage left open.
func (s *Service) setStatus(ctx context.Context, by store.User, o Org, u store.User, status string) error {
	if status == store.StatusActive {
		changed, err := s.store.ReactivateUser(ctx, u.ID, s.now())
		if err == nil && changed {
			s.auditUser(ctx, by.ID, o, "user.reactivated", u, "")
		}
		return err
	}
	changed, err := s.store.SuspendUser(ctx, u.ID, s.now())
	if err != nil {
		return lastAdmin(err, u, o)
	}
	if changed {
		s.auditUser(ctx, by.ID, o, "user.suspended", u, "sessions ended")
	}
	if u.Kind != store.KindPartner {
		return nil // a customer user holds no assignment; CheckSignal stops its decisions
	}
	if err := s.endOpen(ctx, by, store.AssignmentFilter{PartnerUserID: u.ID}, workflows.CauseUserSuspended); err != nil {
		return problem.Unavailable("%s is suspended and logged out, but open assignments could not all be ended yet; repeat the request to end them", u.Email)
	}
	return nil
}

// userLink resolves a one-time link of purpose to its token and user. It
// changes nothing; a wrong link is 404, a used, replaced or expired one 410,
// each with what to do.
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

// hashPassword applies the policy to a new password and hashes it.
func (s *Service) hashPassword(pw string, u store.User, orgName string) (string, error) {
	if err := password.Check(pw, u.Email, u.Name, orgName); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cfg.PasswordCost)
	return string(h), err
}

// passwordFromLink checks a one-time link of purpose and hashes the new
// password it sets, which the policy must accept; a link that does not work
// is audited as refused.
func (s *Service) passwordFromLink(ctx context.Context, raw, pw, purpose, refused string) (store.UserToken, store.User, Org, string, error) {
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

// Register sets an invited user's password from its invitation link and
// makes it active.
func (s *Service) Register(ctx context.Context, raw, pw string) (store.User, error) {
	t, u, o, h, err := s.passwordFromLink(ctx, raw, pw, store.PurposeInvitation, "registration.refused")
	if err != nil {
		return u, err
	}
	registered, err := s.store.Register(ctx, t.Hash, h, s.now())
	if errors.Is(err, store.ErrTokenUnusable) || errors.Is(err, store.ErrUserState) {
		_, _, err = s.userLink(ctx, raw, store.PurposeInvitation) // used meanwhile: say how
		if err == nil {
			err = &problem.Error{Kind: problem.KindGone, Field: "token", Detail: "this invitation link no longer works"}
		}
		return u, err
	} else if err != nil {
		return u, err
	}
	s.auditUser(ctx, u.ID, o, "user.registered", registered, "")
	return registered, nil
}

// RequestPasswordReset asks for a one-time link to be emailed to an active
// user with that email. It only queues the request: the lookup and the
// email happen after the caller has answered, so the answer takes the same
// path, and the same time, whether the account exists or not (no timing
// oracle). A request that finds a full queue is dropped and logged; the
// person asks again.
func (s *Service) RequestPasswordReset(email string) {
	s.resetsOnce.Do(func() { go s.sendResets() })
	select {
	case s.resets <- email:
	default:
		s.log.Warn("password-reset queue full; request dropped")
	}
}

// resetQueue is how many reset requests may wait; each takes milliseconds.
const resetQueue = 1024

// sendResets serves the reset requests one after the other.
func (s *Service) sendResets() {
	for email := range s.resets {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := s.sendReset(ctx, email); err != nil {
			s.log.Error("password reset", "error", err)
		}
		cancel()
	}
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
		s.auditUser(ctx, u.ID, o, "password_reset.refused", u, "the organization signs in through its own provider only (SSO): no link sent")
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
		s.auditUser(ctx, u.ID, o, "password_reset.email_failed", u, notSent.Detail)
		return nil
	} else if err != nil {
		return err
	}
	s.auditUser(ctx, u.ID, o, "password_reset.requested", u, "")
	return nil
}

// ResetPassword sets a new password from a reset link; every session of
// the user ends.
func (s *Service) ResetPassword(ctx context.Context, raw, pw string) (store.User, error) {
	t, u, o, h, err := s.passwordFromLink(ctx, raw, pw, store.PurposePasswordReset, "password_reset.refused")
	if err != nil {
		return u, err
	}
	reset, err := s.store.ResetPassword(ctx, t.Hash, h, s.now())
	if errors.Is(err, store.ErrTokenUnusable) || errors.Is(err, store.ErrUserState) {
		return u, &problem.Error{Kind: problem.KindGone, Field: "token", Detail: "this password-reset link no longer works; ask for a new one"}
	} else if err != nil {
		return u, err
	}
	s.auditUser(ctx, u.ID, o, "password_reset.completed", reset, "every session ended")
	return reset, nil
}

// link is a page of this service, for emails.
func (s *Service) link(kind, token string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/" + kind + "/" + token
}

// ManagedUser is a user as its administrators see it, with the working
// invitation of a user who has not registered.
type ManagedUser struct {
	store.User
	Invitation *store.UserToken
}

// OrgUsers lists an organization's users, with their invitations, for one
// of its administrators.
func (s *Service) OrgUsers(ctx context.Context, actor store.User, kind, id string) (Org, []ManagedUser, error) {
	o, err := s.managedOrg(ctx, actor, kind, id)
	if err != nil {
		return o, nil, err
	}
	var us []store.User
	if o.Kind == store.KindPartner {
		us, err = s.store.PartnerUsers(ctx, o.ID)
	} else {
		us, err = s.store.CustomerUsers(ctx, o.ID)
	}
	if err != nil {
		return o, nil, err
	}
	invs, err := s.store.OpenInvitations(ctx, o.Kind, o.ID, s.now())
	if err != nil {
		return o, nil, err
	}
	out := make([]ManagedUser, len(us))
	for i, u := range us {
		out[i] = ManagedUser{User: u}
		if inv, ok := invs[u.ID]; ok && u.Status == store.StatusInvited {
			out[i].Invitation = &inv
		}
	}
	return o, out, nil
}

// Managed adds a user's working invitation, if any, for its administrators.
func (s *Service) Managed(ctx context.Context, u store.User) ManagedUser {
	m := ManagedUser{User: u}
	if u.Status != store.StatusInvited {
		return m
	}
	inv, err := s.store.OpenInvitation(ctx, u.ID, s.now())
	if err == nil {
		m.Invitation = &inv
	} else if !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("read invitation", "user", u.ID, "error", err)
	}
	return m
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

// OwnOrg is the organization a user belongs to: (kind, id).
func OwnOrg(u store.User) (kind, id string) {
	if u.Kind == store.KindPartner {
		return store.KindPartner, u.PartnerID
	}
	return store.KindCustomer, u.CustomerID
}

// IsAdmin reports whether u administers its organization.
func IsAdmin(u store.User) bool {
	return u.Status == store.StatusActive && (u.HasRole(store.RolePartnerAdmin) || u.HasRole(store.RoleCustomerAdmin))
}

// lastAdmin says so when a change would leave an organization without an
// active administrator (checked in the change's own transaction).
func lastAdmin(err error, u store.User, o Org) error {
	if errors.Is(err, store.ErrLastAdministrator) {
		return problem.Conflict("%s is the last active administrator of %s; make someone else an administrator first", u.Email, o.Name)
	}
	return err
}
