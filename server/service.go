package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/access"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

// temporalTimeout bounds each call to Temporal, so a down cluster answers
// 503 quickly instead of hanging the request.
const temporalTimeout = 5 * time.Second

// errTemporalDown is honest for both an unreachable and a slow Temporal: a
// start that timed out may still have happened, and a retry finds it (R8).
var errTemporalDown = problem.Unavailable("the workflow service (Temporal) did not answer; please try again shortly (repeating the request is safe: it never starts a second assignment or decision)")

// assign applies the rules and starts the assignment workflow. created is
// false when the open assignment was returned instead (R8).
func (s *Server) assign(ctx context.Context, actor store.User, req rules.AssignRequest) (a store.Assignment, created bool, err error) {
	plan, err := s.rules.CheckAssign(ctx, actor, req)
	if err != nil {
		s.refuse(ctx, actor, "assignment.refused", "", req.SiteID, err)
		return store.Assignment{}, false, err
	}
	if plan.Open != nil {
		return *plan.Open, false, nil
	}
	in := workflows.Input{
		SiteID: plan.Site.ID, SiteName: plan.Site.Name, CustomerID: plan.Site.CustomerID, CustomerName: plan.Site.CustomerName,
		PartnerID: plan.Partner.ID, PartnerName: plan.Partner.Name, Edition: plan.Site.Edition,
		PartnerUser: person(plan.User), Role: plan.Role, Reason: plan.Reason, RequestedBy: person(actor),
		Approvers: persons(plan.Approvers), CustomerUsers: persons(plan.CustomerUsers), Timing: s.cfg.Timing,
	}
	wfID := workflows.WorkflowID(plan.Site.ID, plan.User.ID)
	tctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	run, err := s.temporal.ExecuteWorkflow(tctx, client.StartWorkflowOptions{
		ID:                                       wfID,
		TaskQueue:                                s.cfg.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// With a worker on this client (one process), the first workflow task
		// comes back with the start, saving a round trip; otherwise ignored.
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrSite.ValueSet(plan.Site.ID), workflows.AttrCustomer.ValueSet(plan.Site.CustomerID),
			workflows.AttrPartnerUser.ValueSet(plan.User.ID), workflows.AttrEdition.ValueSet(plan.Site.Edition),
			workflows.AttrStatus.ValueSet(workflows.FirstState(plan.Site.Edition))),
		StaticSummary: fmt.Sprintf("%s → %s (%s)", plan.User.Email, plan.Site.Name, plan.Site.Edition),
		StaticDetails: fmt.Sprintf("**Role:** %s  \n**Reason:** %s  \n**Requested by:** %s", plan.Role, plan.Reason, actor.Email),
	}, workflows.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) { // R8: a concurrent request won the race
		a, err := s.waitForAssignment(ctx, started.RunId)
		if errors.Is(err, store.ErrNotFound) {
			// Started, but neither its request nor its workflow has written
			// the row yet (a start that timed out, under load): the repeat
			// finds it.
			err = errTemporalDown
		}
		return a, false, err
	}
	if err != nil {
		s.log.Error("start assignment workflow", "workflow_id", wfID, "error", err)
		return store.Assignment{}, false, errTemporalDown
	}
	a = store.Assignment{
		ID: run.GetRunID(), WorkflowID: wfID, SiteID: plan.Site.ID, PartnerUserID: plan.User.ID, Role: plan.Role,
		Reason: plan.Reason, Edition: plan.Site.Edition, RequestedBy: actor.ID, RequestedAt: s.now(),
	}
	// The workflow's first step writes the same row; writing it here too
	// means the caller can read it at once.
	if err := s.store.CreateAssignment(ctx, a); err != nil {
		s.log.Warn("assignment row not written yet; the workflow will write it", "assignment", a.ID, "error", err)
	}
	s.metrics.started(plan.Site.Edition)
	s.log.Info("assignment started", "assignment", a.ID, "workflow_id", wfID, "site", plan.Site.ID, "user", plan.User.ID, "edition", plan.Site.Edition)
	a, err = s.waitForAssignment(ctx, a.ID)
	return a, true, err
}

