package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/problem"
	"github.com/partneraccess/partneraccess/internal/rules"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/workflows"
)

// ReviewWorkflows is what the reviews ask of Temporal; *wfclient.Client is
// the real one.
type ReviewWorkflows interface {
	StartReview(ctx context.Context, reviewID string) error
	DecideReview(ctx context.Context, reviewID, item, decision string, by workflows.Person) error
}

// Bounds of a review's due_in.
const (
	minReviewDueIn = time.Hour
	maxReviewDueIn = 365 * 24 * time.Hour
)

// DefaultReviewEvery is REVIEW_EVERY's default: 90 days.
const DefaultReviewEvery = 90 * 24 * time.Hour

func (s *Service) reviewWorkflows() (ReviewWorkflows, error) {
	rw, ok := s.wf.(ReviewWorkflows)
	if !ok {
		return nil, problem.Unavailable("reviews need the workflow service (Temporal)")
	}
	return rw, nil
}

// reviewDefaults are the settings of an organization without its own.
func (s *Service) reviewDefaults() activities.ReviewDefaults {
	every := s.cfg.ReviewEvery
	if every == 0 {
		every = DefaultReviewEvery
	}
	return activities.ReviewDefaults{Every: every, DueIn: activities.DefaultReviewDueIn, OnMissed: store.OnMissedSuspend}
}

// StartReview starts an access review of the actor's own organization now
// (SPEC §15): its items are the store's, and its workflow's start is
// vouched for. dueIn "" takes the organization's setting.
func (s *Service) StartReview(ctx context.Context, actor store.User, orgID, dueIn string) (store.Review, error) {
	kind := actor.Kind
	err := rules.CanReview(actor, kind, orgID)
	var due time.Duration
	if err == nil {
		due, err = reviewDueIn(dueIn)
	}
	if err != nil {
		return store.Review{}, s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionReviewRefused}, err)
	}
	rw, err := s.reviewWorkflows()
	if err != nil {
		return store.Review{}, err
	}
	rs, err := activities.ReviewSettingsFor(ctx, s.store, orgID, s.reviewDefaults())
	if err != nil {
		return store.Review{}, err
	}
	if due == 0 {
		due = rs.DueIn
	}
	now := s.now().UTC().Truncate(time.Second)
	items, err := activities.ReviewItems(ctx, s.store, kind, orgID, now.Add(-rs.Every))
	if err != nil {
		return store.Review{}, err
	}
	r := store.Review{ID: activities.ReviewID(orgID, now), OrgKind: kind, OrgID: orgID, StartedBy: actor.ID,
		StartedAt: now, DueAt: now.Add(due), OnMissed: rs.OnMissed, Items: items}
	switch err := s.store.CreateReview(ctx, r); {
	case errors.Is(err, store.ErrReviewOpen):
		return r, problem.Conflict("a review of your organization is open; finish it before starting another")
	case errors.Is(err, store.ErrReviewExists):
		return r, problem.Conflict("a review of your organization started this minute")
	case err != nil:
		return r, err
	}
	o, _ := s.orgByKind(ctx, kind, orgID)
	s.logAuditFailure(s.store.Audit(ctx, o.audit(store.AuditEntry{At: now, ActorID: actor.ID, Action: domain.ActionReviewStarted,
		Outcome: store.OutcomeOK, Detail: fmt.Sprintf("review %s: %d to decide by %s", r.ID, len(items), r.DueAt.Format(time.RFC3339))})))
	if err := rw.StartReview(ctx, r.ID); err != nil {
		return r, engineErr(err)
	}
	return s.store.ReviewByID(ctx, r.ID)
}

func reviewDueIn(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, problem.Invalid("due_in", "due_in must be a duration such as 720h (30 days)")
	}
	if d < minReviewDueIn || d > maxReviewDueIn {
		return 0, problem.Invalid("due_in", "due_in must be between %s and %s", minReviewDueIn, maxReviewDueIn)
	}
	return d, nil
}

