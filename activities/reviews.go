package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/outbox"
	"github.com/partneraccess/partneraccess/internal/store"
)

// Access reviews and a permission's end (SPEC §15). The store holds what a
// review asks and what became of it; the workflow holds its clock. Nothing
// a review acts on comes from its input: its items are the store's, and a
// start or a decision nobody vouched for does nothing.

// VouchReview is the kind of a review's vouched start; VouchReviewPass of
// the reviews' Schedule's pass (a MAC only, as the reconciler's).
const (
	VouchReview     = "review"
	VouchReviewPass = "review-pass"
)

// ReviewScheduleID is the Schedule whose passes start the reviews that are
// due and end the permissions whose end came.
const ReviewScheduleID = "partner-access-reviews"

// ReviewWorkflowID is the workflow of a review: one per organization and
// period, since the review's ID is made of them.
func ReviewWorkflowID(reviewID string) string { return "review/" + reviewID }

// ReviewID is a review's ID: its organization and the start of its period.
func ReviewID(orgID string, periodStart time.Time) string {
	return orgID + "-" + periodStart.UTC().Format("20060102T1504")
}

// ReviewGrants is what a review's run may do.
func ReviewGrants(reviewID string) string { return "the access review " + reviewID }

// ReviewPassGrants is what a pass of the reviews' Schedule may do.
func ReviewPassGrants(scheduleID string) string { return "a review pass of schedule " + scheduleID }

// ReviewSystem is the actor of what a review does when nobody decided.
const ReviewSystem = "review"

// ReviewDefaults are the settings of an organization without its own.
type ReviewDefaults struct {
	Every    time.Duration // REVIEW_EVERY
	DueIn    time.Duration // 30 days
	OnMissed string        // store.OnMissedSuspend
}

// DefaultReviewDueIn is how long administrators have to decide.
const DefaultReviewDueIn = 30 * 24 * time.Hour

// ReviewRemovals are the service's operations a review removes with, so
// the rules hold as when an administrator acts (suspending a user ends
// their open access, R2; withdrawing a permission ends its partner's, R1;
// ending a Professional access is R7). The service implements it.
type ReviewRemovals interface {
	// RemoveReviewed removes what item names, on behalf of by (a user's ID
	// or ReviewSystem); outcome says what was done, refused why it could
	// not be (a rule), err a failure to retry.
	RemoveReviewed(ctx context.Context, by string, item store.ReviewItem, why string) (outcome string, refused error, err error)
	// LapsePermission withdraws a permission whose end came (R1).
	LapsePermission(ctx context.Context, p store.Permission) error
}

// ReviewItems lists what a review of the organization asks to confirm: a
// partner's users; a customer's users, its partner when it holds the
// permission, and each open Professional access active since before
// olderThan.
func ReviewItems(ctx context.Context, st *store.Store, kind, orgID string, olderThan time.Time) ([]store.ReviewItem, error) {
	var items []store.ReviewItem
	add := func(kind, id, subject string) {
		items = append(items, store.ReviewItem{ID: strconv.Itoa(len(items) + 1), Kind: kind, SubjectID: id, Subject: subject})
	}
	var users []store.User
	var err error
	if kind == store.KindPartner {
		users, err = st.PartnerUsers(ctx, orgID)
	} else {
		users, err = st.CustomerUsers(ctx, orgID)
	}
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.Status == store.StatusActive {
			add(store.ItemUser, u.ID, fmt.Sprintf("%s <%s> (%s)", u.Name, u.Email, strings.Join(u.Roles, ", ")))
		}
	}
	if kind == store.KindPartner {
		return items, nil
	}
	c, err := st.CustomerByID(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if ok, err := st.PartnerPermitted(ctx, c.ID, c.PartnerID); err != nil {
		return nil, err
	} else if ok {
		p, err := st.PartnerByID(ctx, c.PartnerID)
		if err != nil {
			return nil, err
		}
		add(store.ItemPermission, p.ID, "the permission of "+p.Name+" to assign its users to "+c.Name+"'s sites (R1)")
	}
	open, err := st.OpenProfessionalSince(ctx, orgID, olderThan)
	if err != nil {
		return nil, err
	}
	for _, a := range open {
		since := a.RequestedAt
		if a.ActivatedAt != nil {
			since = *a.ActivatedAt
		}
		add(store.ItemProfessionalAccess, a.ID, fmt.Sprintf("%s on %s, open since %s (%s)",
			a.PartnerUserName, a.SiteName, since.UTC().Format("2 Jan 2006"), a.Reason))
	}
	return items, nil
}

