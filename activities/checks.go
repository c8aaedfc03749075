package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The checks the workflow asks of a local activity, which holds the key and
// reads the store: whether a start or a signal was vouched for and may count.

// SignalCheck asks whether a signal is one a server vouched for and, for a
// decision, whether it may still count (R1, R4). The workflow runs it as a
// local activity, so replay never needs the key.
type SignalCheck struct {
	AssignmentID string
	CustomerID   string
	PartnerID    string
	ByID         string
	Fields       []string // what the server signed, in order
	MAC          string
	Decision     bool
	// Roles, when set, are the customer roles the request's policy lets
	// decide (R10): the decider must still hold one.
	Roles []string `json:",omitempty"`
}

// SignalVerdict is the answer to a SignalCheck.
type SignalVerdict struct {
	OK     bool
	Forged bool
	Why    string
	// Target is the kind of the customer's access target, read by
	// CheckStart (empty in runs recorded before it).
	Target string `json:",omitempty"`
}

// CheckSignal verifies the server's MAC and, for a decision, that the decider
// is still an active approver of the customer and the permission stands.
func (a *Activities) CheckSignal(ctx context.Context, in SignalCheck) (SignalVerdict, error) {
	if in.MAC == "" || !a.Keys.VerifySignal(in.MAC, in.Fields...) {
		return SignalVerdict{Forged: true, Why: "the signal was not sent by a Partner Access server (no valid signature); it was ignored"}, nil
	}
	if !in.Decision {
		return SignalVerdict{OK: true}, nil
	}
	u, err := a.Store.UserByID(ctx, in.ByID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return SignalVerdict{}, err
	}
	if err != nil || !approves(u, in.CustomerID, in.Roles) {
		return SignalVerdict{Why: "the decider is no longer an active approver of this customer"}, nil
	}
	permitted, err := a.Store.PartnerPermitted(ctx, in.CustomerID, in.PartnerID)
	if err != nil {
		return SignalVerdict{}, err
	}
	if !permitted {
		return SignalVerdict{Why: "the customer has withdrawn the partner's permission"}, nil
	}
	return SignalVerdict{OK: true}, nil
}

// approves reports whether u is an active approver of the customer holding
// one of roles (any approver's role when roles is empty).
func approves(u store.User, customerID string, roles []string) bool {
	return u.CustomerID == customerID && u.IsApprover() && (len(roles) == 0 || slices.ContainsFunc(roles, u.HasRole))
}

// ApproversCheck asks which of the approvals counted so far still come
// from current approvers (R10: N distinct current approvers approve).
type ApproversCheck struct {
	CustomerID string
	Roles      []string
	IDs        []string
}

// CurrentApprovers answers an ApproversCheck: the IDs that still approve,
// in order.
func (a *Activities) CurrentApprovers(ctx context.Context, in ApproversCheck) ([]string, error) {
	var still []string
	for _, id := range in.IDs {
		u, err := a.Store.UserByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if approves(u, in.CustomerID, in.Roles) {
			still = append(still, id)
		}
	}
	return still, nil
}

// SignalRecord is a signal the workflow did not act on.
type SignalRecord struct {
	AssignmentID string
	Seq          int // the workflow's count of signals: the audit entry's key
	Signal       string
	ByID         string
	Forged       bool
	Detail       string
	At           time.Time
	Via          string `json:",omitempty"` // a decision's channel
}

// RecordSignal writes a signal the workflow ignored to the audit log, once.
func (a *Activities) RecordSignal(ctx context.Context, in SignalRecord) error {
	action := domain.SignalRefused(in.Signal)
	if in.Forged {
		action = domain.ActionSignalForged
	}
	key := fmt.Sprintf("signal/%s/%d", in.AssignmentID, in.Seq)
	return a.Store.Audit(ctx, store.AuditEntry{At: in.At, ActorID: in.ByID, Action: action, Outcome: store.OutcomeRefused,
		AssignmentID: in.AssignmentID, Detail: in.Detail, EventKey: &key, Via: in.Via})
}

// StartCheck asks whether a run was started by a Partner Access server, and
// whether what it claims still holds in the store: the site, its customer,
// partner and edition, the permission (R1), the partner user (R2) and the
// approvers (R4). The workflow runs it as a local activity first, so a
// start made straight on the Temporal frontend grants nothing.
type StartCheck struct {
	Fields []string // what the server signed, in order
	MAC    string
	// WorkflowID, RunID and VouchID name the start's record, which the
	// check consumes for this run (empty in runs recorded before it).
	WorkflowID    string `json:",omitempty"`
	RunID         string `json:",omitempty"`
	VouchID       string `json:",omitempty"`
	SiteID        string
	CustomerID    string
	PartnerID     string
	Edition       string
	PartnerUserID string
	ApproverIDs   []string
}

