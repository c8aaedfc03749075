// Package rules holds the checks of docs/rules.md that the store can answer
// before anything is started: R1 (customer permission), R2 (active users
// only), R3 (role), R6 (no circumvention), R8 (one open assignment), R9
// (reason) and R10 (the customer's policy), and who may see or act on what. Each refusal is a
// *problem.Error naming its rule and the field at fault.
package rules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/textcheck"
)

// MaxReasonLen bounds the free-text reason (R9).
const MaxReasonLen = 500

// Checker reads the directory to apply the rules.
type Checker struct {
	Store *store.Store
	// Defaults is the policy a site is under when neither it nor its
	// customer set one (R10): the seed's behaviour, from the settings.
	Defaults policy.Effective
	Now      func() time.Time
}

// AssignRequest is what a partner user asks for. Duration (a Go duration)
// and StartsAt (RFC 3339) are optional (R10).
type AssignRequest struct {
	SiteID   string
	UserID   string
	Role     string
	Reason   string
	Duration string
	StartsAt string
}

// Plan is an assignment that passed every rule, with what the workflow needs.
type Plan struct {
	Site          store.Site
	Partner       store.Partner
	User          store.User
	Role          string
	Reason        string
	Approvers     []store.User // Standard: who may decide (R4)
	CustomerUsers []store.User // told of the assignment
	// Policy is the customer's policy in force at the site (R10), and
	// Scheduled what it allows this request.
	Policy    policy.Effective
	Scheduled Scheduled
	// AutoApproved names the policy's rule that approves the request in
	// advance ("": none).
	AutoApproved string
	// Open is the assignment already open for this site and user (R8); the
	// caller returns it instead of starting another.
	Open *store.Assignment
}

// CheckAssign applies R1, R2, R3, R6, R8, R9 and R10 to an assignment
// request by actor. It reads the store in one plan (store.AssignFacts), and the
// customer's users only for a request that passed. On a refusal, the plan
// still carries the site when the actor may see it, for the audit log.
func (c *Checker) CheckAssign(ctx context.Context, actor store.User, req AssignRequest) (Plan, error) {
	if actor.Kind != store.KindPartner {
		return Plan{}, problem.Forbidden("R6", "only partner users can assign users to a site; customer users approve or end assignments")
	}
	if actor.Status != store.StatusActive {
		return Plan{}, problem.Forbidden("R2", "your account is %s; only active partner users can assign", statusText(actor.Status))
	}
	f, err := c.Store.AssignFacts(ctx, req.SiteID, req.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !CanSeeCustomer(actor, f.Site.CustomerID, f.Site.PartnerID)) {
		return Plan{}, problem.NotFound("site", "no site %q", req.SiteID)
	} else if err != nil {
		return Plan{}, err
	}
	plan := Plan{Site: f.Site, Partner: store.Partner{ID: f.Site.PartnerID, Name: f.PartnerName}}
	if !f.Site.Permitted {
		return plan, NoPermission(f.Site.CustomerName, f.PartnerName)
	}
	if plan.User, err = assignee(actor, req.UserID, f); err != nil {
		return plan, err
	}
	if plan.Role, err = Role(plan.User, req.Role); err != nil {
		return plan, err
	}
	if plan.Reason, err = Reason(req.Reason); err != nil {
		return plan, err
	}
	if plan.Policy, err = InForce(c.Defaults, f.Site); err != nil {
		return plan, err
	}
	if plan.Scheduled, err = CheckPolicy(plan.Policy, f.Site.Edition, plan.Reason, req.Duration, req.StartsAt, c.Now()); err != nil {
		return plan, err
	}
	if f.Open != nil { // R8
		plan.Open = f.Open
		return plan, nil
	}
	users, err := c.Store.CustomerUsers(ctx, f.Site.CustomerID)
	if err != nil {
		return plan, err
	}
	plan.CustomerUsers = activeOnly(users)
	if f.Site.Edition == domain.EditionStandard || plan.Policy.ProfessionalApproval {
		plan.Approvers = Approvers(plan.Policy, plan.CustomerUsers)
		plan.AutoApproved = AutoApproved(plan.Policy, plan.User.ID, plan.Role, plan.Scheduled.Duration)
		switch {
		case len(plan.Approvers) == 0:
			return plan, noApprovers(f.Site.CustomerName, plan.Policy.ApproverRoles)
		case plan.AutoApproved == "" && len(plan.Approvers) < plan.Policy.Approvals:
			return plan, tooFewApprovers(f.Site.CustomerName, plan.Policy.Approvals, len(plan.Approvers))
		}
	}
	return plan, nil
}

