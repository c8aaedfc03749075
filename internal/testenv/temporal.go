package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/workflows"
)

// Booting a Temporal server costs seconds, so the environments of one test
// binary share one, each in a namespace of its own: workflow IDs are
// derived from the site and user (R8), and the demo data is the same in
// every environment, so a namespace is what keeps two tests' assignments
// apart. A package's TestMain calls Main to stop it at the end.
var shared struct {
	once sync.Once
	ts   *temporaltest.TestServer
}

// Main runs a package's tests and stops the shared Temporal server.
func Main(m *testing.M) {
	code := m.Run()
	if shared.ts != nil {
		shared.ts.Stop()
	}
	os.Exit(code)
}

// temporalFor is the Temporal server, namespace and client of a new
// environment: a fresh namespace on the shared server, or a server of its
// own when own is set (a test that stops it).
func temporalFor(t testing.TB, own bool) (*temporaltest.TestServer, string, client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ts *temporaltest.TestServer
	var ns string
	if own {
		ts = temporaltest.NewServer()
		t.Cleanup(ts.Stop)
		ns = ts.GetDefaultNamespace()
	} else {
		shared.once.Do(func() { shared.ts = temporaltest.NewServer() })
		ts = shared.ts
		ns = "test-" + secret.NewToken()[:12]
		if _, err := ts.GetDefaultClient().WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
		}); err != nil {
			t.Fatalf("register namespace %s: %v", ns, err)
		}
	}
	c := ts.NewClientWithOptions(client.Options{Namespace: ns})
	attrs := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	// A namespace just registered is known to every service only once
	// their caches refresh: retry until the frontend takes it.
	for {
		_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			SearchAttributes: attrs, Namespace: ns,
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("namespace %s: search attributes: %v", ns, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !own {
		t.Cleanup(func() { terminateOpen(c, ns) })
	}
	return ts, ns, c
}

// terminateOpen ends what a test left running in its namespace, so the
// shared server does no leftover work; best effort.
func terminateOpen(c client.Client, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns, Query: "ExecutionStatus = 'Running'"})
	if err != nil {
		return
	}
	for _, wf := range resp.Executions {
		c.TerminateWorkflow(ctx, wf.Execution.WorkflowId, wf.Execution.RunId, fmt.Sprintf("the test of namespace %s ended", ns))
	}
}
