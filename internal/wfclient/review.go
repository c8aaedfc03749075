package wfclient

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/workflows"
)

// StartReview starts the workflow of a review the store holds, vouched
// for as every start (SPEC §7, §15).
func (c *Client) StartReview(ctx context.Context, reviewID string) error {
	id := activities.ReviewWorkflowID(reviewID)
	in := workflows.ReviewInput{ReviewID: reviewID}
	v, err := c.vouchStart(ctx, activities.VouchReview, id, activities.ReviewGrants(reviewID),
		func(v workflows.Vouch) []string { in.Vouch = v; return in.SignedFields() })
	if err != nil {
		return err
	}
	in.Vouch = v
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	_, err = c.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: c.taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            "access review " + reviewID,
	}, workflows.ReviewWorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // a start that timed out happened after all
	} else if err != nil {
		c.log.Error("start review workflow", "workflow_id", id, "error", err)
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// DecideReview sends an administrator's decision on one item of a review,
// signed, to its workflow.
func (c *Client) DecideReview(ctx context.Context, reviewID, item, decision string, by workflows.Person) error {
	sig := workflows.ReviewDecisionSignal{Item: item, Decision: decision, By: by, Vouch: c.vouch()}
	sig.Vouch.MAC = c.keys.SignSignal(sig.SignedFields(reviewID)...)
	return c.signal(ctx, Run{WorkflowID: activities.ReviewWorkflowID(reviewID)}, workflows.SignalReviewDecision, sig)
}