// assignee applies R6 and R2 to the user to be assigned.
func assignee(actor store.User, userID string, f store.AssignFacts) (store.User, error) {
	if strings.TrimSpace(userID) == "" {
		return store.User{}, problem.Invalid("user_id", "user_id is required: the partner user to assign")
	}
	if !f.UserFound {
		return store.User{}, problem.NotFound("user_id", "no user %q in your partner account", userID)
	}
	user := f.User
	if user.Kind != store.KindPartner && CanSeeCustomer(actor, user.CustomerID, f.UserCustomerPartner) { // R6, for a customer user the actor may see
		return store.User{}, problem.Unprocessable("R6", "user_id", "%s is a customer user; only partner user accounts can be assigned to a site", user.Email)
	}
	if user.PartnerID != actor.PartnerID { // another partner's, or a hidden customer's: as if missing
		return store.User{}, problem.NotFound("user_id", "no user %q in your partner account", userID)
	}
	if user.Status != store.StatusActive || user.RegisteredAt == nil { // R2
		return store.User{}, problem.Unprocessable("R2", "user_id", "%s cannot be assigned: the account is %s; only registered users with status Active can be assigned",
			user.Email, statusText(user.Status))
	}
	return user, nil
}

// Role applies R3: a user with one role gets it implied; a user with several
// must be assigned one of them.
func Role(user store.User, role string) (string, error) {
	role = strings.TrimSpace(role)
	switch {
	case len(user.Roles) == 0:
		return "", problem.Unprocessable("R3", "user_id", "%s holds no role and cannot be assigned", user.Email)
	case role == "" && len(user.Roles) == 1:
		return user.Roles[0], nil
	case role == "":
		return "", problem.Unprocessable("R3", "role", "%s has several roles; choose one of: %s", user.Email, strings.Join(user.Roles, ", "))
	case !user.HasRole(role):
		return "", problem.Unprocessable("R3", "role", "%s does not hold the role %q; choose one of: %s", user.Email, role, strings.Join(user.Roles, ", "))
	}
	return role, nil
}

// Reason applies R9: every assignment carries a reason.
func Reason(reason string) (string, error) {
	if strings.TrimSpace(reason) == "" {
		return "", problem.Unprocessable("R9", "reason", "reason is required, e.g. the support case number")
	}
	return Note("R9", "reason", reason)
}

// Note checks an optional line of free text: at most MaxReasonLen
// characters, no control characters, and none of the format characters
// (bidi overrides, zero-width ones) or separators that change how it is
// displayed in pages and email subjects.
func Note(rule, field, text string) (string, error) {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) > MaxReasonLen {
		return "", problem.Unprocessable(rule, field, "%s is too long: at most %d characters", field, MaxReasonLen)
	}
	if r, bad := textcheck.First(text); bad {
		return "", problem.Unprocessable(rule, field, "%s must be one line of plain text: %s (a control, format or separator character) is not allowed",
			field, textcheck.Describe(r))
	}
	return text, nil
}

// VisibleSite returns a site the actor may see: a partner user sees the
// sites of customers under its partner's account, a customer user its own
// customer's. Others get not found, so a site's existence is not leaked.
func (c *Checker) VisibleSite(ctx context.Context, actor store.User, siteID string) (store.Site, error) {
	site, err := c.Store.SiteByID(ctx, siteID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !CanSeeCustomer(actor, site.CustomerID, site.PartnerID)) {
		return store.Site{}, problem.NotFound("site", "no site %q", siteID)
	}
	return site, err
}

