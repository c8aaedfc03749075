package workflows

import (
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/domain"
)

// The assignment's emails: each is an activity the flow starts and does not
// wait for, unless it must (approval requests); once the state is final the
// emails still owed go to the AssignmentEmails workflow, so they never hold
// the assignment open.

// email is one email in flight; the workflow does not wait for it unless it
// must (approval requests). Runs before versionJustified settle them all
// before they end; later ones hand unsettled ones over.
type email struct {
	future  workflow.Future
	req     activities.EmailRequest
	settled bool
	err     error
}

// send starts one email and returns without waiting for it.
func (w *assignment) send(ctx workflow.Context, kind domain.EmailKind, to Person) *email {
	return w.sendData(ctx, kind, to, w.mailData())
}

func (w *assignment) sendData(ctx workflow.Context, kind domain.EmailKind, to Person, d activities.EmailData) *email {
	return w.sendRound(ctx, kind, to, d, 0)
}

// sendRound sends an email of a kind that a recipient may get more than
// once; round tells them apart (activities.EmailRequest.Round).
func (w *assignment) sendRound(ctx workflow.Context, kind domain.EmailKind, to Person, d activities.EmailData, round int) *email {
	req := activities.EmailRequest{AssignmentID: w.id, Kind: kind, To: activities.Recipient(to), Data: d, Round: round}
	e := &email{req: req}
	if w.closing {
		w.owed = append(w.owed, req)
		e.settled = true
		return e
	}
	e.future = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, emailOptionsFor(w.in.Timing)), a.SendEmail, req)
	w.emails = append(w.emails, e)
	return e
}

func (w *assignment) sendAll(ctx workflow.Context, kind domain.EmailKind, to []Person) {
	seen := map[string]bool{}
	for _, p := range to {
		if key := strings.ToLower(p.Email); !seen[key] {
			seen[key] = true
			w.send(ctx, kind, p)
		}
	}
}

// sendEach sends one email of a round to each address once.
func (w *assignment) sendEach(ctx workflow.Context, kind domain.EmailKind, to []Person, d activities.EmailData, round int) {
	seen := map[string]bool{}
	for _, p := range to {
		if key := strings.ToLower(p.Email); !seen[key] {
			seen[key] = true
			w.sendRound(ctx, kind, p, d, round)
		}
	}
}

// settle waits for an email and notes a refusal on the status.
func (w *assignment) settle(ctx workflow.Context, e *email) error {
	if !e.settled {
		e.settled = true
		if e.err = e.future.Get(ctx, nil); e.err != nil {
			w.status.FailedEmails = append(w.status.FailedEmails, fmt.Sprintf("%s to %s", e.req.Kind, e.req.To.Email))
			if w.justified {
				giveUp(ctx, e.req, e.err)
			}
		}
	}
	return e.err
}

func (w *assignment) settleEmails(ctx workflow.Context) {
	for _, e := range w.emails {
		w.settle(ctx, e)
	}
}

// tellDeliveryFailed tells the partner user which approvers the request
// could not reach.
func (w *assignment) tellDeliveryFailed(ctx workflow.Context, requests []*email) {
	var failed, reasons []string
	for _, r := range requests {
		if r.err != nil {
			failed = append(failed, r.req.To.Email)
			reasons = append(reasons, r.err.Error())
		}
	}
	d := w.mailData()
	d.FailedRecipient, d.FailureReason = strings.Join(failed, ", "), strings.Join(reasons, "; ")
	w.sendData(ctx, domain.EmailDeliveryFailed, w.in.PartnerUser, d)
}

func (w *assignment) mailData() activities.EmailData {
	d := activities.EmailData{
		PartnerName: w.in.PartnerName, PartnerUserName: w.in.PartnerUser.Name, PartnerUserEmail: w.in.PartnerUser.Email,
		CustomerName: w.in.CustomerName, SiteName: w.in.SiteName, Edition: editionName(w.in.Edition),
		Role: w.in.Role, Reason: w.in.Reason, Decision: w.status.Decision, DecidedBy: w.status.DecidedBy,
		EndedBy: w.status.EndedBy, EndReason: w.status.EndReason, ReadyAfter: w.in.Timing.ReadyWait,
	}
	if w.status.AccessEndsAt != nil {
		d.AccessEndsAt = *w.status.AccessEndsAt
	}
	if w.status.ApprovalDeadline != nil {
		d.ApprovalDeadline = *w.status.ApprovalDeadline
	}
	d.Approvals = progress(w.status.Approvals, w.approvalsNeeded())
	if s := w.startsAt(); s != nil {
		d.StartsAt = *s
	}
	return d
}

