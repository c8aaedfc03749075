package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// Whoever reaches the Temporal frontend can reset a run to an earlier
// event, which runs its activities again with the inputs recorded then.
// So each activity that changes a directory, grants, mints a link or sends
// a credential re-reads from the store what justifies it, and refuses what
// the store does not justify (SPEC §7).

// claim is what an input says of its assignment; empty fields are not
// claimed.
type claim struct {
	assignmentID, siteID, userID, customerID, partnerID string
}

// openAssignment is the assignment the claim names, when the store holds it
// as claimed and still open. Otherwise why says what the store says, and
// ended that it holds it as claimed but ended.
func (a *Activities) openAssignment(ctx context.Context, c claim) (as store.Assignment, why string, ended bool, err error) {
	as, err = a.Store.AssignmentByID(ctx, c.assignmentID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return as, "the store holds no assignment " + c.assignmentID, false, nil
	case err != nil:
		return as, "", false, err
	case !matches(as.SiteID, c.siteID) || !matches(as.PartnerUserID, c.userID) ||
		!matches(as.CustomerID, c.customerID) || !matches(as.PartnerID, c.partnerID):
		return as, fmt.Sprintf("assignment %s is of user %s at site %s (customer %s), not what the input claims",
			as.ID, as.PartnerUserID, as.SiteID, as.CustomerID), false, nil
	case !as.Open():
		return as, fmt.Sprintf("assignment %s has already ended (%s): nothing is granted again", as.ID, as.State), true, nil
	}
	return as, "", false, nil
}

func matches(held, claimed string) bool { return claimed == "" || held == claimed }

// refuse audits an activity's refusal once per key and returns the
// non-retryable error that ends the step.
func (a *Activities) refuse(ctx context.Context, action domain.Action, assignmentID, why, key string) error {
	if err := a.auditForged(ctx, action, assignmentID, why, key); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError("refused: "+why, ErrTypeForged, nil)
}

// justifyGrant refuses to grant, provision or issue a credential for an
// assignment the store holds as ended, or as another's.
func (a *Activities) justifyGrant(ctx context.Context, step string, c claim) error {
	_, why, _, err := a.openAssignment(ctx, c)
	if err != nil || why == "" {
		return err
	}
	return a.refuse(ctx, domain.ActionAccessRefused, c.assignmentID, step+" refused: "+why, "refused/"+step+"/"+c.assignmentID)
}

// justifyReissue is the assignment a reissue may reset the password of:
// the store's, open, as claimed, with its own grant in force at now.
func (a *Activities) justifyReissue(ctx context.Context, in target.Input, now time.Time) (store.Assignment, error) {
	as, why, ended, err := a.openAssignment(ctx, claim{in.AssignmentID, in.SiteID, in.UserID, in.CustomerID, in.PartnerID})
	if err != nil {
		return as, err
	}
	if why == "" {
		g, err := a.Store.GrantByAssignment(ctx, as.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			why = "assignment " + as.ID + " has no grant"
		case err != nil:
			return as, err
		default:
			ended = g.RevokedAt != nil || g.ExpiresAt != nil && !g.ExpiresAt.After(now)
		}
	}
	switch {
	case ended:
		return as, temporal.NewNonRetryableApplicationError("access is not in force", ErrTypeNoAccess, nil)
	case why != "":
		return as, a.refuse(ctx, domain.ActionReissueForged, in.AssignmentID, "a new password refused: "+why,
			"reissue.forged/"+in.AssignmentID+"/"+now.UTC().Format(time.RFC3339Nano))
	}
	return as, nil
}

// linkRecipient is who an email with an approval link may go to: a current
// approver of that request (the store holds their token, unused and
// unexpired, and they still approve for the assignment's customer), at the
// address the store holds. sendNone: the request is no longer open to them,
// so nothing is sent. A request the store does not justify is refused.
func (a *Activities) linkRecipient(ctx context.Context, r EmailRequest, subject string, extension int) (to Recipient, sendNone bool, err error) {
	forged := func(why string) (Recipient, bool, error) {
		return Recipient{}, false, a.refuse(ctx, domain.ActionEmailForged, r.AssignmentID,
			fmt.Sprintf("%s email refused: %s", r.Kind, why), "email.forged/"+EmailKey(r.AssignmentID, r.Kind, r.To.Email, r.Round))
	}
	tok, err := a.Store.ApprovalTokenByHash(ctx, secret.HashToken(a.Keys.ApprovalToken(subject, r.To.ID)))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return forged("no approval request of assignment " + r.AssignmentID + " names recipient " + r.To.ID)
	case err != nil:
		return to, false, err
	case tok.AssignmentID != r.AssignmentID || tok.ApproverID != r.To.ID || tok.Extension != extension:
		return forged("the approval link is not this request's")
	case tok.VoidedAt != nil || !tok.ExpiresAt.After(time.Now()):
		return to, true, nil
	}
	as, err := a.Store.AssignmentByID(ctx, r.AssignmentID)
	if err != nil {
		return to, false, err
	}
	u, err := a.Store.UserByID(ctx, r.To.ID)
	if err != nil {
		return to, false, err
	}
	if !strings.EqualFold(u.Email, r.To.Email) {
		return forged(fmt.Sprintf("the address %q is not the approver's", r.To.Email))
	}
	if !approves(u, as.CustomerID, nil) || !as.Open() || extension == 0 && as.State != domain.StatePendingApproval {
		return to, true, nil
	}
	return Recipient{ID: u.ID, Name: u.Name, Email: u.Email}, false, nil
}