// ReviewSettingsFor are the organization's own settings, or the defaults.
func ReviewSettingsFor(ctx context.Context, st *store.Store, orgID string, d ReviewDefaults) (store.ReviewSettings, error) {
	rs, ok, err := st.ReviewSettingsOf(ctx, orgID)
	if err != nil || ok {
		return rs, err
	}
	return store.ReviewSettings{OrgID: orgID, Every: d.Every, DueIn: d.DueIn, OnMissed: d.OnMissed}, nil
}

// PlannedReview is a review a pass created, with the vouch of its start.
type PlannedReview struct {
	ReviewID string
	Vouch    StartVouch
}

// PlanReviews creates the review of every organization whose last one
// started at least its period ago (or that never had one), and vouches
// for each start; a review of this pass's period left open by a pass that
// stopped before starting it is vouched for again.
func (a *Activities) PlanReviews(ctx context.Context, at time.Time) ([]PlannedReview, error) {
	orgs, err := a.Store.Organizations(ctx)
	if err != nil {
		return nil, err
	}
	var planned []PlannedReview
	for _, o := range orgs {
		rs, err := ReviewSettingsFor(ctx, a.Store, o.ID, a.ReviewDefaults)
		if err != nil {
			return nil, err
		}
		last, err := a.Store.LastReviewStart(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		period := at.UTC().Truncate(24 * time.Hour)
		id := ReviewID(o.ID, period)
		if last != nil && at.Sub(*last) < rs.Every {
			if r, err := a.Store.ReviewByID(ctx, id); err != nil || r.State != store.ReviewOpen || r.StartedBy != ReviewSystem {
				continue
			}
		} else {
			items, err := ReviewItems(ctx, a.Store, o.Kind, o.ID, at.Add(-rs.Every))
			if err != nil {
				return nil, err
			}
			err = a.Store.CreateReview(ctx, store.Review{ID: id, OrgKind: o.Kind, OrgID: o.ID, StartedBy: ReviewSystem,
				StartedAt: at, DueAt: at.Add(rs.DueIn), OnMissed: rs.OnMissed, Items: items})
			if errors.Is(err, store.ErrReviewOpen) {
				continue // one started by an administrator is still open
			} else if err != nil {
				return nil, err
			}
			a.auditReview(ctx, domain.ActionReviewStarted, ReviewSystem, o.Kind, o.ID, id, "review/"+id+"/started",
				fmt.Sprintf("started by its schedule: %d to decide by %s", len(items), at.Add(rs.DueIn).UTC().Format(time.RFC3339)))
		}
		v, err := a.VouchReviewStart(ctx, id, at)
		if err != nil {
			return nil, err
		}
		planned = append(planned, PlannedReview{ReviewID: id, Vouch: v})
	}
	return planned, nil
}

// ReviewVouchFields are what the MAC of a review's start covers.
func ReviewVouchFields(reviewID, id string, sentAt time.Time) []string {
	return VouchFields(ReviewWorkflowID(reviewID), VouchReview, id, sentAt, reviewID)
}

// VouchReviewStart records and signs the start of a review's workflow.
func (a *Activities) VouchReviewStart(ctx context.Context, reviewID string, at time.Time) (StartVouch, error) {
	return NewVouch(ctx, a.Keys, a.Store, VouchReview, ReviewWorkflowID(reviewID), ReviewGrants(reviewID), at,
		func(id string, sentAt time.Time) []string { return ReviewVouchFields(reviewID, id, sentAt) })
}

// ReviewFacts is what a review's workflow reads of its review.
type ReviewFacts struct {
	StartedAt time.Time
	DueAt     time.Time
	OnMissed  string
	Pending   int
	Finished  bool
}

// ReviewState reads a review's deadline and how many items wait.
func (a *Activities) ReviewState(ctx context.Context, reviewID string) (ReviewFacts, error) {
	r, err := a.Store.ReviewByID(ctx, reviewID)
	if err != nil {
		return ReviewFacts{}, nonRetryableIfMissing(err)
	}
	f := ReviewFacts{StartedAt: r.StartedAt, DueAt: r.DueAt, OnMissed: r.OnMissed, Finished: r.State == store.ReviewFinished}
	for _, it := range r.Items {
		if it.Decision == "" {
			f.Pending++
		}
	}
	return f, nil
}

func nonRetryableIfMissing(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeForged, err)
	}
	return err
}

