// Package wfclient is the one way the application reaches the assignment
// workflows on Temporal: it starts them, sends the three vouched signals,
// asks the two queries and describes a run. Every call has one timeout and
// every Temporal error is mapped to one of this package's errors, so callers
// never see a gRPC status. The Inspector, partneraccess inspect's reads of
// one run, is for an operator: it passes Temporal's errors on as they are.
package wfclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/workflows"
)

// Timeout bounds each call to Temporal, so a down cluster answers quickly
// instead of hanging the request that waits on it.
const Timeout = 5 * time.Second

// DisplayTimeout bounds what only adds to a page (how long access would
// last, whether Temporal still keeps the history): a page without it is
// better than a page that waits.
const DisplayTimeout = 2 * time.Second

var (
	// ErrUnavailable: Temporal did not answer in time or refused the call.
	// A start that timed out may still have happened; repeating it finds it.
	ErrUnavailable = errors.New("the workflow service (Temporal) did not answer")
	// ErrEnded: the run is closed or no longer kept, so it takes no signal
	// and answers no query.
	ErrEnded = errors.New("the assignment's workflow has ended")
)

// AlreadyStartedError: a run with the workflow ID is open (R8); RunID is it.
type AlreadyStartedError struct{ RunID string }

func (e *AlreadyStartedError) Error() string {
	return "an assignment workflow is already open (run " + e.RunID + ")"
}

// Run names one assignment's workflow run: the assignment's ID is its run ID.
type Run struct {
	WorkflowID string
	RunID      string
}

// Client is the typed workflow client.
type Client struct {
	tc        client.Client
	taskQueue string
	keys      *secret.Keys
	vouches   activities.Vouches
	log       *slog.Logger
	now       func() time.Time
}

// New returns a client that starts workflows on taskQueue, signs its starts
// and signals with keys, and records each start in vouches before making it.
func New(tc client.Client, taskQueue string, keys *secret.Keys, vouches activities.Vouches, log *slog.Logger) *Client {
	return &Client{tc: tc, taskQueue: taskQueue, keys: keys, vouches: vouches, log: log, now: time.Now}
}

// ErrNotRecorded: the start could not be recorded in the store, so it was
// not made (a run without its record grants nothing).
var ErrNotRecorded = errors.New("the start could not be recorded")

// vouchStart vouches for a start of kind under workflowID: the voucher is
// signed over fields and recorded before the caller starts the run, which
// consumes the record (SPEC §7: a vouch is used once).
func (c *Client) vouchStart(ctx context.Context, kind, workflowID, grants string, fields func(workflows.Vouch) []string) (workflows.Vouch, error) {
	v, err := activities.NewVouch(ctx, c.keys, c.vouches, kind, workflowID, grants, c.now(), func(id string, at time.Time) []string {
		return fields(workflows.Vouch{ID: id, SentAt: at})
	})
	if err != nil {
		c.log.Error("record a start", "kind", kind, "workflow_id", workflowID, "error", err)
		return workflows.Vouch{}, fmt.Errorf("%w: %v", ErrNotRecorded, err)
	}
	return workflows.Vouch{ID: v.ID, SentAt: v.SentAt, MAC: v.MAC}, nil
}

// Start starts an assignment's workflow, vouching for its input as for a
// signal. A run already open under the same ID is an *AlreadyStartedError.
func (c *Client) Start(ctx context.Context, in workflows.Input, summary, details string) (Run, error) {
	id := workflows.WorkflowID(in.SiteID, in.PartnerUser.ID)
	v, err := c.vouchStart(ctx, activities.VouchAssignment, id, activities.AssignmentGrants(in.SiteID, in.PartnerUser.ID, in.Edition),
		func(v workflows.Vouch) []string { in.Vouch = v; return in.SignedFields(id) })
	if err != nil {
		return Run{}, err
	}
	in.Vouch = v
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	run, err := c.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                c.taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// With a worker on this client (one process), the first workflow task
		// comes back with the start, saving a round trip; otherwise ignored.
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrSite.ValueSet(in.SiteID), workflows.AttrCustomer.ValueSet(in.CustomerID),
			workflows.AttrPartnerUser.ValueSet(in.PartnerUser.ID), workflows.AttrEdition.ValueSet(in.Edition),
			workflows.AttrStatus.ValueSet(workflows.FirstState(in.Edition))),
		StaticSummary: summary,
		StaticDetails: details,
		// IDs only, for whoever inspects the run (encrypted as every payload).
		Memo: map[string]any{"site": in.SiteID, "customer": in.CustomerID, "partner": in.PartnerID,
			"partner_user": in.PartnerUser.ID, "edition": in.Edition, "requested_by": in.RequestedBy.ID},
	}, workflows.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return Run{WorkflowID: id, RunID: started.RunId}, &AlreadyStartedError{RunID: started.RunId}
	case err != nil:
		c.log.Error("start assignment workflow", "workflow_id", id, "error", err)
		return Run{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return Run{WorkflowID: id, RunID: run.GetRunID()}, nil
}

// vouch is the server's voucher for a new signal; the caller signs it.
func (c *Client) vouch() workflows.Vouch {
	return workflows.Vouch{ID: secret.NewToken(), SentAt: c.now()}
}