// waitForAssignment reads an assignment that a workflow is about to write.
func (s *Server) waitForAssignment(ctx context.Context, id string) (store.Assignment, error) {
	for deadline := time.Now().Add(temporalTimeout); ; {
		a, err := s.store.AssignmentByID(ctx, id)
		if err == nil || !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			return a, err
		}
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// unassign ends an assignment (R7) by signalling its workflow.
func (s *Server) unassign(ctx context.Context, actor store.User, id, reason string) (store.Assignment, error) {
	a, err := s.rules.VisibleAssignment(ctx, actor, id)
	if err == nil {
		err = rules.CanUnassign(actor, a)
	}
	if err == nil {
		reason, err = rules.Note("R7", "reason", reason)
	}
	if err != nil {
		s.refuse(ctx, actor, "assignment.unassign_refused", id, a.SiteID, err)
		return store.Assignment{}, err
	}
	if err := s.sendUnassign(ctx, a, actor, reason, ""); err != nil {
		return store.Assignment{}, err
	}
	s.audit(ctx, actor, "assignment.unassign_requested", a.ID, reason)
	return a, nil
}

// decideAs is a logged-in user's decision on an assignment by its ID; a
// hidden or missing one is refused and audited like any other refusal.
func (s *Server) decideAs(ctx context.Context, u store.User, id string, extension int, approve bool) (store.Assignment, error) {
	a, err := s.rules.VisibleAssignment(ctx, u, id)
	if err != nil {
		s.refuse(ctx, u, "approval.refused", id, "", err)
		return a, err
	}
	return s.decide(ctx, u, a, extension, approve)
}

// errDecisionPending: the decision was sent, but the workflow has not
// answered within DecisionWait (e.g. no worker is running); it will count
// if it may once the workflow runs.
var errDecisionPending = errors.New("decision sent; outcome not known yet")

// decide sends an approver's decision (R4) on the assignment's request, or
// on its extension request n, to the workflow and waits for its outcome:
// the assignment once the decision took effect, a 409 or 410 when it did
// not (the workflow has recorded why), or errDecisionPending. The first
// decision that counts wins.
func (s *Server) decide(ctx context.Context, approver store.User, a store.Assignment, extension int, approve bool) (store.Assignment, error) {
	if err := s.canDecide(ctx, approver, a, extension); err != nil {
		s.refuse(ctx, approver, "approval.refused", a.ID, a.SiteID, err)
		return a, err
	}
	sig := workflows.ApprovalSignal{Approve: approve, By: person(approver), Extension: extension, Vouch: s.vouch()}
	sig.MAC = s.keys.SignSignal(sig.SignedFields(a.ID)...)
	if err := s.signal(ctx, a, workflows.SignalApproval, sig); err != nil {
		return a, err
	}
	mine := domain.DecisionDenied
	if approve {
		mine = domain.DecisionApproved
	}
	var settled func(context.Context) bool
	if extension == 0 {
		settled = func(ctx context.Context) bool {
			p, err := s.store.AssignmentProgress(ctx, a.ID)
			return err == nil && p.DecisionSignal == sig.ID
		}
	}
	o, ok := s.awaitOutcome(ctx, a, sig.ID, settled)
	if !ok && extension > 0 {
		return a, errDecisionPending
	} else if !ok {
		return s.unansweredDecision(ctx, a, approver, mine)
	}
	switch {
	case o.Conflict:
		return a, problem.Conflict("%s", o.Detail)
	case o.Gone:
		return a, &problem.Error{Status: http.StatusGone, Detail: o.Detail}
	case !o.Accepted:
		return a, problem.Conflict("your decision did not count: %s", o.Detail)
	}
	if extension > 0 { // the workflow answers once the outcome is recorded
		return s.store.AssignmentByID(context.WithoutCancel(ctx), a.ID)
	}
	s.metrics.decided(mine, s.now().Sub(a.RequestedAt))
	return s.awaitDecision(ctx, a.ID), nil
}

// canDecide applies R4 to a decision on the first request (extension 0) or
// on extension request n.
func (s *Server) canDecide(ctx context.Context, approver store.User, a store.Assignment, extension int) error {
	if extension == 0 {
		return rules.CanDecide(approver, a)
	}
	e, err := s.extension(ctx, a.ID, extension)
	if err != nil {
		return err
	}
	return rules.CanDecideExtension(approver, a, e)
}

// extension returns extension request n of an assignment.
func (s *Server) extension(ctx context.Context, assignmentID string, n int) (store.Extension, error) {
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

// unansweredDecision reads the outcome of a decision the workflow did not
// answer in time from the store: a request settled meanwhile by this
// decision counts, one settled otherwise is a conflict (a signal that came
// as the workflow closed is never acted on), and a request still pending
// waits for a worker.
func (s *Server) unansweredDecision(ctx context.Context, a store.Assignment, approver store.User, mine string) (store.Assignment, error) {
	now := s.awaitDecision(ctx, a.ID)
	switch {
	case now.Decision == mine && now.DecidedBy == approver.Email:
		return now, nil
	case now.Decision != "", now.State != domain.StatePendingApproval:
		return now, rules.Settled(now)
	}
	return now, errDecisionPending
}

// sendUnassign asks the workflow to end the assignment (R7); cause says why
// when no person unassigned it (workflows.Cause…).
func (s *Server) sendUnassign(ctx context.Context, a store.Assignment, by store.User, reason, cause string) error {
	sig := workflows.UnassignSignal{By: person(by), Reason: reason, Cause: cause, Vouch: s.vouch()}
	sig.MAC = s.keys.SignSignal(sig.SignedFields(a.ID)...)
	return s.signal(ctx, a, workflows.SignalUnassign, sig)
}

// vouch starts the server's voucher for a signal; the caller signs it.
func (s *Server) vouch() workflows.Vouch {
	return workflows.Vouch{ID: secret.NewToken(), SentAt: s.now()}
}

// awaitOutcome waits until it knows what became of a signal, or until
// DecisionWait has passed. It asks the workflow (the `signal` query); when
// settled is given, it also reads the store (see storePoll), and a true
// settled means the signal counted. The store hears first in the common
// case: the workflow records a decision that settles the request in the
// same workflow task that reads the signal, while the query must wait for
// that task to complete and then make its own trip to the worker.
func (s *Server) awaitOutcome(ctx context.Context, a store.Assignment, id string, settled func(context.Context) bool) (workflows.SignalOutcome, bool) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DecisionWait)
	defer cancel()
	answered := make(chan workflows.SignalOutcome, 1)
	go func() {
		if o, ok := s.queryOutcome(ctx, a, id); ok {
			answered <- o
		}
	}()
	var poll <-chan time.Time
	start := time.Now()
	if settled != nil {
		poll = time.After(storePoll)
	}
	for {
		select {
		case o := <-answered:
			return o, true
		case <-poll:
			if settled(ctx) {
				return workflows.SignalOutcome{Accepted: true}, true
			}
			poll = time.After(storePause(time.Since(start)))
		case <-ctx.Done():
			return workflows.SignalOutcome{}, false
		}
	}
}