func editionName(edition string) string {
	if edition == domain.EditionProfessional {
		return "Professional"
	}
	return "Standard"
}

// handOverEmails settles the emails that are done and starts a workflow that delivers the emails still owed (the
// final ones, and any still retrying) and returns once it has started: the
// assignment closes with its state, and a new one for the same user and site
// can start at once.
func (w *assignment) handOverEmails(ctx workflow.Context) error {
	owed := w.owed
	for _, e := range w.emails {
		switch {
		case e.settled:
		case e.future.IsReady():
			w.settle(ctx, e) // records one that ran out of retries
		default:
			owed = append(owed, e.req)
		}
	}
	if len(owed) == 0 && len(w.chatsOwed) == 0 {
		return nil
	}
	in := EmailsInput{AssignmentID: w.id, Emails: owed, RetryFor: w.in.Timing.EmailRetryFor, Chats: w.chatsOwed}
	if workflow.GetVersion(ctx, versionVouchedEmails, workflow.DefaultVersion, 1) == 1 {
		if err := vouchEmails(ctx, &in); err != nil {
			return err
		}
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        EmailsWorkflowID(w.id),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON, // the emails outlive the assignment
		StaticSummary:     fmt.Sprintf("%d emails of assignment %s", len(owed), w.id),
	})
	child := workflow.ExecuteChildWorkflow(cctx, EmailsWorkflowName, in)
	return child.GetChildWorkflowExecution().Get(ctx, nil)
}

// Emails delivers an ended assignment's emails, each retried for at most
// RetryFor; one that is not delivered by then is recorded as failed.
//
// Since versionCancelIsUnassign a cancel request stops the emails not yet
// delivered: each is recorded as failed, and the run closes as Canceled.
// Since versionVouchedEmails it first checks that its assignment vouched
// for it: a run started on the frontend sends nothing.
func Emails(ctx workflow.Context, in EmailsInput) error {
	if workflow.GetVersion(ctx, versionVouchedEmails, workflow.DefaultVersion, 1) == 1 {
		if err := checkVouched(ctx, activities.VouchEmails, activities.EmailsGrants(in.AssignmentID), in.AssignmentID,
			in.SignedFields(workflow.GetInfo(ctx).WorkflowExecution.ID), in.Vouch); err != nil {
			return err
		}
	}
	opts := workflow.WithActivityOptions(ctx, emailOptionsFor(Timing{EmailRetryFor: in.RetryFor}))
	futures := make([]workflow.Future, len(in.Emails))
	for i, r := range in.Emails {
		futures[i] = workflow.ExecuteActivity(opts, a.SendEmail, r)
	}
	record := ctx // where failures are recorded: out of a cancel's reach since versionCancelIsUnassign
	if workflow.GetVersion(ctx, versionCancelIsUnassign, workflow.DefaultVersion, 1) == 1 {
		record, _ = workflow.NewDisconnectedContext(ctx)
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			giveUp(record, in.Emails[i], err)
		}
	}
	if len(in.Chats) > 0 { // since versionChat: the ended request's messages brought up to date
		refreshOwed(ctx, in)
	}
	if record != ctx && ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// giveUp records an email that ran out of retries. One the provider refused
// is already recorded by the activity.
func giveUp(ctx workflow.Context, r activities.EmailRequest, err error) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == activities.ErrTypeEmailRejected {
		return
	}
	reason := "not delivered within the retry window: " + err.Error()
	if temporal.IsCanceledError(err) {
		reason = "not delivered: a cancel request in Temporal stopped its delivery"
	}
	err = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, storeOptions), a.GiveUpEmail, activities.EmailFailure{
		AssignmentID: r.AssignmentID, Kind: r.Kind, To: r.To.Email, At: workflow.Now(ctx), Reason: reason,
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("undelivered email not recorded", "kind", r.Kind, "error", err)
	}
}
