package service

import (
	"context"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

// RefusedInChat audits a click in a chat (via teams or slack) refused
// before it reached a decision (R6: every attempt). assignmentID is given
// once the chat's own proof held (a Slack signature, a Bot Framework
// token) and the click named a request: then it is written in full, in
// that assignment's tenant. Without it the request proved nothing, and it
// is sampled like a random approval link (RefuseChat).
func (s *Service) RefusedInChat(ctx context.Context, via, assignmentID, detail string) {
	if assignmentID == "" {
		s.RefuseChat(ctx, via, detail)
		return
	}
	p := problem.Forbidden("", "%s", detail)
	s.metrics.Refused(p.Rule)
	e := store.AuditEntry{At: s.now(), ActorID: via, Action: domain.ActionChatRefused, Outcome: store.OutcomeRefused,
		AssignmentID: assignmentID, Detail: clip(p.Detail), Via: via}
	if a, err := s.store.AssignmentByID(ctx, assignmentID); err == nil {
		t := assignmentTenant(a)
		e.SiteID, e.CustomerID, e.PartnerID = t.SiteID, t.CustomerID, t.PartnerID
	} else {
		e.AssignmentID = "" // a click naming no assignment of ours: the detail says which
		e.Detail = clip(p.Detail + " (assignment " + assignmentID + ")")
	}
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), e))
}
