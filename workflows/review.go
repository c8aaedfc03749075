package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// Names of the access reviews' workflows (SPEC §15): one per review, and
// the pass a Temporal Schedule starts (REVIEW_PASS_EVERY) that starts the
// reviews that are due and ends the permissions whose end came.
const (
	ReviewWorkflowName     = "AccessReview"
	ReviewPassWorkflowName = "ReviewPass"
	ReviewScheduleID       = activities.ReviewScheduleID
	// SignalReviewDecision carries an administrator's decision on one item.
	SignalReviewDecision = "review-decision"
	// QueryReview answers what the review waits for.
	QueryReview = "review"
)

// Tags in activities.VouchFields of the reviews' kinds.
const tagReviewPass = "review-pass"

// ReviewInput starts a review's workflow: the review (whose items are the
// store's, never the input's) and the server's vouch for the start.
type ReviewInput struct {
	ReviewID string
	Vouch    Vouch
}

// SignedFields are what the MAC of a review's start covers.
func (in ReviewInput) SignedFields() []string {
	return activities.ReviewVouchFields(in.ReviewID, in.Vouch.ID, in.Vouch.SentAt)
}

// ReviewPassInput is what the reviews' Schedule starts each pass with.
type ReviewPassInput struct {
	Vouch Vouch `json:",omitzero"`
}

// SignedFields are what the MAC of a review pass covers: its Schedule.
func (in ReviewPassInput) SignedFields() []string {
	return activities.VouchFields(ReviewScheduleID, tagReviewPass, in.Vouch.ID, in.Vouch.SentAt)
}

// ReviewDecisionSignal is an administrator's decision on an item, signed
// by the server that took it.
type ReviewDecisionSignal struct {
	Item     string
	Decision string // "keep" or "remove"
	By       Person
	Vouch    Vouch
}

// ReviewDecisionFields are what the MAC of a decision covers.
func ReviewDecisionFields(reviewID, item, decision, byID, vouchID string, sentAt time.Time) []string {
	return []string{SignalReviewDecision, reviewID, item, decision, byID, vouchID, sentAt.UTC().Format(time.RFC3339Nano)}
}

// SignedFields are what the MAC of the decision covers.
func (s ReviewDecisionSignal) SignedFields(reviewID string) []string {
	return ReviewDecisionFields(reviewID, s.Item, s.Decision, s.By.ID, s.Vouch.ID, s.Vouch.SentAt)
}

// ReviewStatus is what the query answers.
type ReviewStatus struct {
	Pending  int
	DueAt    time.Time
	Refused  []string // why decisions did not count
	Finished bool
}

// reviewOptions run a review's steps: store writes and removals through
// the service, retried until they happen.
var reviewOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Minute,
	},
}

// ReviewReminderBeforeDue is the second reminder's distance to the deadline.
const ReviewReminderBeforeDue = 24 * time.Hour

// Review runs one access review: it asks the organization's
// administrators, reminds them at half time and a day before the
// deadline, applies each decision that counts, and at the deadline (or
// once everything is decided) settles what nobody confirmed.
func Review(ctx workflow.Context, in ReviewInput) (ReviewStatus, error) {
	var st ReviewStatus
	if err := checkVouched(ctx, activities.VouchReview, activities.ReviewGrants(in.ReviewID), "", in.SignedFields(), in.Vouch); err != nil {
		return st, err
	}
	local := workflow.WithLocalActivityOptions(ctx, storeOptions)
	acts := workflow.WithActivityOptions(ctx, reviewOptions)
	var facts activities.ReviewFacts
	if err := workflow.ExecuteLocalActivity(local, a.ReviewState, in.ReviewID).Get(ctx, &facts); err != nil {
		return st, err
	}
	st.DueAt, st.Pending, st.Finished = facts.DueAt, facts.Pending, facts.Finished
	if err := workflow.SetQueryHandler(ctx, QueryReview, func() (ReviewStatus, error) { return st, nil }); err != nil {
		return st, err
	}
	if facts.Finished {
		return st, nil
	}
	emails := workflow.WithActivityOptions(ctx, reviewEmailOptions)
	if err := workflow.ExecuteActivity(emails, a.SendReviewEmails, activities.ReviewEmails{ReviewID: in.ReviewID,
		Kind: domain.EmailReviewRequest}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("review request emails not all sent", "error", err)
	}
	reminders := reviewReminders(facts)
	decisions := workflow.GetSignalChannel(ctx, SignalReviewDecision)
	seen := map[string]bool{}
	for st.Pending > 0 {
		next, round := facts.DueAt, 0
		if len(reminders) > 0 {
			next, round = reminders[0], len(reviewReminders(facts))-len(reminders)+1
		}
		timers, cancel := workflow.WithCancel(ctx)
		fired := false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(timers, max(next.Sub(workflow.Now(ctx)), 0)), func(workflow.Future) { fired = true })
		sel.AddReceive(decisions, func(c workflow.ReceiveChannel, _ bool) {
			var s ReviewDecisionSignal
			c.Receive(ctx, &s)
			if why := reviewDecide(ctx, in.ReviewID, s, seen); why != "" {
				st.Refused = append(st.Refused, why)
			}
		})
		sel.Select(ctx)
		cancel()
		switch {
		case fired && round == 0: // the deadline
			st.Pending = 0
			continue
		case fired:
			reminders = reminders[1:]
			if err := workflow.ExecuteActivity(emails, a.SendReviewEmails, activities.ReviewEmails{ReviewID: in.ReviewID,
				Kind: domain.EmailReviewReminder, Round: round}).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Warn("review reminders not all sent", "error", err)
			}
		}
		if err := workflow.ExecuteLocalActivity(local, a.ReviewState, in.ReviewID).Get(ctx, &facts); err != nil {
			return st, err
		}
		st.Pending = facts.Pending
	}
	if err := workflow.ExecuteActivity(acts, a.CloseReview, in.ReviewID).Get(ctx, nil); err != nil {
		return st, err
	}
	st.Finished = true
	return st, nil
}

