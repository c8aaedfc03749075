package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/workflows"
)

// Assign applies the rules and starts the assignment's workflow. created
// is false when the open assignment was returned instead (R8).
func (s *Service) Assign(ctx context.Context, actor store.User, req rules.AssignRequest) (a store.Assignment, created bool, err error) {
	plan, err := s.rules.CheckAssign(ctx, actor, req)
	if err != nil {
		r := refusal{Actor: &actor, Action: domain.ActionAssignmentRefused, Hidden: fmt.Sprintf("site %q", req.SiteID)}
		if plan.Site.ID != "" {
			r.Tenant = siteTenant(plan.Site)
		}
		return store.Assignment{}, false, s.refuse(ctx, r, err)
	}
	if plan.Open != nil {
		return *plan.Open, false, nil
	}
	timing, asks := s.requestPolicy(plan)
	in := workflows.Input{
		SiteID: plan.Site.ID, SiteName: plan.Site.Name, CustomerID: plan.Site.CustomerID, CustomerName: plan.Site.CustomerName,
		PartnerID: plan.Partner.ID, PartnerName: plan.Partner.Name, Edition: plan.Site.Edition,
		PartnerUser: person(plan.User), Role: plan.Role, Reason: plan.Reason, RequestedBy: person(actor),
		Approvers: persons(plan.Approvers), CustomerUsers: persons(plan.CustomerUsers), Timing: timing, Policy: asks,
		Chats: s.Chats.Enabled(plan.Site.CustomerID),
	}
	// The summary names IDs only; the details (a person's email, the
	// reason) are encrypted with every payload, and the Temporal UI shows
	// them through the codec endpoint.
	r, err := s.wf.Start(ctx, in, fmt.Sprintf("%s → %s (%s)", plan.User.ID, plan.Site.Name, plan.Site.Edition),
		fmt.Sprintf("**Role:** %s  \n**Reason:** %s  \n**Requested by:** %s", plan.Role, plan.Reason, actor.Email))
	var started *wfclient.AlreadyStartedError
	if errors.As(err, &started) { // R8: a concurrent request won the race
		a, err := s.waitForAssignment(ctx, started.RunID)
		if errors.Is(err, store.ErrNotFound) {
			// Started, but neither its request nor its workflow has written
			// the row yet (a start that timed out, under load): the repeat
			// finds it.
			err = errTemporalDown
		}
		return a, false, err
	}
	if err != nil {
		return store.Assignment{}, false, engineErr(err)
	}
	a = store.Assignment{
		ID: r.RunID, WorkflowID: r.WorkflowID, SiteID: plan.Site.ID, SiteName: plan.Site.Name,
		CustomerID: plan.Site.CustomerID, CustomerName: plan.Site.CustomerName, PartnerID: plan.Partner.ID,
		PartnerUserID: plan.User.ID, PartnerUserName: plan.User.Name, PartnerUserEmail: plan.User.Email,
		Role: plan.Role, Reason: plan.Reason, Edition: plan.Site.Edition, RequestedBy: actor.ID, RequestedAt: s.now().UTC(),
	}
	// The row is written here, so the caller can read it at once; the
	// workflow's first step writes it only if this write did not happen.
	if err := s.store.CreateAssignment(ctx, a); err != nil {
		s.log.Warn("assignment row not written yet; the workflow will write it", "assignment", a.ID, "error", err)
	}
	s.metrics.Started(plan.Site.Edition)
	s.log.Info("assignment started", "assignment", a.ID, "workflow_id", a.WorkflowID, "site", plan.Site.ID, "user", plan.User.ID, "edition", plan.Site.Edition)
	a.State = domain.StateRequested
	a.UpdatedAt = a.RequestedAt
	return a, true, nil
}

// requestPolicy is what the policy in force asks of this request (R10),
// fixed in the start input so a later change never reaches the run: its
// durations, approvals, start and auto-approval. Approvers must decide
// before access starts, so the approval deadline is the earlier of
// approval_timeout and starts_at. Without a policy it is the settings'
// timing and the zero RequestPolicy, as before policies existed.
func (s *Service) requestPolicy(plan rules.Plan) (workflows.Timing, workflows.RequestPolicy) {
	e, at := plan.Policy, plan.Scheduled
	t := s.cfg.Timing
	// The run caps the first request's deadline at its start; extensions
	// keep the policy's whole approval_timeout.
	t.AccessDuration, t.ApprovalTimeout, t.MaxExtensions = at.Duration, e.ApprovalTimeout, e.MaxExtensions
	asks := workflows.RequestPolicy{StartsAt: at.StartsAt, AutoApproved: plan.AutoApproved,
		ProfessionalApproval: e.ProfessionalApproval && plan.Site.Edition == domain.EditionProfessional}
	if e.Approvals > 1 {
		asks.Approvals = e.Approvals
	}
	if e.MaxDuration != t.AccessDuration {
		asks.MaxDuration = e.MaxDuration
	}
	if !slices.Equal(e.ApproverRoles, rules.ApproverRoles) {
		asks.ApproverRoles = slices.Clone(e.ApproverRoles)
	}
	return t, asks
}