// CanSeeCustomer reports whether actor may see a customer's sites and assignments.
func CanSeeCustomer(actor store.User, customerID, partnerID string) bool {
	switch actor.Kind {
	case store.KindPartner:
		return actor.PartnerID == partnerID
	case store.KindCustomer:
		return actor.CustomerID == customerID
	}
	return false
}

// VisibleAssignment returns an assignment the actor may see: its partner's
// users see their partner's assignments, customer users their customer's.
func (c *Checker) VisibleAssignment(ctx context.Context, actor store.User, id string) (store.Assignment, error) {
	a, err := c.Store.AssignmentByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !CanSeeCustomer(actor, a.CustomerID, a.PartnerID)) {
		return store.Assignment{}, problem.NotFound("assignment", "no assignment %q", id)
	}
	return a, err
}

// CanUnassign applies R7: the assigned user, a user of its partner, or a
// customer user of the site can end an open assignment.
func CanUnassign(actor store.User, a store.Assignment) error {
	if !CanSeeCustomer(actor, a.CustomerID, a.PartnerID) {
		return problem.NotFound("assignment", "no assignment %q", a.ID)
	}
	if actor.Status != store.StatusActive {
		return problem.Forbidden("R7", "your account is %s; only active users can end an assignment", statusText(actor.Status))
	}
	if !a.Open() {
		return problem.Conflict("the assignment has already ended (%s)", a.State)
	}
	return nil
}

// CanDecide applies R4 and R6 to a decision on an assignment: only an active
// approver of the site's customer decides; a partner never approves (its own
// request or any other).
func CanDecide(actor store.User, a store.Assignment) error {
	if err := canDecide(actor, a); err != nil {
		return err
	}
	if a.State != domain.StatePendingApproval {
		return Settled(a)
	}
	return nil
}

// canDecide is who may decide on an assignment's requests.
func canDecide(actor store.User, a store.Assignment) error {
	if actor.Kind == store.KindPartner {
		return problem.Forbidden("R6", "a partner cannot approve or deny an assignment; the customer decides")
	}
	if actor.CustomerID != a.CustomerID {
		return problem.NotFound("assignment", "no assignment %q", a.ID)
	}
	if !actor.IsApprover() {
		return problem.Forbidden("R4", "only an active Customer Administrator or Customer Operations Agent can decide on an assignment")
	}
	return nil
}

// Settled answers a decision on a request that no longer waits for one
// (R4): who decided and when, and where the assignment stands now.
func Settled(a store.Assignment) *problem.Error {
	now := "it is " + StateText(a.State)
	switch {
	case a.State == domain.StateActive && a.AccessEndsAt != nil:
		now = "access lasts until " + a.AccessEndsAt.UTC().Format(timeLayout)
	case a.State == domain.StateScheduled && a.StartsAt != nil:
		now = "access starts at " + a.StartsAt.UTC().Format(timeLayout)
	}
	if a.Decision != "" && a.DecidedAt != nil {
		return problem.Settled("R4", "already %s by %s on %s; %s", a.Decision, a.DecidedBy, a.DecidedAt.UTC().Format(timeLayout), now)
	}
	if a.Decision != "" {
		return problem.Settled("R4", "already %s by %s; %s", a.Decision, a.DecidedBy, now)
	}
	return problem.Settled("R4", "this request is no longer waiting for a decision: %s", now)
}

// timeLayout is how refusals write a time.
const timeLayout = "Mon 2 Jan 2006 15:04 UTC"

// CanSetPermission applies R1 and R6 to a customer's partner permission: only
// an active Customer Administrator of that customer changes it.
func CanSetPermission(actor store.User, customerID string) error {
	return customerAdmin(actor, customerID, "R1",
		"a partner cannot grant itself permission; the customer's administrator does",
		"only an active Customer Administrator can change the partner's permission")
}

