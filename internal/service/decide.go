package service

import (
	"context"
	"errors"
	"time"

	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/workflows"
)

// ErrDecisionPending: the decision was sent, but the workflow has not
// answered within DecisionWait (e.g. no worker is running); it will count
// if it may once the workflow runs.
var ErrDecisionPending = errors.New("decision sent; outcome not known yet")

// Decide is a logged-in user's decision on an assignment by its ID, on its
// first request (extension 0) or on extension request n; a hidden or
// missing assignment is refused and audited like any other refusal.
func (s *Service) Decide(ctx context.Context, u store.User, id string, extension int, approve bool) (store.Assignment, error) {
	a, err := s.rules.VisibleAssignment(ctx, u, id)
	if err == nil {
		err = s.canDecide(ctx, u, a, extension)
	}
	if err != nil {
		return a, s.refuse(ctx, s.onAssignment(u, domain.ActionApprovalRefused, id, a), err)
	}
	return s.decide(ctx, u, a, extension, approve, chat.ViaPage)
}

// DecideByLink applies an approval link's decision. It answers the
// assignment and the extension request the link decides (nil: the first
// request), so the page can say which was decided.
func (s *Service) DecideByLink(ctx context.Context, raw string, approve bool) (store.Assignment, *store.Extension, error) {
	l, err := s.approvalLink(ctx, raw)
	if err != nil {
		return l.Assignment, l.Extension, s.refuseLink(ctx, domain.ActionApprovalLinkRefused, l.Assignment, err)
	}
	a := l.Assignment
	if err := mayDecide(l.Approver, a, l.Extension); err != nil {
		return a, l.Extension, s.refuse(ctx, s.onAssignment(l.Approver, domain.ActionApprovalRefused, a.ID, a), err)
	}
	a, err = s.decide(ctx, l.Approver, a, l.Token.Extension, approve, chat.ViaEmail)
	return a, l.Extension, err
}

// refuseLink audits a refused link of someone not logged in, sampled, in
// the tenant of the assignment a when the link named one.
func (s *Service) refuseLink(ctx context.Context, action domain.Action, a store.Assignment, err error) error {
	r := refusal{Action: action}
	if a.ID != "" {
		r.Tenant = assignmentTenant(a)
	}
	return s.refuse(ctx, r, err)
}

// decide sends an approver's checked decision (R4) to the workflow and
// waits for its outcome: the assignment once the decision took effect, a
// conflict or gone when it did not (the workflow has recorded why), or
// ErrDecisionPending. The first decision that counts wins.
func (s *Service) decide(ctx context.Context, approver store.User, a store.Assignment, extension int, approve bool, via string) (store.Assignment, error) {
	id, err := s.wf.Decide(ctx, run(a), person(approver), extension, approve, via)
	if err != nil {
		return a, engineErr(err)
	}
	var settled func(context.Context) bool
	if extension == 0 {
		settled = func(ctx context.Context) bool {
			p, err := s.store.AssignmentProgress(ctx, a.ID)
			return err == nil && p.DecisionSignal == id
		}
	}
	o, ok := s.awaitOutcome(ctx, a, id, settled)
	after := context.WithoutCancel(ctx)
	switch {
	case !ok && extension > 0:
		return a, ErrDecisionPending
	case !ok:
		return s.unansweredDecision(after, a, approver, approve)
	case o.Conflict: // the first decision settled it (R4)
		return a, problem.Settled("R4", "%s", o.Detail)
	case o.Gone:
		return a, problem.Gone("R4", "%s", o.Detail)
	case !o.Accepted:
		return a, problem.Settled("R4", "your decision did not count: %s", o.Detail)
	}
	if o.Awaiting > 0 { // counted; the request waits for more approvals (R10)
		return s.store.AssignmentByID(after, a.ID)
	}
	if extension == 0 {
		s.metrics.Decided(decisionName(approve), s.now().Sub(a.RequestedAt))
		// The workflow records an accepted decision in the task that reads
		// it, unless access is first made in the customer's directory:
		// then the record follows the membership. Wait for it (bounded),
		// so the answer shows where the assignment stands.
		s.poll(after, s.cfg.DecisionWait, func(ctx context.Context) (bool, error) { return settled(ctx), nil })
	}
	return s.store.AssignmentByID(after, a.ID)
}