// reviewEmailOptions bound a review email's retries to a day.
var reviewEmailOptions = func() workflow.ActivityOptions {
	o := emailOptions
	o.ScheduleToCloseTimeout = 24 * time.Hour
	return o
}()

// reviewReminders are when to remind: at half time, and a day before the
// deadline when that comes later.
func reviewReminders(f activities.ReviewFacts) []time.Time {
	half := f.StartedAt.Add(f.DueAt.Sub(f.StartedAt) / 2)
	out := []time.Time{half}
	if dayBefore := f.DueAt.Add(-ReviewReminderBeforeDue); dayBefore.After(half) {
		out = append(out, dayBefore)
	}
	return out
}

// reviewDecide applies a decision that counts: vouched for by a server,
// fresh, seen once, from an active administrator of the organization, on
// an item that waits. It returns why one did not count.
func reviewDecide(ctx workflow.Context, reviewID string, s ReviewDecisionSignal, seen map[string]bool) string {
	switch {
	case seen[s.Vouch.ID]:
		return "a decision received before: its replay changes nothing"
	case workflow.Now(ctx).Sub(s.Vouch.SentAt) > maxSignalAge || s.Vouch.SentAt.Sub(workflow.Now(ctx)) > maxSignalAge:
		return "a decision sent more than " + maxSignalAge.String() + " before it arrived was ignored"
	}
	var v activities.SignalVerdict
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.CheckReviewDecision,
		activities.ReviewDecisionCheck{ReviewID: reviewID, Item: s.Item, ByID: s.By.ID, Fields: s.SignedFields(reviewID), MAC: s.Vouch.MAC}).Get(ctx, &v)
	if err != nil {
		return "the decision could not be checked: " + err.Error()
	}
	if !v.Forged {
		seen[s.Vouch.ID] = true
	}
	if !v.OK {
		return v.Why
	}
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, reviewOptions), a.ApplyReviewDecision, activities.ReviewDecision{
		ReviewID: reviewID, Item: s.Item, Decision: s.Decision, ByID: s.By.ID, At: workflow.Now(ctx)}).Get(ctx, nil)
	if err != nil {
		return "the decision could not be applied: " + err.Error()
	}
	return ""
}

// reviewScheduledBy is what a review pass may do: a pass of the Schedule
// that started it ("" when none did).
func reviewScheduledBy(ctx workflow.Context) string {
	id, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(attrScheduledBy)
	return activities.ReviewPassGrants(id)
}

// ReviewPassResult is what a pass did.
type ReviewPassResult struct {
	Permissions activities.PermissionPassResult
	Started     []string // the reviews it started
}

// ReviewPass ends the permissions whose end came, reminds those that end
// soon, and starts each review that is due, as a workflow of its own that
// outlives the pass. A pass its Schedule did not vouch for does nothing.
func ReviewPass(ctx workflow.Context, in ReviewPassInput) (ReviewPassResult, error) {
	var res ReviewPassResult
	if err := checkVouched(ctx, activities.VouchReviewPass, reviewScheduledBy(ctx), "", in.SignedFields(), in.Vouch); err != nil {
		return res, err
	}
	acts := workflow.WithActivityOptions(ctx, reviewOptions)
	now := workflow.Now(ctx)
	if err := workflow.ExecuteActivity(acts, a.EndPermissions, now).Get(ctx, &res.Permissions); err != nil {
		return res, err
	}
	var planned []activities.PlannedReview
	if err := workflow.ExecuteActivity(acts, a.PlanReviews, now).Get(ctx, &planned); err != nil {
		return res, err
	}
	for _, p := range planned {
		child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            activities.ReviewWorkflowID(p.ReviewID),
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		})
		f := workflow.ExecuteChildWorkflow(child, ReviewWorkflowName, ReviewInput{ReviewID: p.ReviewID,
			Vouch: Vouch{ID: p.Vouch.ID, SentAt: p.Vouch.SentAt, MAC: p.Vouch.MAC}})
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		if errors.As(err, &started) {
			continue // a pass before this one started it
		} else if err != nil {
			return res, err
		}
		res.Started = append(res.Started, p.ReviewID)
	}
	return res, nil
}