// waitForAssignment reads an assignment that a workflow is about to write.
func (s *Service) waitForAssignment(ctx context.Context, id string) (store.Assignment, error) {
	var a store.Assignment
	err := s.poll(ctx, wfclient.Timeout, func(ctx context.Context) (bool, error) {
		var err error
		a, err = s.store.AssignmentByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return true, err
	})
	if errors.Is(err, errWaited) {
		err = store.ErrNotFound
	}
	return a, err
}

// Unassign ends an assignment (R7) by signalling its workflow.
func (s *Service) Unassign(ctx context.Context, actor store.User, id, reason string) (store.Assignment, error) {
	a, err := s.rules.VisibleAssignment(ctx, actor, id)
	if err == nil {
		err = rules.CanUnassign(actor, a)
	}
	if err == nil {
		reason, err = rules.Note("R7", "reason", reason)
	}
	if err != nil {
		return store.Assignment{}, s.refuse(ctx, s.onAssignment(actor, domain.ActionAssignmentUnassignRefused, id, a), err)
	}
	if err := engineErr(s.wf.Unassign(ctx, run(a), person(actor), reason, "")); err != nil {
		return store.Assignment{}, err
	}
	s.audit(ctx, actor, domain.ActionAssignmentUnassignRequested, a.ID, reason)
	return a, nil
}

// onAssignment is the refusal of an action on assignment id, which a is
// when the actor may see it.
func (s *Service) onAssignment(actor store.User, action domain.Action, id string, a store.Assignment) refusal {
	r := refusal{Actor: &actor, Action: action, Hidden: fmt.Sprintf("assignment %q", id)}
	if a.ID != "" {
		r.Tenant = assignmentTenant(a)
	}
	return r
}

// SetPermission records a customer's permission for its partner (R1).
// Withdrawing it ends the partner's open assignments to the customer's sites.
func (s *Service) SetPermission(ctx context.Context, actor store.User, customerID string, granted bool) (store.Customer, error) {
	c, err := s.visibleCustomer(ctx, actor, customerID)
	if err == nil {
		err = rules.CanSetPermission(actor, customerID)
	}
	if err != nil {
		return c, s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionPermissionRefused}, err)
	}
	if err := s.store.SetPartnerPermission(ctx, c.ID, c.PartnerID, granted, actor.ID, s.now()); err != nil {
		return c, err
	}
	action := domain.ActionPermissionWithdrawn
	if granted {
		action = domain.ActionPermissionGranted
	}
	s.logAuditFailure(s.store.Audit(ctx, store.AuditEntry{At: s.now(), ActorID: actor.ID, Action: action, Outcome: store.OutcomeOK,
		CustomerID: c.ID, PartnerID: c.PartnerID}))
	if granted {
		return c, nil
	}
	err = s.endOpen(ctx, actor, store.AssignmentFilter{CustomerID: c.ID, PartnerID: c.PartnerID}, workflows.CausePermissionWithdrawn)
	if err != nil {
		return c, problem.Unavailable("permission withdrawn, but open assignments could not all be ended yet; repeat the request to end them")
	}
	return c, nil
}

// endOpen ends every open assignment f selects, for cause (R7); it is how
// a withdrawn permission (R1) and a suspended user (R2) end access.
// Repeating it finishes what a Temporal outage left open.
func (s *Service) endOpen(ctx context.Context, by store.User, f store.AssignmentFilter, cause string) error {
	f.Limit = 10000
	open, err := s.store.Assignments(ctx, f)
	if err != nil {
		return err
	}
	for _, a := range open {
		if !a.Open() {
			continue
		}
		err := s.wf.Unassign(ctx, run(a), person(by), "", cause)
		if errors.Is(err, wfclient.ErrEnded) {
			continue // ended meanwhile
		} else if err != nil {
			return err
		}
		s.audit(ctx, by, domain.ActionAssignmentUnassignRequested, a.ID, causeText[cause])
	}
	return nil
}

var causeText = map[string]string{
	workflows.CausePermissionWithdrawn: "permission withdrawn",
	workflows.CauseUserSuspended:       "user suspended",
}

// visibleCustomer returns a customer the actor may see; one it may not see
// is answered like one that does not exist.
func (s *Service) visibleCustomer(ctx context.Context, actor store.User, customerID string) (store.Customer, error) {
	c, err := s.store.CustomerByID(ctx, customerID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !rules.CanSeeCustomer(actor, c.ID, c.PartnerID)) {
		return store.Customer{}, problem.NotFound("customer", "no customer %q", customerID)
	}
	return c, err
}

// statusGone is gone with a detail, under no rule.
func statusGone(format string, args ...any) *problem.Error {
	return problem.New(problem.KindGone, format, args...)
}
