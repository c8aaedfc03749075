package wfclient

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/workflows"
)

// Inspector reads what Temporal keeps of one run, for partneraccess
// inspect. It sends a run nothing, so it needs neither keys nor the store;
// it returns Temporal's errors as they are and sets no timeout of its own,
// since an operator reads them and the caller bounds the whole inspection.
type Inspector struct {
	tc        client.Client
	namespace string
}

// NewInspector returns an inspector of the runs in namespace.
func NewInspector(tc client.Client, namespace string) *Inspector {
	return &Inspector{tc: tc, namespace: namespace}
}

// Execution is what Temporal lists of a run.
type Execution struct {
	Run
	Type   string // the workflow type's name
	Status string // Temporal's status in lower case: running, completed, …
}

// listedWithin is how long Find waits for a run to be listed: Temporal's
// visibility store is written after the run, so a run started a moment ago
// may not be listed yet (seen here on a loaded machine).
const listedWithin = 3 * time.Second

// Find looks up the run with ID runID; ok is false when Temporal keeps none
// (never started here, or closed longer ago than the retention).
func (i *Inspector) Find(ctx context.Context, runID string) (ex Execution, ok bool, err error) {
	var list *workflowservice.ListWorkflowExecutionsResponse
	for deadline := time.Now().Add(listedWithin); ; {
		list, err = i.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: i.namespace, Query: fmt.Sprintf("RunId = %q", runID), PageSize: 2})
		if err != nil {
			return Execution{}, false, err
		}
		if len(list.Executions) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return Execution{}, false, nil
		}
		select {
		case <-ctx.Done():
			return Execution{}, false, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	e := list.Executions[0]
	return Execution{
		Run:    Run{WorkflowID: e.Execution.GetWorkflowId(), RunID: runID},
		Type:   e.Type.GetName(),
		Status: strings.ToLower(strings.TrimPrefix(e.Status.String(), "WORKFLOW_EXECUTION_STATUS_")),
	}, true, nil
}

// Status asks the run's status query; without the run's codec keys the
// answer does not decode, and the error says so.
func (i *Inspector) Status(ctx context.Context, r Run) (workflows.Status, error) {
	var st workflows.Status
	v, err := i.tc.QueryWorkflow(ctx, r.WorkflowID, r.RunID, workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// Kinds of the history events that tell what happened to a run.
const (
	EventSignal   = "signal"   // a signal received
	EventActivity = "activity" // an activity scheduled
	EventMarker   = "marker"   // a marker recorded (local activities, versions)
	EventTimer    = "timer"    // a timer started
)

// Event is one history event that tells what happened to a run.
type Event struct {
	Kind string // EventSignal, EventActivity, EventMarker or EventTimer
	Name string // the signal's, activity type's or marker's name; "" for a timer
	At   time.Time
}

// History reads the run's whole history: how many events it holds, and
// those of them that tell what happened, in order.
func (i *Inspector) History(ctx context.Context, r Run) (total int, events []Event, err error) {
	it := i.tc.GetWorkflowHistory(ctx, r.WorkflowID, r.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return 0, nil, err
		}
		total++
		ev := Event{At: e.GetEventTime().AsTime()}
		if s := e.GetWorkflowExecutionSignaledEventAttributes(); s != nil {
			ev.Kind, ev.Name = EventSignal, s.GetSignalName()
		} else if s := e.GetActivityTaskScheduledEventAttributes(); s != nil {
			ev.Kind, ev.Name = EventActivity, s.GetActivityType().GetName()
		} else if s := e.GetMarkerRecordedEventAttributes(); s != nil {
			ev.Kind, ev.Name = EventMarker, s.GetMarkerName()
		} else if e.GetTimerStartedEventAttributes() != nil {
			ev.Kind = EventTimer
		} else {
			continue
		}
		events = append(events, ev)
	}
	return total, events, nil
}
