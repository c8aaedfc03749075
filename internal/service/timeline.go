package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Event is one line of an assignment's timeline, written for a person:
// who did what, in words, and a detail where there is one.
type Event struct {
	At      time.Time
	Text    string
	Detail  string
	Refused bool
}

// Timeline turns an assignment's audit entries into events. The entries
// keep their machine names and IDs for the audit API; the page names the
// people and says what happened.
func (s *Service) Timeline(ctx context.Context, a store.Assignment) ([]Event, error) {
	entries, err := s.store.AuditLog(ctx, store.AuditFilter{AssignmentID: a.ID})
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	who := func(id string) string {
		n, ok := names[id]
		if !ok {
			n = s.personName(ctx, id)
			names[id] = n
		}
		return n
	}
	ending := domain.HumanEndReason(a.EndReason)
	starts := ""
	if a.StartsAt != nil {
		starts = a.StartsAt.UTC().Format(time.RFC3339) // humanDetail writes it for people
	}
	// counted numbers the approvals of the request under way; an extension
	// request starts its own count, since it needs as many (R10).
	counted := 0
	entries = approvalsFirst(entries)
	events := make([]Event, 0, len(entries))
	for _, e := range entries {
		ev := Event{At: e.At, Refused: e.Outcome == store.OutcomeRefused}
		by := who(e.ActorID)
		switch e.Action {
		case domain.ActionAssignmentRequested:
			if e.ActorID == a.PartnerUserID {
				ev.Text = by + " asked to reach " + a.SiteName + " as " + a.Role
			} else {
				ev.Text = by + " asked for " + a.PartnerUserName + " to reach " + a.SiteName + " as " + a.Role
			}
			ev.Detail = "Reason: " + a.Reason
		case domain.ActionAssignmentApproved:
			ev.Text, ev.Detail = by+" approved the request; access began", strings.TrimSpace(domain.ViaWords(e.Via))
			if e.ActorID == "policy" { // the rule that approved it in advance (R10)
				ev.Detail = e.Detail
			}
		case domain.ActionApprovalCounted:
			counted++
			ev.Text, ev.Detail = fmt.Sprintf("%s approved (%d of %d)", by, counted, a.ApprovalsRequired), e.Detail
		case domain.ActionAssignmentScheduled:
			if a.Decision == "" { // Professional, which needs no approval, waits for its start
				ev.Text = "Access is scheduled; it starts " + starts
			} else {
				ev.Text = by + " approved the request; access starts " + starts
			}
		case domain.ActionAccessStarted:
			ev.Text = "Scheduled access began"
		case domain.ActionAssignmentDenied:
			ev.Text, ev.Detail = by+" denied the request", strings.TrimSpace(domain.ViaWords(e.Via))
		case domain.ActionAssignmentApprovalExpired:
			ev.Text = "Nobody decided before the deadline; the request lapsed"
		case domain.ActionAssignmentWithdrawn:
			ev.Text, ev.Detail = "The request was withdrawn before anyone decided", ending
		case domain.ActionAssignmentUnassignRequested:
			ev.Text, ev.Detail = by+" asked to end the assignment", e.Detail
		case domain.ActionAssignmentFailed:
			ev.Text, ev.Detail = "The assignment failed", a.Failure
		case domain.ActionAccessReady:
			ev.Text = a.PartnerUserName + "'s login is ready"
		case domain.ActionAccessExpired:
			ev.Text, ev.Detail = "Access ended at the end of its time", ending
		case domain.ActionAccessRevoked:
			ev.Text, ev.Detail = "Access was revoked", ending
		case domain.ActionDriftRestored:
			ev.Text = a.PartnerUserName + "'s account had been taken out of " + a.SiteName +
				"'s access group while access was in force; the reconciler put it back"
		case domain.ActionAccessReconciled:
			ev.Text, ev.Detail = "The reconciler removed access whose workflow had ended", e.Detail
		case domain.ActionExtensionRequested:
			counted = 0
			ev.Text, ev.Detail = by+" asked for more time", e.Detail
		case domain.ActionExtensionApproved:
			ev.Text, ev.Detail = by+" approved more time; access now ends later", e.Detail
		case domain.ActionExtensionDenied:
			ev.Text, ev.Detail = by+" denied more time; access ends as planned", e.Detail
		case domain.ActionExtensionLapsed:
			ev.Text = "Nobody decided on the request for more time; access ends as planned"
		case domain.ActionExtensionRefused:
			ev.Text, ev.Detail = "A request for more time by "+by+" was refused", e.Detail
		case domain.ActionCredentialViewed:
			ev.Text = by + " viewed the temporary password"
		case domain.ActionApprovalRefused:
			ev.Text, ev.Detail = "A decision by "+by+" did not count", e.Detail
		case domain.ActionApprovalLinkRefused:
			ev.Text, ev.Detail = "An approval link was refused", e.Detail
		case domain.ActionAssignmentUnassignRefused:
			ev.Text, ev.Detail = by+" was refused ending the assignment", e.Detail
		case domain.ActionCredentialRefused:
			ev.Text, ev.Detail = by+" was refused the temporary password", e.Detail
		case domain.ActionAccessProvisioned:
			ev.Text, ev.Detail = "Access made in "+a.CustomerName+"'s directory", targetWords(e.Detail)
		case domain.ActionRevocationProven:
			ev.Text, ev.Detail = "The access is gone from "+a.CustomerName+"'s directory, checked", targetWords(e.Detail)
		case domain.ActionAccessFailed:
			ev.Text, ev.Detail = "Access could not be made", targetWords(e.Detail)
		case domain.ActionDriftRemoved:
			ev.Text, ev.Detail = "The reconciler removed access held without a grant", targetWords(e.Detail)
		case domain.ActionCredentialReissued:
			ev.Text, ev.Detail = by+" had a new temporary password issued", e.Detail
		case domain.ActionCredentialReissueRefused:
			ev.Text, ev.Detail = by+" was refused a new temporary password", e.Detail
		case domain.ActionSignalForged:
			ev.Text, ev.Detail = "A signal the server did not vouch for was ignored", e.Detail
		default:
			ev.Text, ev.Detail = by+": "+string(e.Action), e.Detail
		}
		ev.Text, ev.Detail = humanDetail(ev.Text), humanDetail(ev.Detail)
		events = append(events, ev)
	}
	return events, nil
}