// storePoll is how often a decision's outcome is read from the store at
// first: a primary-key read. The reads then space out to a tenth of the
// time waited so far (at most 50 ms), so an approval that waits on a busy
// workflow does not read the store a thousand times a second.
const storePoll = time.Millisecond

func storePause(waited time.Duration) time.Duration {
	return min(max(storePoll, waited/10), 50*time.Millisecond)
}

// queryOutcome asks the workflow what became of a signal until it answers
// or ctx ends.
func (s *Server) queryOutcome(ctx context.Context, a store.Assignment, id string) (workflows.SignalOutcome, bool) {
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		qctx, cancel := context.WithTimeout(ctx, temporalTimeout)
		v, err := s.temporal.QueryWorkflow(qctx, a.WorkflowID, a.ID, workflows.QuerySignal, id)
		var o *workflows.SignalOutcome
		if err == nil {
			err = v.Get(&o)
		}
		cancel()
		if err == nil && o != nil {
			return *o, true
		}
		select {
		case <-ctx.Done():
			return workflows.SignalOutcome{}, false
		case <-time.After(pause):
		}
	}
}

func (s *Server) signal(ctx context.Context, a store.Assignment, name string, arg any) error {
	tctx, cancel := context.WithTimeout(ctx, temporalTimeout)
	defer cancel()
	err := s.temporal.SignalWorkflow(tctx, a.WorkflowID, a.ID, name, arg)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return problem.Conflict("the assignment has already ended")
	case err != nil:
		s.log.Error("signal assignment workflow", "assignment", a.ID, "workflow_id", a.WorkflowID, "signal", name, "error", err)
		return errTemporalDown
	}
	return nil
}

