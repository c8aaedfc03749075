package service

import (
	"context"
	"errors"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/policy"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/store"
)

var _ chat.Decider = (*Service)(nil)

// DecideInChat applies a button pressed in a chat by someone the channel
// proved to be d.ApproverID of d.CustomerID (SPEC §14). It is one decision
// as from the approval link: the same checks (R4: a current, active
// approver of a request still pending; R6: never a partner; R10: a role
// the policy names, checked again by the workflow), the same vouched
// signal, and the first decision wins. Every click is audited with its
// channel: a refused one here, an accepted one by the workflow's record.
// A click that does not count is an Outcome with its Refusal (or with who
// decided, when the request was settled), never an error: an error is the
// service failing (the store or Temporal down).
func (s *Service) DecideInChat(ctx context.Context, d chat.Decision) (chat.Outcome, error) {
	a, approver, err := s.chatDecider(ctx, d)
	if err == nil {
		err = s.canDecide(ctx, approver, a, d.Extension)
	}
	if err == nil {
		a, err = s.decide(ctx, approver, a, d.Extension, d.Approve, d.Via)
	}
	if err == nil {
		return s.chatCounted(ctx, a, d.Extension)
	}
	if errors.Is(err, ErrDecisionPending) {
		return chat.Outcome{Refusal: "your decision was sent; it counts once the service has taken it in"}, nil
	}
	p := problem.As(err)
	if p == nil {
		return chat.Outcome{}, err
	}
	r := refusal{Action: domain.ActionApprovalRefused, Via: d.Via, Tenant: assignmentTenant(a)}
	if approver.ID != "" {
		r.Actor = &approver
	}
	if a.ID == "" {
		r.Tenant, r.Hidden = nil, `assignment "`+d.AssignmentID+`"`
	}
	s.refuse(ctx, r, p)
	if p.Kind == problem.KindConflict || p.Kind == problem.KindGone {
		if o, settled, err := s.chatSettled(ctx, a, d.Extension); err != nil || settled {
			return o, err
		}
	}
	return chat.Outcome{Refusal: p.Detail}, nil
}

// chatDecider reads the assignment and the approver a chat decision names,
// and refuses one of another customer, or a customer whose policy asks
// for its approval page behind login (chat_decisions: sign_in).
func (s *Service) chatDecider(ctx context.Context, d chat.Decision) (store.Assignment, store.User, error) {
	hidden := problem.NotFound("assignment", "this request is not one you can decide")
	a, err := s.store.AssignmentByID(ctx, d.AssignmentID)
	if errors.Is(err, store.ErrNotFound) {
		return a, store.User{}, hidden
	} else if err != nil {
		return a, store.User{}, err
	}
	u, err := s.store.UserByID(ctx, d.ApproverID)
	if errors.Is(err, store.ErrNotFound) {
		return a, u, hidden
	} else if err != nil {
		return a, u, err
	}
	if a.CustomerID != d.CustomerID || u.CustomerID != d.CustomerID {
		return store.Assignment{}, u, hidden
	}
	site, err := s.store.SiteByID(ctx, a.SiteID)
	if err != nil {
		return a, u, err
	}
	e, err := s.sitePolicy(site)
	if err != nil {
		return a, u, err
	}
	if e.ChatDecisions == policy.ChatSignIn {
		return a, u, problem.Forbidden("R10", "%s decides on its approval page after signing in; open the request's page from this message", a.CustomerName)
	}
	return a, u, nil
}

// chatCounted is the outcome of a decision that counted.
func (s *Service) chatCounted(ctx context.Context, a store.Assignment, extension int) (chat.Outcome, error) {
	o := chat.Outcome{Counted: true}
	if settled, ok, err := s.chatSettled(ctx, a, extension); err != nil {
		return o, err
	} else if ok {
		settled.Counted = true
		return settled, nil
	}
	if a.ApprovalsRequired > 1 {
		all, err := s.store.ApprovalsOf(ctx, a.ID)
		if err != nil {
			return o, err
		}
		o.Awaiting = max(a.ApprovalsRequired-len(ApprovalsOfRequest(all, extension)), 0)
	}
	return o, nil
}

// chatSettled reads who settled the request (the assignment's first, or
// extension request n), when it is settled.
func (s *Service) chatSettled(ctx context.Context, a store.Assignment, extension int) (chat.Outcome, bool, error) {
	if a.ID == "" {
		return chat.Outcome{}, false, nil
	}
	if extension > 0 {
		e, err := s.extension(ctx, a.ID, extension)
		if err != nil || e.DecidedBy == "" || e.DecidedAt == nil {
			return chat.Outcome{}, false, err
		}
		return chat.Outcome{DecidedBy: s.personName(ctx, e.DecidedBy), Decision: e.State, DecidedAt: *e.DecidedAt}, true, nil
	}
	now, err := s.store.AssignmentByID(ctx, a.ID)
	if err != nil || now.Decision == "" || now.DecidedAt == nil {
		return chat.Outcome{}, false, err
	}
	return chat.Outcome{DecidedBy: s.personName(ctx, now.DecidedBy), Decision: now.Decision, DecidedAt: *now.DecidedAt}, true, nil
}

// RefuseChat audits a request to a chat's endpoint that did not prove
// itself (a token or signature that does not verify, a click from someone
// the card was not sent to), sampled as refusals nobody logged in made.
func (s *Service) RefuseChat(ctx context.Context, via, detail string) {
	s.refuse(ctx, refusal{Action: domain.ActionChatRefused, Via: via}, problem.Unauthorized("%s", detail))
}
