package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// versionChat marks the change that asks approvers in the chats their
// customer opted in to (SPEC §14: Teams, Slack), beside the email: once the
// approval emails are out, an activity per approver and channel delivers
// the request, and every change of the request (an approval that counted,
// the decision, its end) refreshes what was sent. It is read only by runs
// whose input names channels, so a customer with email alone runs the same
// commands as before it.
const versionChat = "chat-approvals"

// chatOptionsFor: chat deliveries and refreshes are ordinary activities,
// retried with backoff for as long as an email is (Timing.EmailRetryFor),
// and never waited for.
func chatOptionsFor(t Timing) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: t.EmailRetryFor,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
		},
	}
}

// askInChats delivers a request (the first, extension 0, or extension
// request n) to each approver in each channel; called after its emails
// were started, so a chat never comes before the email nor holds it up. A
// delivery that runs out of its window is recorded as failed.
func (w *assignment) askInChats(ctx workflow.Context, extension int, d activities.EmailData, duration time.Duration, approvals []ApprovalStatus) {
	if !w.chat {
		return
	}
	if w.chatAsked == nil {
		w.chatAsked = map[int]bool{}
	}
	w.chatAsked[extension] = true
	opts := workflow.WithActivityOptions(ctx, chatOptionsFor(w.in.Timing))
	names := make([]string, len(approvals))
	for i, p := range approvals {
		names[i] = p.Name
	}
	for _, p := range w.in.Approvers {
		for _, channel := range w.in.Chats {
			in := activities.ChatDelivery{AssignmentID: w.id, Extension: extension, CustomerID: w.in.CustomerID, Channel: channel,
				Approver: activities.Recipient(p), Data: d, Duration: duration, Approvals: names, Required: w.status.ApprovalsRequired}
			f := workflow.ExecuteActivity(opts, a.DeliverChat, in)
			workflow.Go(ctx, func(ctx workflow.Context) {
				if err := f.Get(ctx, nil); err != nil {
					w.giveUpChat(ctx, in, err)
				}
			})
		}
	}
}

// giveUpChat records a delivery that was not made within its window.
func (w *assignment) giveUpChat(ctx workflow.Context, in activities.ChatDelivery, err error) {
	reason := "not delivered within the retry window: " + err.Error()
	if temporal.IsCanceledError(err) {
		reason = "not delivered: the run was cancelled"
	}
	err = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.GiveUpChat, activities.ChatFailure{
		AssignmentID: in.AssignmentID, Extension: in.Extension, Channel: in.Channel, ApproverID: in.Approver.ID,
		At: workflow.Now(ctx), Reason: reason,
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("undelivered chat request not recorded", "channel", in.Channel, "error", err)
	}
}

// refreshChats brings a request's messages in every channel up to date;
// once the state is final the refreshes go with the emails still owed, so
// they never hold the run open.
func (w *assignment) refreshChats(ctx workflow.Context, extension int) {
	if !w.chatAsked[extension] {
		return
	}
	opts := workflow.WithActivityOptions(ctx, chatOptionsFor(w.in.Timing))
	for _, channel := range w.in.Chats {
		r := activities.ChatRefresh{AssignmentID: w.id, Extension: extension, Channel: channel}
		if w.closing {
			w.chatsOwed = append(w.chatsOwed, r)
			continue
		}
		workflow.ExecuteActivity(opts, a.RefreshChat, r)
	}
}

// settlesRequest reports whether a recorded transition settled the
// assignment's first request: its decision, or its end undecided.
func (w *assignment) settlesRequest(t activities.Transition) bool {
	return t.Decision != "" || !domain.OpenState(t.State) && w.status.Decision == ""
}

// refreshOwed starts the refreshes an ended assignment hands over, in the
// emails' run, and waits for them.
func refreshOwed(ctx workflow.Context, in EmailsInput) {
	opts := workflow.WithActivityOptions(ctx, chatOptionsFor(Timing{EmailRetryFor: in.RetryFor}))
	futures := make([]workflow.Future, len(in.Chats))
	for i, r := range in.Chats {
		futures[i] = workflow.ExecuteActivity(opts, a.RefreshChat, r)
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("chat messages not refreshed", "channel", in.Chats[i].Channel, "error", err)
		}
	}
}
