package policy

import (
	"fmt"
	"strings"
	"time"
)

// Words says what the policy asks of a request, before anyone submits it
// ("Contoso asks for 2 approvals, at most 24 h, and a reason like
// “CS-1234: month-end upgrade”"). needsApproval is false for a
// Professional site whose policy does not ask for approval.
func (e Effective) Words(customer string, needsApproval bool) string {
	var asks []string
	if needsApproval {
		asks = append(asks, plural(e.Approvals, "approval", "approvals"))
	}
	asks = append(asks, "at most "+Human(e.MaxDuration))
	if e.ReasonPattern != "" {
		asks = append(asks, fmt.Sprintf("a reason like “%s”", e.ReasonExample))
	}
	s := customer + " asks for " + list(asks)
	if e.MaxLead > 0 {
		s += fmt.Sprintf("; access may be scheduled up to %s ahead", Human(e.MaxLead))
	}
	return s
}

// Human writes a duration for people: "24 h", "1 h 30 min", "45 s".
func Human(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	var parts []string
	if h := d / time.Hour; h > 0 {
		parts = append(parts, fmt.Sprintf("%d h", h))
	}
	if m := d % time.Hour / time.Minute; m > 0 {
		parts = append(parts, fmt.Sprintf("%d min", m))
	}
	if s := d % time.Minute / time.Second; s > 0 {
		parts = append(parts, fmt.Sprintf("%d s", s))
	}
	if len(parts) == 0 {
		return d.String()
	}
	return strings.Join(parts, " ")
}

// Describe names an auto_approve rule that matched a request, for the
// workflow's input and the audit log: "auto_approve[1]: role Partner
// Consultant".
func (e Effective) Describe(i int, userID, role string) string {
	r := e.AutoApprove[i]
	for _, u := range r.Users {
		if u == userID {
			return fmt.Sprintf("auto_approve[%d]: user %s", i, userID)
		}
	}
	return fmt.Sprintf("auto_approve[%d]: role %s", i, role)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func list(xs []string) string {
	switch len(xs) {
	case 0, 1:
		return strings.Join(xs, "")
	case 2:
		return xs[0] + " and " + xs[1]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + ", and " + xs[len(xs)-1]
}
