package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// ApproverRoles are the customer roles that approve (R4): who decides
// when a customer's policy names no fewer.
var ApproverRoles = []string{store.RoleCustomerAdmin, store.RoleCustomerOps}

// InForce is the policy in force at a site (R10): the defaults, its
// customer's policy over them, the site's own over that.
func InForce(defaults policy.Effective, site store.Site) (policy.Effective, error) {
	e := defaults
	for _, text := range []string{site.CustomerPolicy, site.Policy} {
		w, err := policy.Decode(text)
		if err != nil {
			return e, err
		}
		p, err := policy.Parse(w)
		if err != nil {
			return e, err
		}
		e = e.With(p)
	}
	return e, nil
}

// Scheduled is what R10 allows of one request: how long and from when.
type Scheduled struct {
	Duration time.Duration
	StartsAt *time.Time // nil: from approval
}

// startSkew is how far in the past a start may be and still mean "now":
// the caller's clock and ours differ a little.
const startSkew = time.Minute

// CheckPolicy applies R10 to a request at a site of edition: a duration
// at most max_duration, a start no further ahead than max_lead and not in
// the past, a reason matching reason_pattern. Each refusal names its
// field and says what the policy allows.
func CheckPolicy(e policy.Effective, edition, reason, duration, startsAt string, now time.Time) (Scheduled, error) {
	s := Scheduled{Duration: e.AccessDuration}
	if e.ReasonPattern != "" && !regexp.MustCompile(e.ReasonPattern).MatchString(reason) {
		return s, refuseR10("reason", map[string]string{"reason_example": e.ReasonExample, "reason_pattern": e.ReasonPattern},
			"the customer's policy asks for a reason like %q (the pattern %s)", e.ReasonExample, e.ReasonPattern)
	}
	if text := strings.TrimSpace(duration); text != "" {
		most := map[string]string{"max_duration": policy.Duration(e.MaxDuration)}
		d, err := time.ParseDuration(text)
		switch {
		case edition == domain.EditionProfessional:
			return s, refuseR10("duration", nil, "Professional access has no end to set: it lasts until someone unassigns it; leave duration out")
		case err != nil:
			return s, refuseR10("duration", most, "duration %q is not a duration like 8h or 90m; the customer's policy allows at most %s", clipText(text), policy.Duration(e.MaxDuration))
		case d <= 0 || d > e.MaxDuration:
			return s, refuseR10("duration", most, "duration must be more than nothing and at most %s, the longest the customer's policy allows; got %s", policy.Duration(e.MaxDuration), policy.Duration(d))
		}
		s.Duration = d
	}
	if text := strings.TrimSpace(startsAt); text != "" {
		at, err := time.Parse(time.RFC3339, text)
		latest := now.Add(e.MaxLead).UTC()
		allowed := map[string]string{"latest_start": latest.Format(time.RFC3339), "max_lead": policy.Duration(e.MaxLead)}
		switch {
		case err != nil:
			return s, refuseR10("starts_at", allowed, "starts_at %q is not a time like 2026-12-08T09:00:00Z (RFC 3339)", clipText(text))
		case e.MaxLead == 0:
			return s, refuseR10("starts_at", allowed, "the customer's policy does not let access be scheduled: leave starts_at out, and access starts once approved")
		case at.Before(now.Add(-startSkew)):
			return s, refuseR10("starts_at", allowed, "starts_at %s is in the past; give a time from now up to %s", at.UTC().Format(time.RFC3339), latest.Format(time.RFC3339))
		case at.After(latest):
			return s, refuseR10("starts_at", allowed, "starts_at %s is further ahead than the customer's policy allows (%s): the latest start is %s",
				at.UTC().Format(time.RFC3339), policy.Human(e.MaxLead), latest.Format(time.RFC3339))
		case at.After(now):
			at = at.UTC()
			s.StartsAt = &at
		}
	}
	return s, nil
}

func refuseR10(field string, allowed map[string]string, format string, args ...any) *problem.Error {
	p := problem.Unprocessable("R10", field, format, args...)
	p.Allowed = allowed
	return p
}

// Approvers are the customer's users who decide under the policy (R4,
// R10): active, holding a role that approves and that the policy names.
func Approvers(e policy.Effective, users []store.User) []store.User {
	var out []store.User
	for _, u := range users {
		if u.IsApprover() && slices.ContainsFunc(e.ApproverRoles, u.HasRole) {
			out = append(out, u)
		}
	}
	return out
}

// AutoApproved describes the policy's rule that approves the request in
// advance ("" when none does).
func AutoApproved(e policy.Effective, userID, role string, d time.Duration) string {
	i := e.AutoApproval(userID, role, d)
	if i < 0 {
		return ""
	}
	return e.Describe(i, userID, role)
}

// noApprovers is R4's refusal of a site nobody can approve for; its
// words are the seed's when the policy names the default roles.
func noApprovers(customer string, roles []string) error {
	return problem.Unprocessable("R4", "site_id", "%s has no active %s to approve the request", customer, strings.Join(roles, " or "))
}

// tooFewApprovers is R10's refusal of a request its customer's policy
// asks more approvals of than there are approvers.
func tooFewApprovers(customer string, need, have int) error {
	return refuseR10("site_id", map[string]string{"approvals": fmt.Sprint(need)},
		"%s's policy asks for %d approvals, and only %d active approvers can give one; ask the customer to invite more or lower approvals", customer, need, have)
}

// CanSetPolicy applies R10 and R6 to a customer's policy: only an active
// Customer Administrator of that customer reads or changes it.
func CanSetPolicy(actor store.User, customerID string) error {
	return customerAdmin(actor, customerID, "R10",
		"a partner cannot set a customer's policy; the customer's administrator does",
		"only an active Customer Administrator can read or change the customer's policy")
}