func decisionName(approve bool) string {
	if approve {
		return domain.DecisionApproved
	}
	return domain.DecisionDenied
}

// unansweredDecision reads the outcome of a decision the workflow did not
// answer in time: a request settled meanwhile by this decision counts, one
// settled otherwise is a conflict (a signal that came as the workflow
// closed is never acted on), and a request still pending waits for a worker.
func (s *Service) unansweredDecision(ctx context.Context, a store.Assignment, approver store.User, approve bool) (store.Assignment, error) {
	now, err := s.store.AssignmentByID(ctx, a.ID)
	switch {
	case err != nil:
		return a, err
	case now.Decision == decisionName(approve) && now.DecidedBy == approver.Email:
		return now, nil
	case now.Decision != "", now.State != domain.StatePendingApproval:
		return now, rules.Settled(now)
	}
	return now, ErrDecisionPending
}

// canDecide applies R4 to a decision on the first request (extension 0) or
// on extension request n.
func (s *Service) canDecide(ctx context.Context, approver store.User, a store.Assignment, extension int) error {
	if extension == 0 {
		return mayDecide(approver, a, nil)
	}
	e, err := s.extension(ctx, a.ID, extension)
	if err != nil {
		return err
	}
	return mayDecide(approver, a, &e)
}

// mayDecide applies R4 to a decision on the first request (e nil) or on an
// extension request.
func mayDecide(approver store.User, a store.Assignment, e *store.Extension) error {
	if e == nil {
		return rules.CanDecide(approver, a)
	}
	return rules.CanDecideExtension(approver, a, *e)
}

// extension returns extension request n of an assignment.
func (s *Service) extension(ctx context.Context, assignmentID string, n int) (store.Extension, error) {
	es, err := s.store.Extensions(ctx, assignmentID)
	if err != nil {
		return store.Extension{}, err
	}
	for _, e := range es {
		if e.N == n {
			return e, nil
		}
	}
	return store.Extension{}, problem.NotFound("extension", "no extension request %d on assignment %s", n, assignmentID)
}

// awaitOutcome waits until it knows what became of a signal, or until
// DecisionWait has passed. It asks the workflow (the `signal` query); when
// settled is given, it also reads the store, and a true settled means the
// signal counted. The store hears first in the common case: the workflow
// records a decision that settles the request in the same workflow task
// that reads the signal, while the query must wait for that task to
// complete and then make its own trip to the worker.
func (s *Service) awaitOutcome(ctx context.Context, a store.Assignment, id string, settled func(context.Context) bool) (workflows.SignalOutcome, bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answered := make(chan workflows.SignalOutcome, 2)
	go func() {
		s.poll(ctx, s.cfg.DecisionWait, func(ctx context.Context) (bool, error) {
			o, ok, _ := s.wf.SignalOutcome(ctx, run(a), id)
			if ok {
				answered <- o
			}
			return ok, nil
		})
	}()
	if settled != nil {
		go func() {
			s.poll(ctx, s.cfg.DecisionWait, func(ctx context.Context) (bool, error) {
				ok := settled(ctx)
				if ok {
					answered <- workflows.SignalOutcome{Accepted: true}
				}
				return ok, nil
			})
		}()
	}
	select {
	case o := <-answered:
		return o, true
	case <-time.After(s.cfg.DecisionWait):
		return workflows.SignalOutcome{}, false
	case <-ctx.Done():
		return workflows.SignalOutcome{}, false
	}
}

// errWaited: poll waited as long as it may.
var errWaited = errors.New("not within the wait")

// storePoll is how soon a wait reads again at first: a primary-key read.
// The reads then space out to a tenth of the time waited so far (at most
// 50 ms), so a decision that waits on a busy workflow does not read a
// thousand times a second.
const storePoll = time.Millisecond

