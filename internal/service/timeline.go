package service

import (
	"context"
	"errors"
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
	names := map[string]string{"system": "Partner Access", "reconciler": "The reconciler", "anonymous": "Someone without a login"}
	who := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		n := id
		if u, err := s.store.UserByID(ctx, id); err == nil {
			n = u.Name
		} else if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("timeline: look up user", "user", id, "error", err)
		}
		names[id] = n
		return n
	}
	ending := domain.HumanEndReason(a.EndReason)
	events := make([]Event, 0, len(entries))
	for _, e := range entries {
		ev := Event{At: e.At, Refused: e.Outcome == store.OutcomeRefused}
		by := who(e.ActorID)
		switch e.Action {
		case "assignment.requested":
			ev.Text, ev.Detail = by+" asked for "+a.PartnerUserName+" to reach "+a.SiteName+" as "+a.Role, "Reason: "+a.Reason
		case "assignment.approved":
			ev.Text = by + " approved the request; access began"
		case "assignment.denied":
			ev.Text = by + " denied the request"
		case "assignment.approval_expired":
			ev.Text = "Nobody decided before the deadline; the request lapsed"
		case "assignment.withdrawn":
			ev.Text, ev.Detail = "The request was withdrawn before anyone decided", ending
		case "assignment.unassign_requested":
			ev.Text, ev.Detail = by+" asked to end the assignment", e.Detail
		case "assignment.failed":
			ev.Text, ev.Detail = "The assignment failed", a.Failure
		case "access.ready":
			ev.Text = a.PartnerUserName + "'s login is ready"
		case "access.expired":
			ev.Text, ev.Detail = "Access ended at the end of its time", ending
		case "access.revoked":
			ev.Text, ev.Detail = "Access was revoked", ending
		case "access.reconciled":
			ev.Text, ev.Detail = "The reconciler removed access whose workflow had ended", e.Detail
		case "extension.requested":
			ev.Text, ev.Detail = by+" asked for more time", e.Detail
		case "extension.approved":
			ev.Text, ev.Detail = by+" approved more time; access now ends later", e.Detail
		case "extension.denied":
			ev.Text, ev.Detail = by+" denied more time; access ends as planned", e.Detail
		case "extension.lapsed":
			ev.Text = "Nobody decided on the request for more time; access ends as planned"
		case "extension.refused":
			ev.Text, ev.Detail = "A request for more time by "+by+" was refused", e.Detail
		case "credential.viewed":
			ev.Text = by + " viewed the temporary password"
		case "approval.refused":
			ev.Text, ev.Detail = "A decision by "+by+" did not count", e.Detail
		case "approval.link_refused":
			ev.Text, ev.Detail = "An approval link was refused", e.Detail
		case "assignment.unassign_refused":
			ev.Text, ev.Detail = by+" was refused ending the assignment", e.Detail
		case "credential.refused":
			ev.Text, ev.Detail = by+" was refused the temporary password", e.Detail
		case "signal.forged":
			ev.Text, ev.Detail = "A signal the server did not vouch for was ignored", e.Detail
		default:
			ev.Text, ev.Detail = by+": "+e.Action, e.Detail
		}
		events = append(events, ev)
	}
	return events, nil
}
