// Package policy holds a customer's own policy for its sites (R10, SPEC
// §13): how many approvers decide, who may, how long access lasts and how
// far ahead it may be scheduled, which reason is asked for, and who is
// approved in advance. A customer sets one for all its sites; a site's own
// overrides it field by field; what neither sets is the seed's behaviour
// (the service's settings). It has no dependencies beyond the standard
// library, so every layer may use it.
package policy

import (
	"slices"
	"time"
)

// Policy is a policy as written: a nil field is not set, and is inherited
// from the customer's policy (for a site's) or the defaults.
type Policy struct {
	Approvals            *int           // distinct approvers who must approve a Standard request
	ApproverRoles        []string       // who may decide (nil: inherited)
	AccessDuration       *time.Duration // what a request gets when it names none
	MaxDuration          *time.Duration // the most a request or an extension may ask for
	MaxExtensions        *int
	ApprovalTimeout      *time.Duration
	MaxLead              *time.Duration // how far ahead access may be scheduled; 0: no scheduling
	ReasonPattern        *string        // RE2; the reason must match it
	ReasonExample        *string        // shown with a refusal and on the form
	AutoApprove          []AutoApprove  // nil: inherited; empty: none
	ProfessionalApproval *bool          // a Professional site waits for approval too
	ChatDecisions        *string        // ChatInChat or ChatSignIn
}

// What a chat's buttons do (chat_decisions, SPEC §14); the same words as
// chat.InChat and chat.SignIn.
const (
	ChatInChat = "in_chat"
	ChatSignIn = "sign_in"
)

// AutoApprove is a rule that approves a request in advance: for the named
// partner users and/or the holders of the named roles, up to MaxDuration
// (0: the policy's MaxDuration).
type AutoApprove struct {
	Users       []string
	Roles       []string
	MaxDuration time.Duration
}

// Matches reports whether the rule approves user asking with role for d.
func (r AutoApprove) Matches(userID, role string, d, policyMax time.Duration) bool {
	limit := r.MaxDuration
	if limit == 0 {
		limit = policyMax
	}
	if d > limit {
		return false
	}
	return slices.Contains(r.Users, userID) || slices.Contains(r.Roles, role)
}

// Effective is the policy in force at a site: every field decided.
type Effective struct {
	Approvals            int
	ApproverRoles        []string
	AccessDuration       time.Duration
	MaxDuration          time.Duration
	MaxExtensions        int
	ApprovalTimeout      time.Duration
	MaxLead              time.Duration
	ReasonPattern        string
	ReasonExample        string
	AutoApprove          []AutoApprove
	ProfessionalApproval bool
	ChatDecisions        string // ChatInChat (the default) or ChatSignIn

	maxDurationSet bool // a policy named MaxDuration (not only AccessDuration)
}

// DefaultMaxLead is how far ahead access may be scheduled when no policy
// says (SPEC §13).
const DefaultMaxLead = 336 * time.Hour

// DefaultCeiling is POLICY_MAX_DURATION's default: no policy may let access
// last longer.
const DefaultCeiling = 720 * time.Hour

// Defaults is the seed's behaviour, from the service's settings: one
// approval from a Customer Administrator or Customer Operations Agent,
// ACCESS_DURATION and no longer, APPROVAL_TIMEOUT, MAX_EXTENSIONS, any
// reason, nobody approved in advance.
func Defaults(accessDuration, approvalTimeout time.Duration, maxExtensions int, approverRoles []string) Effective {
	return Effective{Approvals: 1, ApproverRoles: approverRoles, AccessDuration: accessDuration, MaxDuration: accessDuration,
		MaxExtensions: maxExtensions, ApprovalTimeout: approvalTimeout, MaxLead: DefaultMaxLead, ChatDecisions: ChatInChat}
}

// With is e with what p sets, field by field. MaxDuration defaults to
// AccessDuration (SPEC §13) only while no level has named MaxDuration: a
// site that sets only access_duration keeps its customer's max_duration.
func (e Effective) With(p Policy) Effective {
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setD := func(dst *time.Duration, v *time.Duration) {
		if v != nil {
			*dst = *v
		}
	}
	set(&e.Approvals, p.Approvals)
	set(&e.MaxExtensions, p.MaxExtensions)
	if p.ApproverRoles != nil {
		e.ApproverRoles = slices.Clone(p.ApproverRoles)
	}
	if p.AccessDuration != nil {
		e.AccessDuration = *p.AccessDuration
		if !e.maxDurationSet {
			e.MaxDuration = *p.AccessDuration
		}
	}
	if p.MaxDuration != nil {
		e.MaxDuration, e.maxDurationSet = *p.MaxDuration, true
	}
	setD(&e.ApprovalTimeout, p.ApprovalTimeout)
	setD(&e.MaxLead, p.MaxLead)
	if p.ReasonPattern != nil {
		e.ReasonPattern = *p.ReasonPattern
	}
	if p.ReasonExample != nil {
		e.ReasonExample = *p.ReasonExample
	}
	if p.AutoApprove != nil {
		e.AutoApprove = slices.Clone(p.AutoApprove)
	}
	if p.ProfessionalApproval != nil {
		e.ProfessionalApproval = *p.ProfessionalApproval
	}
	if p.ChatDecisions != nil {
		e.ChatDecisions = *p.ChatDecisions
	}
	return e
}

// AutoApproval is the first rule that approves user asking with role for
// d, by its index, or -1.
func (e Effective) AutoApproval(userID, role string, d time.Duration) int {
	for i, r := range e.AutoApprove {
		if r.Matches(userID, role, d, e.MaxDuration) {
			return i
		}
	}
	return -1
}