func storePause(waited time.Duration) time.Duration {
	return min(max(storePoll, waited/10), 50*time.Millisecond)
}

// poll is the one wait of the service: it calls check until it is done or
// fails, or until within passes (errWaited), spacing out as storePause says.
func (s *Service) poll(ctx context.Context, within time.Duration, check func(context.Context) (bool, error)) error {
	start := time.Now()
	for {
		done, err := check(ctx)
		if done || err != nil {
			return err
		}
		waited := time.Since(start)
		if waited >= within {
			return errWaited
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(storePause(waited)):
		}
	}
}

// ApprovalLink is what an approval link asks an approver to decide.
type ApprovalLink struct {
	Token      store.ApprovalToken
	Assignment store.Assignment
	Approver   store.User
	// Extension is the extension request decided; nil for the first request.
	Extension *store.Extension
	// RequestedByName is the name of who asked for the extension.
	RequestedByName string
	// AccessDuration is how long access lasts once approved.
	AccessDuration time.Duration
	// Approvals are those that counted so far towards the request the
	// link decides (R10).
	Approvals []store.Approval
}

// ApprovalRequest resolves an approval link for its page. It changes
// nothing (mail scanners open links); a wrong, used or expired link is a
// clear refusal.
func (s *Service) ApprovalRequest(ctx context.Context, raw string) (ApprovalLink, error) {
	l, err := s.approvalLink(ctx, raw)
	if err != nil {
		return l, err
	}
	l.AccessDuration = s.accessDuration(ctx, l.Assignment)
	if l.Assignment.ApprovalsRequired > 1 {
		all, err := s.store.ApprovalsOf(ctx, l.Assignment.ID)
		if err != nil {
			return l, err
		}
		l.Approvals = ApprovalsOfRequest(all, l.Token.Extension)
	}
	return l, nil
}

func (s *Service) approvalLink(ctx context.Context, raw string) (ApprovalLink, error) {
	var l ApprovalLink
	invalid := problem.NotFound("token", "this approval link is not valid; check that it was copied whole")
	tok, err := secret.ParseToken(raw)
	if err != nil {
		return l, invalid
	}
	l.Token, err = s.store.ApprovalTokenByHash(ctx, secret.HashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return l, invalid
	} else if err != nil {
		return l, err
	}
	t := l.Token
	if l.Assignment, err = s.store.AssignmentByID(ctx, t.AssignmentID); err != nil {
		return l, err
	}
	a := l.Assignment
	switch {
	case t.Extension > 0:
		e, err := s.extension(ctx, a.ID, t.Extension)
		if err != nil {
			return l, err
		}
		l.Extension = &e
		l.RequestedByName = s.personName(ctx, e.RequestedBy)
		named := e // the page names the one who decided, not their ID
		if named.DecidedBy != "" {
			named.DecidedBy = s.personName(ctx, e.DecidedBy)
		}
		if err := rules.ExtensionWaits(a, named); err != nil {
			return l, err
		}
		if t.VoidedAt != nil {
			return l, statusGone("this approval link no longer works")
		}
	case t.VoidedAt != nil || a.State != domain.StatePendingApproval:
		named := a // the page names the one who decided
		if named.DecidedBy != "" {
			named.DecidedBy = s.personName(ctx, a.DecidedBy)
		}
		gone := rules.Settled(named)
		gone.Kind = problem.KindGone
		return l, gone
	}
	if !s.now().Before(t.ExpiresAt) {
		return l, statusGone("this approval link has expired")
	}
	l.Approver, err = s.store.UserByID(ctx, t.ApproverID)
	return l, err
}

// accessDuration is how long the assignment's access lasts once approved:
// what its workflow fixed when it started, or, if the workflow does not
// answer in time, what a new assignment would get.
func (s *Service) accessDuration(ctx context.Context, a store.Assignment) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, wfclient.DisplayTimeout)
	defer cancel()
	st, err := s.wf.Status(ctx, run(a))
	if err != nil || st.AccessDuration <= 0 {
		return s.cfg.Timing.AccessDuration
	}
	return st.AccessDuration
}