// Reviews lists the reviews of the actor's organization (administrators).
func (s *Service) Reviews(ctx context.Context, actor store.User) ([]store.Review, error) {
	orgID := actor.PartnerID
	if actor.Kind == store.KindCustomer {
		orgID = actor.CustomerID
	}
	if err := rules.CanReview(actor, actor.Kind, orgID); err != nil {
		return nil, s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionReviewRefused}, err)
	}
	return s.store.Reviews(ctx, orgID)
}

// Review returns one review of the actor's organization with its items;
// another organization's is answered as one that does not exist.
func (s *Service) Review(ctx context.Context, actor store.User, id string) (store.Review, error) {
	r, err := s.store.ReviewByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && rules.CanReview(actor, r.OrgKind, r.OrgID) != nil) {
		if err == nil && actor.Kind == r.OrgKind && (actor.PartnerID == r.OrgID || actor.CustomerID == r.OrgID) {
			return store.Review{}, s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionReviewRefused}, rules.CanReview(actor, r.OrgKind, r.OrgID))
		}
		return store.Review{}, problem.NotFound("review", "no review %q", id)
	}
	return r, err
}

// DecideReviewItem sends an administrator's decision on an item to the
// review's workflow, signed, and waits for the store to show it counted.
func (s *Service) DecideReviewItem(ctx context.Context, actor store.User, reviewID, itemID, decision string) (store.ReviewItem, error) {
	r, err := s.Review(ctx, actor, reviewID)
	if err != nil {
		return store.ReviewItem{}, err
	}
	var it *store.ReviewItem
	for i := range r.Items {
		if r.Items[i].ID == itemID {
			it = &r.Items[i]
		}
	}
	switch {
	case it == nil:
		return store.ReviewItem{}, problem.NotFound("item", "review %s has no item %q", r.ID, itemID)
	case decision != store.DecisionKeep && decision != store.DecisionRemove:
		err = problem.Invalid("decision", `decision must be "keep" or "remove"`)
	case r.State != store.ReviewOpen:
		err = problem.Conflict("the review is finished; its report is kept as it was")
	case it.Decision != "":
		err = problem.Conflict("item %s was already decided: %s", it.ID, it.Decision)
	}
	if err != nil {
		return *it, s.refuse(ctx, refusal{Actor: &actor, Action: domain.ActionReviewRefused}, err)
	}
	rw, err := s.reviewWorkflows()
	if err != nil {
		return *it, err
	}
	if err := rw.DecideReview(ctx, r.ID, it.ID, decision, person(actor)); err != nil {
		return *it, engineErr(err)
	}
	var got store.ReviewItem
	err = s.poll(ctx, reviewDecisionWait, func(ctx context.Context) (bool, error) {
		r, err := s.store.ReviewByID(ctx, r.ID)
		if err != nil {
			return false, err
		}
		for _, x := range r.Items {
			if x.ID == it.ID {
				got = x
			}
		}
		return got.Decision != "" && (got.Decision != store.DecisionRemove || got.Outcome != ""), nil
	})
	if errors.Is(err, errWaited) {
		return got, problem.Unavailable("the decision was sent but not yet recorded; reload the review in a moment")
	}
	return got, err
}

// reviewDecisionWait bounds how long a decision waits for its workflow.
const reviewDecisionWait = 15 * time.Second