// approvalToken resolves an approval link to its token and assignment. It
// changes nothing; a wrong, used or expired token is a clear refusal.
func (s *Server) approvalToken(ctx context.Context, raw string) (store.ApprovalToken, store.Assignment, error) {
	tok, err := secret.ParseToken(raw)
	if err != nil {
		return store.ApprovalToken{}, store.Assignment{}, problem.NotFound("token", "this approval link is not valid; check that it was copied whole")
	}
	t, err := s.store.ApprovalTokenByHash(ctx, secret.HashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return store.ApprovalToken{}, store.Assignment{}, problem.NotFound("token", "this approval link is not valid; check that it was copied whole")
	} else if err != nil {
		return store.ApprovalToken{}, store.Assignment{}, err
	}
	a, err := s.store.AssignmentByID(ctx, t.AssignmentID)
	if err != nil {
		return t, a, err
	}
	switch {
	case t.Extension > 0:
		e, err := s.extension(ctx, a.ID, t.Extension)
		if err == nil {
			err = rules.ExtensionWaits(a, e)
		}
		if err == nil && t.VoidedAt != nil {
			err = &problem.Error{Status: http.StatusGone, Detail: "this approval link no longer works"}
		}
		if err == nil && !s.now().Before(t.ExpiresAt) {
			err = &problem.Error{Status: http.StatusGone, Detail: "this approval link has expired"}
		}
		return t, a, err
	case t.VoidedAt != nil || a.State != domain.StatePendingApproval:
		gone := rules.Settled(a)
		gone.Status = http.StatusGone
		return t, a, gone
	case !s.now().Before(t.ExpiresAt):
		return t, a, &problem.Error{Status: 410, Detail: "this approval link has expired"}
	}
	return t, a, nil
}

// decideByToken applies an approval link's decision.
func (s *Server) decideByToken(ctx context.Context, raw string, approve bool) (store.Assignment, error) {
	t, a, err := s.approvalToken(ctx, raw)
	if err != nil {
		s.refuseAnonymous(ctx, "approval.link_refused", a, err)
		return a, err
	}
	approver, err := s.store.UserByID(ctx, t.ApproverID)
	if err != nil {
		return a, err
	}
	return s.decide(ctx, approver, a, t.Extension, approve)
}

// awaitDecision gives the workflow a moment to record the outcome, so the
// page can show it.
func (s *Server) awaitDecision(ctx context.Context, id string) store.Assignment {
	deadline := time.Now().Add(s.cfg.DecisionWait)
	for {
		p, err := s.store.AssignmentProgress(ctx, id)
		if err != nil || p.Decision != "" || !domain.OpenState(p.State) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(storePoll):
			continue
		}
		break
	}
	a, _ := s.store.AssignmentByID(context.WithoutCancel(ctx), id)
	return a
}

// setPermission records a customer's permission for its partner (R1).
func (s *Server) setPermission(ctx context.Context, actor store.User, customerID string, granted bool) (store.Customer, error) {
	c, err := s.visibleCustomer(ctx, actor, customerID)
	if err == nil {
		err = rules.CanSetPermission(actor, customerID)
	}
	if err != nil {
		s.refuse(ctx, actor, "permission.refused", "", "", err)
		return c, err
	}
	if err := s.store.SetPartnerPermission(ctx, c.ID, c.PartnerID, granted, actor.ID, s.now()); err != nil {
		return c, err
	}
	action := "permission.withdrawn"
	if granted {
		action = "permission.granted"
	}
	s.logAuditFailure(s.store.Audit(ctx, store.AuditEntry{At: s.now(), ActorID: actor.ID, Action: action, Outcome: store.OutcomeOK,
		CustomerID: c.ID, PartnerID: c.PartnerID}))
	if granted {
		return c, nil
	}
	return c, s.endOpenAssignments(ctx, actor, c)
}