// customerAdmin lets only an active Customer Administrator of the customer
// act; a partner is refused under R6, another customer's user sees nothing.
func customerAdmin(actor store.User, customerID, rule, partnerRefusal, notAdmin string) error {
	switch {
	case actor.Kind == store.KindPartner:
		return problem.Forbidden("R6", "%s", partnerRefusal)
	case actor.CustomerID != customerID:
		return problem.NotFound("customer", "no customer %q", customerID)
	case actor.Status != store.StatusActive || !actor.HasRole(store.RoleCustomerAdmin):
		return problem.Forbidden(rule, "%s", notAdmin)
	}
	return nil
}

func activeOnly(us []store.User) []store.User {
	out := us[:0]
	for _, u := range us {
		if u.Status == store.StatusActive {
			out = append(out, u)
		}
	}
	return out
}

func statusText(status string) string {
	switch status {
	case store.StatusInvited:
		return "Invited (not yet registered)"
	case store.StatusActive:
		return "Active"
	case store.StatusSuspended:
		return "Suspended"
	}
	return fmt.Sprintf("%q", status)
}

// StateText is an assignment state in words.
func StateText(state string) string {
	switch state {
	case domain.StatePendingApproval:
		return "waiting for approval"
	case domain.StateApprovalExpired:
		return "approval expired"
	}
	return strings.ReplaceAll(state, "_", " ")
}

// NoPermission is R1's refusal: the customer has not given its partner
// permission to assign users to its sites.
func NoPermission(customerName, partnerName string) error {
	return problem.Forbidden("R1", "%s has not given %s permission to assign users to its sites; ask the customer to grant it first",
		customerName, partnerName)
}

// CanManageUsers applies R2 and R6 to managing an organization's users
// (invite, suspend, reactivate, set roles): only an active administrator of
// that organization may, a Partner Administrator for its partner's users
// and a Customer Administrator for its customer's. A partner never manages
// customer users, nor a customer partner users.
func CanManageUsers(actor store.User, kind, orgID string) error {
	if kind == store.KindCustomer {
		return customerAdmin(actor, orgID, "R6",
			"a partner cannot create or change customer users; only partner user accounts go through assignment",
			"only an active Customer Administrator can invite, suspend or change the customer's users")
	}
	switch {
	case actor.Kind != store.KindPartner:
		return problem.Forbidden("R6", "a customer cannot create or change a partner's users")
	case actor.PartnerID != orgID:
		return problem.Forbidden("R6", "you can manage only the users of your own partner")
	case actor.Status != store.StatusActive || !actor.HasRole(store.RolePartnerAdmin):
		return problem.Forbidden("R6", "only an active Partner Administrator can invite, suspend or change the partner's users")
	}
	return nil
}

// RolesOf lists the roles a user of kind may hold.
func RolesOf(kind string) []string {
	if kind == store.KindCustomer {
		return []string{store.RoleCustomerAdmin, store.RoleCustomerOps}
	}
	return []string{store.RolePartnerSupportAgent, store.RolePartnerConsultant, store.RolePartnerAdmin}
}

// Roles checks the roles given to a user of kind: each one a role of that
// kind, none twice; a partner user needs at least one (R3: it is assigned
// with one), a customer user may have none (it is told of assignments but
// does not approve).
func Roles(kind string, roles []string) ([]string, error) {
	allowed := RolesOf(kind)
	var out []string
	for _, r := range roles {
		r = strings.TrimSpace(r)
		if !slices.Contains(allowed, r) {
			return nil, problem.Invalid("roles", "%q is not a role of a %s user; the roles are: %s", clipText(r), kind, strings.Join(allowed, ", "))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 && kind == store.KindPartner {
		return nil, problem.Unprocessable("R3", "roles", "a partner user needs at least one role: %s", strings.Join(allowed, ", "))
	}
	return out, nil
}

func clipText(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		return string([]rune(s)[:60]) + "…"
	}
	return s
}
