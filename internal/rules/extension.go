package rules

import (
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// CanAskExtension applies R4's extension rule: while Standard access is
// active, the assigned partner user or another active user of its partner
// may ask for more time. Customers grant it; they do not ask for it.
// Professional access (R5) has no end to extend.
func CanAskExtension(actor store.User, a store.Assignment) error {
	if !CanSeeCustomer(actor, a.CustomerID, a.PartnerID) {
		return problem.NotFound("assignment", "no assignment %q", a.ID)
	}
	if actor.Kind != store.KindPartner {
		return problem.Forbidden("R4", "only the assigned partner user or a user of its partner can ask for more time; the customer approves it")
	}
	if actor.Status != store.StatusActive {
		return problem.Forbidden("R2", "your account is %s; only active users can ask for more time", statusText(actor.Status))
	}
	switch {
	case a.Edition != domain.EditionStandard:
		return problem.Settled("R5", "Professional access has no end to extend: it lasts until someone unassigns it")
	case a.State == domain.StatePendingApproval:
		return problem.Settled("R4", "access has not started: the request still waits for approval")
	case a.State == domain.StateScheduled:
		return problem.Settled("R4", "access has not started: it is scheduled; ask once it has begun")
	case !a.Open():
		return problem.Conflict("access has already ended (%s); assign again if more time is needed", StateText(a.State))
	}
	return nil
}

// ExtensionDuration reads the time asked for: a Go duration ("24h", "90m")
// above zero and at most the access duration (R4).
func ExtensionDuration(text string, most time.Duration) (time.Duration, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, problem.Unprocessable("R4", "duration", "duration is required: how much more time, e.g. 24h or 90m")
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, problem.Unprocessable("R4", "duration", "duration %q is not a duration like 24h or 90m", text)
	}
	if d <= 0 || d > most {
		return 0, problem.Unprocessable("R4", "duration", "duration must be more than nothing and at most the access duration, %s; got %s", most, d)
	}
	return d, nil
}

// ExtensionsLeft applies MAX_EXTENSIONS and one request at a time (R4).
func ExtensionsLeft(es []store.Extension, limit int) error {
	for _, e := range es {
		if e.State == domain.ExtensionPending {
			return problem.Settled("R4", "extension request %d is already waiting for a decision", e.N)
		}
	}
	if len(es) >= limit {
		return problem.Settled("R4", "this assignment has made %d extension requests; at most %d are allowed (MAX_EXTENSIONS)", len(es), limit)
	}
	return nil
}

// CanDecideExtension applies R4 and R6 to a decision on an extension
// request, as CanDecide does to the first request.
func CanDecideExtension(actor store.User, a store.Assignment, e store.Extension) error {
	if err := canDecide(actor, a); err != nil {
		return err
	}
	return ExtensionWaits(a, e)
}

// ExtensionWaits reports whether an extension request still waits for a
// decision: a settled one is answered with who settled it.
func ExtensionWaits(a store.Assignment, e store.Extension) error {
	switch {
	case e.DecidedBy != "" && e.DecidedAt != nil:
		return problem.Settled("R4", "already %s by %s on %s", e.State, e.DecidedBy, e.DecidedAt.UTC().Format(timeLayout))
	case e.DecidedBy != "":
		return problem.Settled("R4", "already %s by %s", e.State, e.DecidedBy)
	case e.State != domain.ExtensionPending:
		return problem.Gone("R4", "this extension request is no longer waiting for a decision: it %s", e.State)
	case a.State != domain.StateActive:
		return problem.Gone("R4", "access has already ended (%s)", StateText(a.State))
	}
	return nil
}
