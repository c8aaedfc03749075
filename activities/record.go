package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The record: the assignment's projection and audit log in the store, and
// the access grant a gateway reads.

// BeginInput records a new assignment.
type BeginInput struct {
	AssignmentID     string
	WorkflowID       string
	SiteID           string
	PartnerUserID    string
	Role             string
	Reason           string
	Edition          string
	RequestedBy      string
	RequestedAt      time.Time
	State            string // the state after requested: pending_approval or provisioning
	ApprovalDeadline *time.Time
	ApproverIDs      []string
	Detail           string
	// What the customer's policy asks (R10): approvals when more than one,
	// and when scheduled access starts.
	ApprovalsRequired int        `json:",omitempty"`
	StartsAt          *time.Time `json:",omitempty"`
}

// Begin records the assignment in the store (the server may have done so
// already), its first transition, and the approval tokens of each approver.
func (a *Activities) Begin(ctx context.Context, in BeginInput) error {
	if err := a.Store.CreateAssignment(ctx, store.Assignment{
		ID: in.AssignmentID, WorkflowID: in.WorkflowID, SiteID: in.SiteID, PartnerUserID: in.PartnerUserID,
		Role: in.Role, Reason: in.Reason, Edition: in.Edition, RequestedBy: in.RequestedBy, RequestedAt: in.RequestedAt,
	}); err != nil {
		return err
	}
	if len(in.ApproverIDs) > 0 {
		tokens := make([]store.ApprovalToken, len(in.ApproverIDs))
		for i, id := range in.ApproverIDs {
			tokens[i] = store.ApprovalToken{
				Hash:         secret.HashToken(a.Keys.ApprovalToken(in.AssignmentID, id)),
				AssignmentID: in.AssignmentID, ApproverID: id, ExpiresAt: *in.ApprovalDeadline,
			}
		}
		if err := a.Store.PutApprovalTokens(ctx, tokens); err != nil {
			return err
		}
	}
	return a.Store.ApplyTransition(ctx, store.Transition{
		AssignmentID: in.AssignmentID, Seq: 1, State: in.State, At: in.RequestedAt,
		Actor: in.RequestedBy, Action: domain.ActionAssignmentRequested, Detail: in.Detail,
		ApprovalDeadline: in.ApprovalDeadline, ApprovalsRequired: in.ApprovalsRequired, StartsAt: in.StartsAt,
	})
}

// Record applies a transition to the projection and the audit log. Once a
// request is decided or the assignment has ended, its approval links stop working.
func (a *Activities) Record(ctx context.Context, t Transition) error {
	if err := a.Store.ApplyTransition(ctx, t.row()); err != nil {
		return err
	}
	if t.Decision != "" || !domain.OpenState(t.State) {
		return a.Store.VoidApprovalTokens(ctx, t.AssignmentID, t.At)
	}
	return nil
}

// GrantInput activates access.
type GrantInput struct {
	AssignmentID string
	SiteID       string
	UserID       string
	At           time.Time
	Until        *time.Time // nil: until unassigned (Professional)
}

// Activate gives the partner user access to the site.
// It refuses an assignment the store holds as ended or as another's.
func (a *Activities) Activate(ctx context.Context, in GrantInput) error {
	if err := a.justifyGrant(ctx, "activation", claim{assignmentID: in.AssignmentID, siteID: in.SiteID, userID: in.UserID}); err != nil {
		return err
	}
	return a.Provisioner.Activate(ctx, store.Grant{
		AssignmentID: in.AssignmentID, SiteID: in.SiteID, UserID: in.UserID, GrantedAt: in.At, ExpiresAt: in.Until,
	})
}

// RevokeInput ends access.
type RevokeInput struct {
	AssignmentID string
	At           time.Time
}

// Revoke removes access and then checks that it is really gone (proof of
// revocation); if not, it fails so that Temporal retries it.
func (a *Activities) Revoke(ctx context.Context, in RevokeInput) error {
	if err := a.Provisioner.Revoke(ctx, in.AssignmentID, in.At); err != nil {
		return err
	}
	still, err := a.Provisioner.HasAccess(ctx, in.AssignmentID, in.At)
	if err != nil {
		return err
	}
	if still {
		return fmt.Errorf("access of assignment %s still in force after revocation", in.AssignmentID)
	}
	return nil
}

// CredentialInput issues a Professional temporary credential.
type CredentialInput struct {
	AssignmentID string
	Login        string
	At           time.Time
}

// IssueCredential creates the temporary directory password (once).
// It refuses an assignment the store holds as ended.
func (a *Activities) IssueCredential(ctx context.Context, in CredentialInput) error {
	if err := a.justifyGrant(ctx, "credential", claim{assignmentID: in.AssignmentID}); err != nil {
		return err
	}
	return a.Provisioner.IssueCredential(ctx, in.AssignmentID, in.Login, in.At)
}

// Transition is one recorded step of the workflow. It is the workflow's
// payload, mapped to the store's row here, so a change to the schema never
// changes what is in a workflow's history.
type Transition struct {
	AssignmentID     string
	Seq              int
	State            string
	At               time.Time
	Actor            string
	Action           domain.Action
	Detail           string
	ApprovalDeadline *time.Time
	DecidedBy        string
	Decision         string
	// DecisionSignal is the voucher ID of the approval signal that decided
	// (empty in runs recorded before it existed).
	DecisionSignal string `json:",omitempty"`
	ActivatedAt    *time.Time
	AccessEndsAt   *time.Time
	EndedBy        string
	EndReason      string
	Failure        string
	// Via is the channel the decision came through (chat.Via…; "" in runs
	// recorded before channels were told apart).
	Via string `json:",omitempty"`
}

func (t Transition) row() store.Transition {
	return store.Transition{
		AssignmentID: t.AssignmentID, Seq: t.Seq, State: t.State, At: t.At, Actor: t.Actor, Action: t.Action,
		Detail: t.Detail, ApprovalDeadline: t.ApprovalDeadline, DecidedBy: t.DecidedBy, Decision: t.Decision,
		DecisionSignal: t.DecisionSignal, ActivatedAt: t.ActivatedAt, AccessEndsAt: t.AccessEndsAt,
		EndedBy: t.EndedBy, EndReason: t.EndReason, Failure: t.Failure, Via: t.Via,
	}
}