// CheckStart answers a StartCheck; OK false says why in Why.
// The start's record is consumed first: a replayed start, or a run reset
// to before this check, is refused whatever the store says of its claims.
func (a *Activities) CheckStart(ctx context.Context, in StartCheck) (SignalVerdict, error) {
	why, err := a.checkVouch(ctx, VouchCheck{Kind: VouchAssignment, WorkflowID: in.WorkflowID, RunID: in.RunID, VouchID: in.VouchID,
		Grants: AssignmentGrants(in.SiteID, in.PartnerUserID, in.Edition), Fields: in.Fields, MAC: in.MAC})
	if err != nil || why != "" {
		return SignalVerdict{Forged: true, Why: why}, err
	}
	f, err := a.Store.AssignFacts(ctx, in.SiteID, in.PartnerUserID)
	if errors.Is(err, store.ErrNotFound) {
		return SignalVerdict{Why: "the site does not exist"}, nil
	} else if err != nil {
		return SignalVerdict{}, err
	}
	u := f.User
	switch {
	case f.Site.CustomerID != in.CustomerID || f.Site.PartnerID != in.PartnerID || f.Site.Edition != in.Edition:
		return SignalVerdict{Why: "the site's customer, partner or edition is not what the start claims"}, nil
	case !f.Site.Permitted:
		return SignalVerdict{Why: "the customer has not given the partner permission (R1)"}, nil
	case !f.UserFound || u.Kind != store.KindPartner || u.PartnerID != in.PartnerID || u.Status != store.StatusActive || u.RegisteredAt == nil:
		return SignalVerdict{Why: "the partner user is not an active user of the partner (R2)"}, nil
	}
	if len(in.ApproverIDs) > 0 {
		users, err := a.Store.CustomerUsers(ctx, in.CustomerID)
		if err != nil {
			return SignalVerdict{}, err
		}
		approvers := map[string]bool{}
		for _, c := range users {
			approvers[c.ID] = c.IsApprover()
		}
		for _, id := range in.ApproverIDs {
			if !approvers[id] {
				return SignalVerdict{Why: "an approver of the start is not an active approver of the customer (R4)"}, nil
			}
		}
	} else if in.Edition == domain.EditionStandard {
		return SignalVerdict{Why: "a Standard start names no approver (R4)"}, nil
	}
	t, err := a.Store.CustomerTarget(ctx, in.CustomerID)
	if err != nil {
		return SignalVerdict{}, err
	}
	return SignalVerdict{OK: true, Target: t.Kind}, nil
}

// StartRefusal is a start CheckStart refused.
type StartRefusal struct {
	BeginInput
	Why   string
	RunID string `json:",omitempty"`
}

// RefuseStart records a refused start: the assignment as failed where its
// site and user exist (so the people concerned see it), and start.forged in
// the audit log. It grants nothing.
//
// A run reset to before its check, or a start replayed under the first
// run's ID, finds its assignment recorded: that record stays as it is, and
// only the refusal is added to its audit log.
func (a *Activities) RefuseStart(ctx context.Context, in StartRefusal) error {
	if prev, err := a.Store.AssignmentByID(ctx, in.AssignmentID); err == nil && prev.Seq > 0 {
		return a.auditForged(ctx, domain.ActionStartForged, prev.ID, in.Why, "forged/start/"+in.AssignmentID+"/"+in.RunID)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// A row the server wrote keeps its own role and reason; one a refused
	// start makes shows none of the start's text, which nobody vouched for.
	err := a.Store.CreateAssignment(ctx, store.Assignment{
		ID: in.AssignmentID, WorkflowID: in.WorkflowID, SiteID: in.SiteID, PartnerUserID: in.PartnerUserID,
		Role: "unknown", Reason: "a start Partner Access did not make (refused)", Edition: in.Edition, RequestedBy: in.RequestedBy,
		RequestedAt: in.RequestedAt,
	})
	if err == nil {
		return a.Store.ApplyTransition(ctx, store.Transition{AssignmentID: in.AssignmentID, Seq: 1, State: domain.StateFailed,
			At: in.RequestedAt, Actor: "system", Action: domain.ActionStartForged, Detail: in.Why, Failure: in.Why})
	}
	// No such site or user to hang a row on: the audit log keeps it.
	site, _ := a.Store.SiteByID(ctx, in.SiteID)
	return a.Store.Audit(ctx, store.AuditEntry{At: in.RequestedAt, ActorID: "system", Action: domain.ActionStartForged, Outcome: store.OutcomeRefused,
		SiteID: site.ID, CustomerID: site.CustomerID, PartnerID: site.PartnerID,
		Detail: fmt.Sprintf("%s (workflow %s, site %q, user %q)", in.Why, in.WorkflowID, in.SiteID, in.PartnerUserID)})
}
