package testenv

import (
	"context"
	"net/http"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/worker"
)

func TestMain(m *testing.M) { Main(m) }

// status is the status of a workflow run in a namespace, asked through
// any client of the server.
func status(t *testing.T, e *Env, ns string, a store.Assignment) enumspb.WorkflowExecutionStatus {
	t.Helper()
	d, err := e.Client.WorkflowService().DescribeWorkflowExecution(context.Background(), &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: ns, Execution: &commonpb.WorkflowExecution{WorkflowId: a.WorkflowID, RunId: a.ID},
	})
	if err != nil {
		t.Fatalf("describe %s in %s: %v", a.WorkflowID, ns, err)
	}
	return d.WorkflowExecutionInfo.Status
}

// Two environments assign the same user to the same site at the same time:
// each starts its own workflow under the same workflow ID, on the one
// shared server, and the first's cleanup ends its workflow and leaves the
// other's running. (Deleting its schedules is best effort, and the
// server's deletion is asynchronous, so it is not asserted.)
func TestEnvironmentsShareTheServerAndNothingElse(t *testing.T) {
	second := New(t, Options{})
	var first *Env
	var firstA, secondA store.Assignment
	assign := func(e *Env) store.Assignment {
		code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 1")
		if code != http.StatusCreated {
			t.Fatalf("assign in %s: %d %s", e.Namespace, code, body)
		}
		return e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	}
	t.Run("first", func(t *testing.T) {
		first = New(t, Options{})
		firstA = assign(first)
		secondA = assign(second) // while the first's runs
		if err := worker.EnsureReconcileSchedule(context.Background(), first.Client, TaskQueue, time.Hour, first.Keys); err != nil {
			t.Fatal(err)
		}
	})
	if first.Temporal != second.Temporal {
		t.Fatal("the environments run on two Temporal servers, want one")
	}
	if first.Namespace == second.Namespace {
		t.Fatalf("namespaces %s and %s: want each its own", first.Namespace, second.Namespace)
	}
	if firstA.WorkflowID != secondA.WorkflowID || firstA.ID == secondA.ID {
		t.Fatalf("workflows %s/%s and %s/%s: want the same ID, two runs", firstA.WorkflowID, firstA.ID, secondA.WorkflowID, secondA.ID)
	}
	if s := status(t, second, first.Namespace, firstA); s != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("the ended environment's workflow is %v, want terminated", s)
	}
	if s := status(t, second, second.Namespace, secondA); s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the running environment's workflow is %v, want running", s)
	}
}

func TestOwnTemporalIsAServerOfItsOwn(t *testing.T) {
	own := New(t, Options{OwnTemporal: true})
	other := New(t, Options{})
	if own.Temporal == other.Temporal {
		t.Fatal("OwnTemporal shares the server")
	}
	if own.Namespace != own.Temporal.GetDefaultNamespace() {
		t.Fatalf("namespace %s, want the server's %s", own.Namespace, own.Temporal.GetDefaultNamespace())
	}
	code, _, body := own.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 2")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
}
