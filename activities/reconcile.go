package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
)

// WorkflowLookup is the part of the Temporal client the reconciler needs.
type WorkflowLookup interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// ReconcileResult is what one reconciliation found.
type ReconcileResult struct {
	Checked int
	Revoked int
	// Drift repaired in customers' directories, and the directories that
	// could not be read (tried again at the next pass).
	DriftRemoved  int `json:",omitempty"`
	DriftRestored int `json:",omitempty"`
	// DriftSessionsEnded counts desktop sessions of accounts holding no
	// grant, logged off.
	DriftSessionsEnded int      `json:",omitempty"`
	DriftFailed        []string `json:",omitempty"`
}

// reconcileBatch bounds one pass; the next pass takes the rest.
const reconcileBatch = 5000

// Reconcile revokes every grant in force whose assignment workflow is
// closed, terminated or missing (proof of revocation): access never outlives
// the workflow that justifies it.
func (a *Activities) Reconcile(ctx context.Context) (ReconcileResult, error) {
	var res ReconcileResult
	if a.Workflows == nil {
		return res, errors.New("reconcile: no Temporal client")
	}
	now := time.Now()
	grants, err := a.Store.GrantsInForce(ctx, now, reconcileBatch)
	if err != nil {
		return res, err
	}
	for _, g := range grants {
		res.Checked++
		why, err := a.orphaned(ctx, g.WorkflowID, g.AssignmentID)
		if err != nil {
			return res, err
		}
		if why == "" {
			continue
		}
		if err := a.Revoke(ctx, RevokeInput{AssignmentID: g.AssignmentID, At: now}); err != nil {
			return res, err
		}
		reason := "revoked by the reconciler: " + why
		if err := a.Record(ctx, Transition{AssignmentID: g.AssignmentID, Seq: g.Seq + 1, State: domain.StateRevoked,
			At: now, Actor: "reconciler", Action: domain.ActionAccessReconciled, Detail: reason, EndReason: reason}); err != nil {
			return res, err
		}
		res.Revoked++
		if a.Reconciled != nil {
			a.Reconciled()
		}
	}
	return res, a.repairDrift(ctx, now, &res)
}

// repairDrift compares every access group in customers' directories with
// the grants in force, and repairs what drifted. A directory that cannot be
// read is noted and left for the next pass; the others go on.
func (a *Activities) repairDrift(ctx context.Context, now time.Time, res *ReconcileResult) error {
	for kind, d := range a.Directories {
		customers, err := a.Store.CustomersWithTarget(ctx, kind)
		if err != nil {
			return err
		}
		for _, id := range customers {
			t, err := a.Store.CustomerTarget(ctx, id)
			if err != nil {
				return err
			}
			repairs, err := d.Drift(ctx, t, id, now)
			if err != nil {
				res.DriftFailed = append(res.DriftFailed, fmt.Sprintf("%s: %v", id, err))
			}
			for _, r := range repairs {
				if a.Drifted != nil {
					a.Drifted(kind, r.Kind)
				}
				var action domain.Action
				var detail string
				switch r.Kind {
				case target.DriftRemoved:
					res.DriftRemoved++
					action, detail = domain.ActionDriftRemoved, fmt.Sprintf("%s, in %s's group without a grant in force, was removed from it", r.Login, r.SiteID)
				case target.DriftSessionEnded:
					res.DriftSessionsEnded++
					action, detail = domain.ActionDriftSessionEnded, fmt.Sprintf("%s holds no grant in force but had a desktop session open: logged off", r.Login)
				default:
					res.DriftRestored++
					action, detail = domain.ActionDriftRestored, fmt.Sprintf("%s has a grant in force on %s but was not in its group: added back", r.Login, r.SiteID)
				}
				if err := a.Store.Audit(ctx, store.AuditEntry{At: now, ActorID: "reconciler", Action: action,
					Outcome: store.OutcomeOK, AssignmentID: r.AssignmentID, CustomerID: id, SiteID: r.SiteID, Detail: detail}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// orphaned says why a grant's workflow no longer justifies it, or "".
func (a *Activities) orphaned(ctx context.Context, workflowID, runID string) (string, error) {
	d, err := a.Workflows.DescribeWorkflowExecution(ctx, workflowID, runID)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return "its workflow no longer exists", nil
	case err != nil:
		return "", fmt.Errorf("describe workflow %s: %w", workflowID, err)
	}
	if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return "its workflow is " + enumName(st), nil
	}
	return "", nil
}

func enumName(st enumspb.WorkflowExecutionStatus) string {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "cancelled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued as new"
	}
	return "closed"
}
