package domain

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// HumanDuration writes d for a reader: "3 days", "1 hour and 30 minutes",
// "2 minutes", "45 seconds". It keeps the two largest units, which is as
// precise as an email or a page needs.
func HumanDuration(d time.Duration) string {
	if d < time.Second {
		return "less than a second"
	}
	d = d.Round(time.Second) // a remaining 4.9s is "5 seconds"
	units := []struct {
		name string
		size time.Duration
	}{{"day", 24 * time.Hour}, {"hour", time.Hour}, {"minute", time.Minute}, {"second", time.Second}}
	var parts []string
	for _, u := range units {
		if n := d / u.size; n > 0 && len(parts) < 2 {
			parts = append(parts, plural(int64(n), u.name))
			d -= n * u.size
		} else if len(parts) > 0 {
			break // "1 day and 3 minutes" would skip the hours between
		}
	}
	return strings.Join(parts, " and ")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// expiredAfter matches the end reason the workflow records when Standard
// access runs out, with the duration as time.Duration.String writes it:
// "access expired after 72h0m0s".
var expiredAfter = regexp.MustCompile(`^access expired after ((?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s)$`)

// HumanEndReason gives a recorded end reason to a reader. The workflow
// writes its duration in Go's form, and runs that recorded it keep it, so the
// human form is made here: "access expired after 3 days". Other reasons
// (who unassigned, and why, in their own words) pass unchanged.
func HumanEndReason(reason string) string {
	m := expiredAfter.FindStringSubmatch(reason)
	if m == nil {
		return reason
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		return reason
	}
	return "access expired after " + HumanDuration(d)
}

// ApprovalProgress says how far a request that needs several approvals
// (R10) has come: "1 of 2 approvals: Casey Contoso". It is empty when one
// approval settles the request, as before policies.
func ApprovalProgress(required int, approvers []string) string {
	if required <= 1 {
		return ""
	}
	s := fmt.Sprintf("%d of %d approvals", len(approvers), required)
	if len(approvers) > 0 {
		s += ": " + strings.Join(approvers, ", ")
	}
	return s
}