// ReviewDecisionCheck asks whether an administrator's decision, signed by
// a server, may count.
type ReviewDecisionCheck struct {
	ReviewID string
	Item     string
	ByID     string
	Fields   []string
	MAC      string
}

// CheckReviewDecision verifies the server's MAC, that the decider is still
// an active administrator of the reviewed organization (one suspended
// mid-review decides nothing) and that the item waits for a decision.
func (a *Activities) CheckReviewDecision(ctx context.Context, in ReviewDecisionCheck) (SignalVerdict, error) {
	if in.MAC == "" || !a.Keys.VerifySignal(in.MAC, in.Fields...) {
		return SignalVerdict{Forged: true, Why: "the decision was not sent by a Partner Access server (no valid signature)"}, nil
	}
	r, err := a.Store.ReviewByID(ctx, in.ReviewID)
	if err != nil {
		return SignalVerdict{}, err
	}
	u, err := a.Store.UserByID(ctx, in.ByID)
	if errors.Is(err, store.ErrNotFound) {
		return SignalVerdict{Why: "no such user"}, nil
	} else if err != nil {
		return SignalVerdict{}, err
	}
	if !IsReviewer(u, r) {
		return SignalVerdict{Why: u.Email + " is no longer an active administrator of the reviewed organization"}, nil
	}
	for _, it := range r.Items {
		if it.ID == in.Item {
			if it.Decision != "" {
				return SignalVerdict{Why: "item " + it.ID + " was already decided: " + it.Decision}, nil
			}
			return SignalVerdict{OK: true}, nil
		}
	}
	return SignalVerdict{Why: "the review has no item " + in.Item}, nil
}

// IsReviewer reports whether u may decide r: an active administrator of
// the reviewed organization.
func IsReviewer(u store.User, r store.Review) bool {
	if u.Status != store.StatusActive || u.Kind != r.OrgKind {
		return false
	}
	if r.OrgKind == store.KindPartner {
		return u.PartnerID == r.OrgID && u.HasRole(store.RolePartnerAdmin)
	}
	return u.CustomerID == r.OrgID && u.HasRole(store.RoleCustomerAdmin)
}

// ReviewDecision is a decision that counted, to record and act on.
type ReviewDecision struct {
	ReviewID string
	Item     string
	Decision string // store.DecisionKeep or store.DecisionRemove
	ByID     string
	At       time.Time
}

// ApplyReviewDecision records a decision (review.kept, review.removed)
// and removes what was removed, once; a retry resumes where it stopped.
func (a *Activities) ApplyReviewDecision(ctx context.Context, in ReviewDecision) error {
	if _, err := a.Store.DecideReviewItem(ctx, in.ReviewID, in.Item, in.Decision, in.ByID, in.At); err != nil {
		return err
	}
	r, it, err := a.reviewItem(ctx, in.ReviewID, in.Item)
	if err != nil || it.DecidedBy != in.ByID || it.Decision != in.Decision {
		return err // decided otherwise first: that decision stands
	}
	action := domain.ActionReviewKept
	if in.Decision == store.DecisionRemove {
		action = domain.ActionReviewRemoved
	}
	a.auditReview(ctx, action, in.ByID, r.OrgKind, r.OrgID, r.ID, "review/"+r.ID+"/"+it.ID, it.Kind+": "+it.Subject)
	if in.Decision != store.DecisionRemove || it.Outcome != "" {
		return nil
	}
	by, err := a.Store.UserByID(ctx, in.ByID)
	if err != nil {
		return err
	}
	return a.remove(ctx, r, it, in.ByID, "an administrator of "+a.orgName(ctx, r)+" ("+by.Email+") removed it in the access review")
}