// approvalsFirst puts an approval before the access it led to: the
// workflow makes the access in the customer's directory first, then
// records the approval with the state it moved to, so the audit log holds
// them the other way round.
func approvalsFirst(entries []store.AuditEntry) []store.AuditEntry {
	out := append([]store.AuditEntry(nil), entries...)
	for i := 0; i+1 < len(out); i++ {
		next := out[i+1].Action
		if out[i].Action == domain.ActionAccessProvisioned && (next == domain.ActionAssignmentApproved || next == domain.ActionExtensionApproved) {
			out[i+1].At = out[i].At
			out[i], out[i+1] = out[i+1], out[i]
			i++
		}
	}
	return out
}

// targetNames are the directories' kinds as audit details name them, and
// as people do.
var targetNames = strings.NewReplacer(
	" in "+store.TargetEntra+" ", " in Entra ID ", " in "+store.TargetEntra+":", " in Entra ID:",
	" in "+store.TargetLDAP+" ", " in LDAP ", " in "+store.TargetLDAP+":", " in LDAP:")

// targetWords writes a directory's kind in an audit detail as people name it.
func targetWords(detail string) string { return targetNames.Replace(detail) }

// personName is a user's name, or what the system actors are called; an
// ID that names nobody stays as it is.
func (s *Service) personName(ctx context.Context, id string) string {
	switch id {
	case "system":
		return "Partner Access"
	case "reconciler":
		return "The reconciler"
	case "policy": // approved in advance (R10); the detail names the rule
		return "The customer's policy"
	case "anonymous":
		return "Someone without a login"
	}
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) && strings.Contains(id, "@") { // some records name people by email
		u, err = s.store.UserByEmail(ctx, id)
	}
	if err == nil {
		return u.Name
	} else if !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("look up a user's name", "user", id, "error", err)
	}
	return id
}

var (
	isoStamp   = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	goDuration = regexp.MustCompile(`\b(\d+h)?\d+m\d+(\.\d+)?s\b`)
)

// humanDetail writes the machine times and durations that audit details
// hold (2026-12-05T10:00:00Z, 24h0m0s) as people read them.
func humanDetail(s string) string {
	s = isoStamp.ReplaceAllStringFunc(s, func(v string) string {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return v
		}
		return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
	})
	return goDuration.ReplaceAllStringFunc(s, func(v string) string {
		d, err := time.ParseDuration(v)
		if err != nil {
			return v
		}
		return domain.HumanDuration(d)
	})
}