// endOpenAssignments ends the partner's open assignments to the customer's
// sites once its permission is withdrawn (R1, R7). Repeating the request
// finishes what a Temporal outage left open.
func (s *Server) endOpenAssignments(ctx context.Context, actor store.User, c store.Customer) error {
	open, err := s.store.Assignments(ctx, store.AssignmentFilter{CustomerID: c.ID, PartnerID: c.PartnerID, Limit: 10000})
	if err != nil {
		return err
	}
	for _, a := range open {
		if !a.Open() {
			continue
		}
		err := s.sendUnassign(ctx, a, actor, "", workflows.CausePermissionWithdrawn)
		if p := problem.As(err); p != nil && p.Status == http.StatusConflict {
			continue // ended meanwhile
		} else if err != nil {
			return problem.Unavailable("permission withdrawn, but open assignments could not all be ended yet; repeat the request to end them")
		}
	}
	return nil
}

// visibleCustomer returns a customer the actor may see; one it may not see
// is answered like one that does not exist.
func (s *Server) visibleCustomer(ctx context.Context, actor store.User, customerID string) (store.Customer, error) {
	c, err := s.store.CustomerByID(ctx, customerID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !rules.CanSeeCustomer(actor, c.ID, c.PartnerID)) {
		return store.Customer{}, problem.NotFound("customer", "no customer %q", customerID)
	}
	return c, err
}

// login checks a password and opens a session; it returns the session
// token. Failed attempts count against the account and the client address
// (both rate-limited); successful ones do not.
func (s *Server) login(ctx context.Context, client, email, password string) (string, store.User, error) {
	account, wait, ok := s.limits.loginAccount.Take(accountKey(email))
	if !ok {
		return "", store.User{}, s.tooMany(s.limits.loginAccount, wait)
	}
	from, wait, ok := s.limits.loginClient.Take(client)
	if !ok {
		account.Undo()
		return "", store.User{}, s.tooMany(s.limits.loginClient, wait)
	}
	token, u, err := s.checkPassword(ctx, email, password)
	if p := problem.As(err); p == nil || p.Status != http.StatusUnauthorized {
		account.Undo()
		from.Undo()
	}
	return token, u, err
}

func (s *Server) checkPassword(ctx context.Context, email, password string) (string, store.User, error) {
	bad := problem.Unauthorized("the email or password is not right")
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.PasswordHash == "") {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password)) // same time as a real check
		return "", store.User{}, bad
	} else if err != nil {
		return "", store.User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		s.refuse(ctx, u, "session.refused", "", "", bad)
		return "", store.User{}, bad
	}
	if u.Status != store.StatusActive {
		return "", store.User{}, problem.Forbidden("R2", "your account is %s", u.Status)
	}
	token := secret.NewToken()
	now := s.now()
	if err := s.store.CreateSession(ctx, store.Session{TokenHash: secret.HashToken(token), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL)}); err != nil {
		return "", store.User{}, err
	}
	return token, u, nil
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("timing equaliser"), bcrypt.DefaultCost)

// credentialAssignment is the Professional assignment whose temporary
// password actor asks for; only the assigned partner user gets it (R5), and
// every other attempt is refused and audited.
func (s *Server) credentialAssignment(ctx context.Context, actor store.User, id string) (store.Assignment, error) {
	a, err := s.rules.VisibleAssignment(ctx, actor, id)
	if err == nil && actor.ID != a.PartnerUserID {
		err = problem.Forbidden("R5", "only the assigned partner user can view this temporary password")
	}
	if err == nil && a.Edition != domain.EditionProfessional {
		err = problem.NotFound("assignment", "this assignment has no temporary password")
	}
	if err != nil {
		s.refuse(ctx, actor, "credential.refused", id, a.SiteID, err)
	}
	return a, err
}