// Decide sends an approver's decision on the first request (extension 0) or
// on extension request n. It returns the signal's ID, whose outcome
// SignalOutcome answers.
func (c *Client) Decide(ctx context.Context, r Run, by workflows.Person, extension int, approve bool, via string) (string, error) {
	sig := workflows.ApprovalSignal{Approve: approve, By: by, Extension: extension, Via: via, Vouch: c.vouch()}
	sig.MAC = c.keys.SignSignal(sig.SignedFields(r.RunID)...)
	return sig.ID, c.signal(ctx, r, workflows.SignalApproval, sig)
}

// Unassign asks the workflow to end the assignment (R7); cause says why
// when no person unassigned it (workflows.Cause…).
func (c *Client) Unassign(ctx context.Context, r Run, by workflows.Person, reason, cause string) error {
	sig := workflows.UnassignSignal{By: by, Reason: reason, Cause: cause, Vouch: c.vouch()}
	sig.MAC = c.keys.SignSignal(sig.SignedFields(r.RunID)...)
	return c.signal(ctx, r, workflows.SignalUnassign, sig)
}

// RequestExtension asks for d more Standard access. It returns the signal's ID.
func (c *Client) RequestExtension(ctx context.Context, r Run, by workflows.Person, d time.Duration, reason string) (string, error) {
	sig := workflows.ExtensionSignal{Duration: d, Reason: reason, By: by, Vouch: c.vouch()}
	sig.MAC = c.keys.SignSignal(sig.SignedFields(r.RunID)...)
	return sig.ID, c.signal(ctx, r, workflows.SignalExtension, sig)
}

func (c *Client) signal(ctx context.Context, r Run, name string, arg any) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	err := c.tc.SignalWorkflow(ctx, r.WorkflowID, r.RunID, name, arg)
	if err != nil && !isNotFound(err) {
		c.log.Error("signal assignment workflow", "assignment", r.RunID, "workflow_id", r.WorkflowID, "signal", name, "error", err)
	}
	return mapErr(err)
}

// Status asks the workflow for its status.
func (c *Client) Status(ctx context.Context, r Run) (workflows.Status, error) {
	var st workflows.Status
	err := c.query(ctx, r, &st, workflows.QueryStatus)
	if err != nil && !errors.Is(err, ErrEnded) {
		c.log.Error("query assignment workflow", "assignment", r.RunID, "error", err)
	}
	return st, err
}

// SignalOutcome asks the workflow what became of the signal with ID id;
// ok is false while the workflow has not handled it yet.
func (c *Client) SignalOutcome(ctx context.Context, r Run, id string) (o workflows.SignalOutcome, ok bool, err error) {
	var got *workflows.SignalOutcome
	if err := c.query(ctx, r, &got, workflows.QuerySignal, id); err != nil || got == nil {
		return workflows.SignalOutcome{}, false, err
	}
	return *got, true, nil
}

func (c *Client) query(ctx context.Context, r Run, into any, name string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	v, err := c.tc.QueryWorkflow(ctx, r.WorkflowID, r.RunID, name, args...)
	if err == nil {
		err = v.Get(into)
	}
	return mapErr(err)
}

// Kept reports whether Temporal still keeps the run's history: false once
// the namespace's retention has passed.
func (c *Client) Kept(ctx context.Context, r Run) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, DisplayTimeout)
	defer cancel()
	_, err := c.tc.DescribeWorkflowExecution(ctx, r.WorkflowID, r.RunID)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

// ReissueTimeout bounds a reissue: the worker resets a password in the
// customer's directory, which may be slow to answer.
const ReissueTimeout = 30 * time.Second

// ErrNoAccess: a reissue came after the access ended.
var ErrNoAccess = errors.New("access is not in force")

// Reissue asks the worker to set a new temporary password on the
// assignment's account in the customer's directory, and waits for it.
// ErrNoAccess when the access ended meanwhile; a directory's refusal is
// returned as its message.
func (c *Client) Reissue(ctx context.Context, d target.Input) error {
	id := workflows.ReissueWorkflowID(d.AssignmentID)
	in := workflows.ReissueInput{Input: d}
	v, err := c.vouchStart(ctx, activities.VouchReissue, id, activities.ReissueGrants(d.AssignmentID),
		func(v workflows.Vouch) []string { in.Vouch = v; return in.SignedFields(id) })
	if err != nil {
		return err
	}
	in.Vouch = v
	ctx, cancel := context.WithTimeout(ctx, ReissueTimeout)
	defer cancel()
	run, err := c.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: c.taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "new temporary password for assignment " + d.AssignmentID,
	}, workflows.ReissueWorkflowName, in)
	if err != nil {
		return mapErr(err)
	}
	err = run.Get(ctx, nil)
	var app *temporal.ApplicationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &app) && app.Type() == activities.ErrTypeNoAccess:
		return ErrNoAccess
	case errors.As(err, &app):
		return errors.New(app.Message())
	}
	return mapErr(err)
}

// Ping checks that Temporal answers.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.tc.CheckHealth(ctx, &client.CheckHealthRequest{})
	return mapErr(err)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// mapErr is the one mapping of Temporal's errors to this package's.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return ErrEnded
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}