// CloseReview settles a review at its deadline: each item nobody decided
// is missed (review.missed), then removed (on_missed: suspend) or only
// reported; the review is then its report.
func (a *Activities) CloseReview(ctx context.Context, reviewID string) error {
	r, err := a.Store.ReviewByID(ctx, reviewID)
	if err != nil {
		return err
	}
	for _, it := range r.Items {
		if it.Decision == "" {
			if _, err := a.Store.DecideReviewItem(ctx, r.ID, it.ID, store.DecisionMissed, ReviewSystem, time.Now()); err != nil {
				return err
			}
			it.Decision = store.DecisionMissed
		}
		if it.Decision != store.DecisionMissed || it.Outcome != "" {
			continue
		}
		a.auditReview(ctx, domain.ActionReviewMissed, ReviewSystem, r.OrgKind, r.OrgID, r.ID, "review/"+r.ID+"/"+it.ID,
			it.Kind+": "+it.Subject+" (on_missed: "+r.OnMissed+")")
		if r.OnMissed == store.OnMissedReport {
			if err := a.Store.SetReviewItemOutcome(ctx, r.ID, it.ID, "reported: nobody confirmed it by the deadline"); err != nil {
				return err
			}
			continue
		}
		why := "nobody confirmed it in " + a.orgName(ctx, r) + "'s access review by its deadline, " + r.DueAt.UTC().Format("2 Jan 2006 15:04 UTC")
		if err := a.remove(ctx, r, it, ReviewSystem, why); err != nil {
			return err
		}
	}
	if err := a.Store.FinishReview(ctx, r.ID, time.Now()); err != nil {
		return err
	}
	a.auditReview(ctx, domain.ActionReviewFinished, ReviewSystem, r.OrgKind, r.OrgID, r.ID, "review/"+r.ID+"/finished", "the review is now its report")
	return nil
}

// remove removes an item through the service, records the outcome and
// tells whom it removed why.
func (a *Activities) remove(ctx context.Context, r store.Review, it store.ReviewItem, by, why string) error {
	if a.Reviews == nil {
		return temporal.NewNonRetryableApplicationError("the worker has no review removals", "NotConfigured", nil)
	}
	outcome, refused, err := a.Reviews.RemoveReviewed(ctx, by, it, why)
	if err != nil {
		return err
	}
	if refused != nil {
		return a.Store.SetReviewItemOutcome(ctx, r.ID, it.ID, "not removed: "+refused.Error())
	}
	if err := a.tellRemoved(ctx, r, it, outcome, why); err != nil {
		return err
	}
	return a.Store.SetReviewItemOutcome(ctx, r.ID, it.ID, outcome)
}