// viewCredential shows the assigned partner user its temporary password once.
func (s *Server) viewCredential(ctx context.Context, actor store.User, id string) (login, password string, err error) {
	a, err := s.credentialAssignment(ctx, actor, id)
	if err != nil {
		return "", "", err
	}
	login, password, err = access.TakeCredential(ctx, s.store, s.keys, a.ID, s.now())
	switch {
	case errors.Is(err, access.ErrCredentialGone), errors.Is(err, store.ErrNotFound):
		return login, "", &problem.Error{Status: 410, Detail: "the temporary password has already been viewed or was destroyed when access ended"}
	case err != nil:
		return "", "", err
	}
	s.audit(ctx, actor, "credential.viewed", a.ID, "")
	return login, password, nil
}

// refuse writes a refused attempt to the audit log (R6: every attempt)
// with its tenant: the site's when the actor may see it, else the actor's
// own, so a probe of another tenant lands in the prober's log and the
// hidden object's IDs stay out of the columns others filter on.
func (s *Server) refuse(ctx context.Context, actor store.User, action, assignmentID, siteID string, err error) {
	p := problem.As(err)
	if p == nil {
		return // not a refusal: a failure, logged where it happened
	}
	markAudited(ctx)
	e := store.AuditEntry{At: s.now(), ActorID: actor.ID, Action: action, Outcome: store.OutcomeRefused,
		Detail: p.Error(), PartnerID: actor.PartnerID, CustomerID: actor.CustomerID}
	switch site, visible := s.visibleSiteOf(ctx, actor, siteID); {
	case visible:
		e.AssignmentID, e.SiteID, e.CustomerID, e.PartnerID = assignmentID, site.ID, site.CustomerID, site.PartnerID
	case assignmentID != "":
		e.Detail = clip(fmt.Sprintf("%s (assignment %q)", e.Detail, assignmentID))
	case siteID != "":
		e.Detail = clip(fmt.Sprintf("%s (site %q)", e.Detail, siteID))
	}
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), e))
	s.metrics.refused(p.Rule)
}

func (s *Server) visibleSiteOf(ctx context.Context, actor store.User, siteID string) (store.Site, bool) {
	if siteID == "" {
		return store.Site{}, false
	}
	site, err := s.store.SiteByID(ctx, siteID)
	return site, err == nil && rules.CanSeeCustomer(actor, site.CustomerID, site.PartnerID)
}

// refuseAnonymous records a refusal that nobody logged in made. Every one
// is counted in the metric; the audit log gets a sampled row per
// assignment (or per minute for unknown links) that says how many were
// not written, so a flood of forged links cannot grow the store.
func (s *Server) refuseAnonymous(ctx context.Context, action string, a store.Assignment, err error) {
	p := problem.As(err)
	if p == nil {
		return
	}
	s.metrics.refused(p.Rule)
	write, skipped := s.anonymous.take(action+"\x00"+a.ID, s.now())
	if !write {
		return
	}
	detail := p.Error()
	if skipped > 0 {
		detail = fmt.Sprintf("%s (and %d more not written since the last entry)", detail, skipped)
	}
	e := store.AuditEntry{At: s.now(), ActorID: "anonymous", Action: action, Outcome: store.OutcomeRefused, Detail: detail}
	if a.ID != "" {
		if site, err := s.store.SiteByID(ctx, a.SiteID); err == nil {
			e.AssignmentID, e.SiteID, e.CustomerID, e.PartnerID = a.ID, site.ID, site.CustomerID, site.PartnerID
		}
	}
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), e))
}

func (s *Server) audit(ctx context.Context, actor store.User, action, assignmentID, detail string) {
	s.logAuditFailure(s.store.Audit(context.WithoutCancel(ctx), store.AuditEntry{At: s.now(), ActorID: actor.ID, Action: action,
		Outcome: store.OutcomeOK, AssignmentID: assignmentID, Detail: detail}))
}

// logAuditFailure logs an audit write that failed. The request it records
// has already taken effect, so the failure is logged, not answered.
func (s *Server) logAuditFailure(err error) {
	if err != nil {
		s.log.Error("audit log write failed", "error", err)
	}
}

func person(u store.User) workflows.Person {
	return workflows.Person{ID: u.ID, Name: u.Name, Email: u.Email}
}

func persons(us []store.User) []workflows.Person {
	ps := make([]workflows.Person, len(us))
	for i, u := range us {
		ps[i] = person(u)
	}
	return ps
}

func origin(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return publicURL
	}
	return u.Scheme + "://" + u.Host
}