// RemoveReviewed removes what a review removes, through the operations an
// administrator uses, so the rules hold: a user is suspended (their open
// access ends, R2), the partner's permission withdrawn (R1), a Professional
// access ended (R7). refused is a rule that stopped it (the last
// administrator, a user already gone).
func (s *Service) RemoveReviewed(ctx context.Context, by string, it store.ReviewItem, why string) (string, error, error) {
	actor := store.User{ID: by, Name: "access review", Email: "access review"}
	if u, err := s.store.UserByID(ctx, by); err == nil {
		actor = u
	}
	switch it.Kind {
	case store.ItemUser:
		u, err := s.store.UserByID(ctx, it.SubjectID)
		if err != nil {
			return "", err, nil
		}
		o, err := s.orgOf(ctx, u)
		if err != nil {
			return "", nil, err
		}
		if u.ID == by {
			return "", errors.New("an administrator cannot suspend themselves"), nil
		}
		if err := s.setStatus(ctx, actor, o, u, store.StatusSuspended); err != nil {
			if p := problem.As(err); p != nil && p.Kind != problem.KindUnavailable {
				return "", p, nil
			}
			return "", nil, err
		}
		return "the account of " + u.Email + " was suspended and its open access ended", nil, nil
	case store.ItemPermission:
		r, err := s.store.ReviewByID(ctx, it.ReviewID)
		if err != nil {
			return "", nil, err
		}
		c, err := s.store.CustomerByID(ctx, r.OrgID)
		if err != nil {
			return "", nil, err
		}
		// Withdrawn first, so no assignment starts meanwhile; ending the
		// open ones is repeated until done, as SetPermission does.
		if err := s.store.SetPartnerPermission(ctx, c.ID, c.PartnerID, false, actor.ID, s.now()); err != nil {
			return "", nil, err
		}
		s.logAuditFailure(s.store.Audit(ctx, store.AuditEntry{At: s.now(), ActorID: actor.ID, Action: domain.ActionPermissionWithdrawn,
			Outcome: store.OutcomeOK, CustomerID: c.ID, PartnerID: c.PartnerID, Detail: "access review: " + why,
			EventKey: new("review/" + r.ID + "/" + it.ID + "/withdrawn")}))
		if err := s.endOpen(ctx, actor, store.AssignmentFilter{CustomerID: c.ID, PartnerID: c.PartnerID}, workflows.CausePermissionWithdrawn); err != nil {
			return "", nil, err
		}
		return "the permission of partner " + c.PartnerID + " for " + c.Name + "'s sites was withdrawn and its open assignments ended", nil, nil
	case store.ItemProfessionalAccess:
		a, err := s.store.AssignmentByID(ctx, it.SubjectID)
		if err != nil {
			return "", nil, err
		}
		if !a.Open() {
			return "the access of " + a.PartnerUserName + " to " + a.SiteName + " had already ended", nil, nil
		}
		err = s.wf.Unassign(ctx, run(a), person(actor), "access review: "+why, "")
		if err != nil && !errors.Is(err, wfclient.ErrEnded) {
			return "", nil, err
		}
		s.audit(ctx, actor, domain.ActionAssignmentUnassignRequested, a.ID, "access review: "+why)
		return "the access of " + a.PartnerUserName + " to " + a.SiteName + " was ended", nil, nil
	}
	return "", fmt.Errorf("unknown item kind %q", it.Kind), nil
}

// LapsePermission withdraws a permission whose end came (R1): its
// partner's open assignments at the customer end first (none can start
// meanwhile: the permission no longer counts past its end), then the
// permission itself, so a retry after a failure finds it still to do.
func (s *Service) LapsePermission(ctx context.Context, p store.Permission) error {
	c, err := s.store.CustomerByID(ctx, p.CustomerID)
	if err != nil {
		return err
	}
	actor := store.User{ID: "system", Name: "permission end", Email: "permission end"}
	if err := s.endOpen(ctx, actor, store.AssignmentFilter{CustomerID: c.ID, PartnerID: c.PartnerID}, workflows.CausePermissionWithdrawn); err != nil {
		return err
	}
	if err := s.store.SetPartnerPermission(ctx, c.ID, c.PartnerID, false, actor.ID, s.now()); err != nil {
		return err
	}
	until := p.GrantedUntil.UTC()
	s.logAuditFailure(s.store.Audit(ctx, store.AuditEntry{At: s.now(), ActorID: actor.ID, Action: domain.ActionPermissionLapsed,
		Outcome: store.OutcomeOK, CustomerID: c.ID, PartnerID: c.PartnerID, Detail: "granted until " + until.Format(time.RFC3339),
		EventKey: new(fmt.Sprintf("permission.lapsed/%s/%d", c.ID, until.Unix()))}))
	return nil
}