// tellRemoved tells whom a removal affected: the suspended user, the
// partner's administrators for its permission, the partner user of the
// access (whose workflow also says the access ended).
func (a *Activities) tellRemoved(ctx context.Context, r store.Review, it store.ReviewItem, outcome, why string) error {
	var to []store.User
	switch it.Kind {
	case store.ItemUser:
		u, err := a.Store.UserByID(ctx, it.SubjectID)
		if err != nil {
			return err
		}
		to = []store.User{u}
	case store.ItemPermission:
		us, err := a.Store.PartnerUsers(ctx, it.SubjectID)
		if err != nil {
			return err
		}
		to = admins(us, store.RolePartnerAdmin)
	case store.ItemProfessionalAccess:
		as, err := a.Store.AssignmentByID(ctx, it.SubjectID)
		if err != nil {
			return err
		}
		u, err := a.Store.UserByID(ctx, as.PartnerUserID)
		if err != nil {
			return err
		}
		to = []store.User{u}
	}
	d := mail.Data{OrganizationName: a.orgName(ctx, r), Removed: capitalize(outcome), EndReason: why}
	for _, u := range to {
		if err := a.SendOrgEmail(ctx, domain.EmailReviewRemoved, u, d, "review/"+r.ID+"/"+it.ID+"/removed/"+u.ID); err != nil {
			return err
		}
	}
	return nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func admins(us []store.User, role string) []store.User {
	var out []store.User
	for _, u := range us {
		if u.Status == store.StatusActive && u.HasRole(role) {
			out = append(out, u)
		}
	}
	return out
}

// ReviewEmails asks for the emails of a review to its administrators:
// the request (round 0) or a reminder (round 1 at half time, 2 a day
// before the deadline).
type ReviewEmails struct {
	ReviewID string
	Kind     domain.EmailKind
	Round    int
}

// SendReviewEmails writes to each active administrator of the reviewed
// organization, once each; a reminder only while items wait.
func (a *Activities) SendReviewEmails(ctx context.Context, in ReviewEmails) error {
	r, err := a.Store.ReviewByID(ctx, in.ReviewID)
	if err != nil {
		return err
	}
	pending := 0
	for _, it := range r.Items {
		if it.Decision == "" {
			pending++
		}
	}
	if in.Kind == domain.EmailReviewReminder && pending == 0 {
		return nil
	}
	var us []store.User
	role := store.RolePartnerAdmin
	if r.OrgKind == store.KindPartner {
		us, err = a.Store.PartnerUsers(ctx, r.OrgID)
	} else {
		us, err = a.Store.CustomerUsers(ctx, r.OrgID)
		role = store.RoleCustomerAdmin
	}
	if err != nil {
		return err
	}
	missed := "What nobody confirms by then is suspended, withdrawn or ended."
	if r.OnMissed == store.OnMissedReport {
		missed = "What nobody confirms by then is only reported."
	}
	d := mail.Data{OrganizationName: a.orgName(ctx, r), LinkURL: a.link("reviews", r.ID), LinkExpiresAt: r.DueAt,
		Pending: pending, EndReason: missed}
	for _, u := range admins(us, role) {
		key := fmt.Sprintf("review/%s/%s/%d/%s", r.ID, in.Kind, in.Round, u.ID)
		if err := a.SendOrgEmail(ctx, in.Kind, u, d, key); err != nil {
			return err
		}
	}
	return nil
}

// SendOrgEmail renders and sends an email of no assignment to u, once
// under key; a provider's permanent refusal is recorded and not retried.
func (a *Activities) SendOrgEmail(ctx context.Context, kind domain.EmailKind, u store.User, d mail.Data, key string) error {
	if prev, err := a.Store.EmailByKey(ctx, key); err == nil && prev.Status != store.EmailSending {
		return nil // sent, kept or given up before
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	d.RecipientName, d.RecipientEmail = u.Name, u.Email
	body, err := mail.Render(kind, d)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("render email", "RenderFailed", err)
	}
	_, sendErr, err := outbox.Outbox{Store: a.Store, Sender: a.Mail}.Send(ctx, mail.Message{
		Kind: kind, From: a.Config.MailFrom, To: mail.Address{Name: u.Name, Email: u.Email},
		Subject: body.Subject, Text: body.Text, HTML: body.HTML, Key: key}, "")
	switch {
	case errors.Is(err, outbox.ErrBusy):
		return fmt.Errorf("%s email to %s is being sent by another attempt", kind, u.Email)
	case err != nil:
		return err
	case sendErr != nil && !mail.IsPermanent(sendErr):
		activity.GetLogger(ctx).Warn("email not sent; will retry", "kind", kind, "error", sendErr)
		return sendErr
	}
	return nil // a permanent refusal is recorded as failed
}

// reviewItem reads a review and one of its items.
func (a *Activities) reviewItem(ctx context.Context, reviewID, itemID string) (store.Review, store.ReviewItem, error) {
	r, err := a.Store.ReviewByID(ctx, reviewID)
	if err != nil {
		return r, store.ReviewItem{}, err
	}
	for _, it := range r.Items {
		if it.ID == itemID {
			return r, it, nil
		}
	}
	return r, store.ReviewItem{}, temporal.NewNonRetryableApplicationError("review "+reviewID+" has no item "+itemID, ErrTypeForged, nil)
}

func (a *Activities) orgName(ctx context.Context, r store.Review) string {
	if r.OrgKind == store.KindPartner {
		if p, err := a.Store.PartnerByID(ctx, r.OrgID); err == nil {
			return p.Name
		}
	} else if c, err := a.Store.CustomerByID(ctx, r.OrgID); err == nil {
		return c.Name
	}
	return r.OrgID
}

// auditReview writes a review's audit entry on its organization, once per key.
func (a *Activities) auditReview(ctx context.Context, action domain.Action, by, orgKind, orgID, reviewID, key, detail string) {
	e := store.AuditEntry{At: time.Now(), ActorID: by, Action: action, Outcome: store.OutcomeOK,
		Detail: "review " + reviewID + ": " + detail, EventKey: &key}
	if orgKind == store.KindPartner {
		e.PartnerID = orgID
	} else {
		e.CustomerID = orgID
	}
	if err := a.Store.Audit(ctx, e); err != nil {
		activity.GetLogger(ctx).Warn("review audit not written", "action", action, "error", err)
	}
}
