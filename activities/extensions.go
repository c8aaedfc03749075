package activities

import (
	"context"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// ExtensionInput records a request for more Standard access: the request
// with its approvers' one-time links, and its step in the audit log.
type ExtensionInput struct {
	Transition       Transition // the step: still active, action extension.requested
	N                int        // 1 for the first extension of the assignment
	Duration         time.Duration
	Reason           string
	RequestedBy      string // user ID
	ApprovalDeadline time.Time
	EndsBefore       time.Time
	ApproverIDs      []string
}

// RequestExtension records an extension request and the tokens of its
// approval links (bound to the request, see ApprovalSubject).
func (a *Activities) RequestExtension(ctx context.Context, in ExtensionInput) error {
	id := in.Transition.AssignmentID
	tokens := make([]store.ApprovalToken, len(in.ApproverIDs))
	for i, approver := range in.ApproverIDs {
		tokens[i] = store.ApprovalToken{
			Hash:       secret.HashToken(a.Keys.ApprovalToken(ApprovalSubject(id, in.N), approver)),
			ApproverID: approver, ExpiresAt: in.ApprovalDeadline,
		}
	}
	if err := a.Store.PutExtension(ctx, store.Extension{
		AssignmentID: id, N: in.N, Duration: in.Duration.String(), Reason: in.Reason, RequestedBy: in.RequestedBy,
		RequestedAt: in.Transition.At, ApprovalDeadline: in.ApprovalDeadline, EndsBefore: in.EndsBefore,
	}, tokens); err != nil {
		return err
	}
	return a.Store.ApplyTransition(ctx, in.Transition.row())
}

// ExtensionOutcome is how an extension request ended.
type ExtensionOutcome struct {
	Transition Transition // the step; AccessEndsAt is the new end when approved
	N          int
	State      string // domain.ExtensionApproved, ExtensionDenied or ExtensionLapsed
	DecidedBy  string // the approver's email; "" when it lapsed
}

// SettleExtension applies an extension's outcome: when approved, the grant
// lasts until the new end first (the gateway asks the grant), then the
// request and the audit log record the outcome and its links stop working.
func (a *Activities) SettleExtension(ctx context.Context, in ExtensionOutcome) error {
	t := in.Transition
	if in.State == domain.ExtensionApproved && t.AccessEndsAt != nil {
		if err := a.Store.ExtendGrant(ctx, t.AssignmentID, *t.AccessEndsAt); err != nil {
			return err
		}
	}
	var after *time.Time
	if in.State == domain.ExtensionApproved {
		after = t.AccessEndsAt
	}
	at := t.At
	if err := a.Store.SettleExtension(ctx, store.Extension{AssignmentID: t.AssignmentID, N: in.N, State: in.State,
		DecidedBy: in.DecidedBy, DecidedAt: &at, EndsAfter: after}); err != nil {
		return err
	}
	return a.Store.ApplyTransition(ctx, t.row())
}
