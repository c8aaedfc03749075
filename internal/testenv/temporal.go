package testenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/workflows"
)

// Starting and stopping a Temporal server costs about a second, so the
// environments of one test binary share one, each in a namespace of its
// own: workflow IDs are derived from the site and user (R8), and the demo
// data is the same in every environment, so a namespace is what keeps two
// tests' assignments apart. The server starts with the first environment
// that needs it; a package's TestMain calls Main to stop it at the end.
var shared struct {
	mu  sync.Mutex
	ts  *temporaltest.TestServer
	err error // the boot failed; every later environment fails with it
}

// Main runs a package's tests and stops the shared Temporal server.
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.ts != nil {
		shared.ts.Stop()
		shared.ts = nil
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// sharedServer is the shared Temporal server, started on first use.
// temporaltest's methods are not safe for concurrent use and parallel tests
// start environments at once, so it is only touched under the lock; the
// environments' clients are dialled apart from it (see dial).
func sharedServer() (*temporaltest.TestServer, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ts == nil && shared.err == nil {
		func() {
			// Without a testing.T, temporaltest panics when it cannot boot.
			defer func() {
				if r := recover(); r != nil {
					shared.err = fmt.Errorf("start the shared Temporal server: %v", r)
				}
			}()
			shared.ts = temporaltest.NewServer()
		}()
	}
	return shared.ts, shared.err
}

// quiet drops the SDK's logs, as temporaltest's own clients do when it has
// no testing.T.
var quiet = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))

// dial opens a client of its own to a namespace on the shared server,
// without temporaltest (which keeps every client it made until it stops);
// the environment closes it at its cleanup.
func dial(ctx context.Context, t testing.TB, ts *temporaltest.TestServer, ns string, cd *codec.Codec) client.Client {
	t.Helper()
	opts := client.Options{HostPort: ts.GetFrontendHostPort(), Namespace: ns, Logger: quiet}
	codec.ClientOptions(&opts, cd)
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		t.Fatalf("connect to Temporal, namespace %s: %v", ns, err)
	}
	t.Cleanup(c.Close)
	return c
}

// temporalFor is the Temporal server, namespace and client of a new
// environment: a fresh namespace on the shared server, or a server of its
// own when own is set (a test that stops it). The namespace has the
// workflows' search attributes and answers before it is returned.
func temporalFor(t testing.TB, own bool, cd *codec.Codec) (*temporaltest.TestServer, string, client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ts *temporaltest.TestServer
	var ns string
	var c client.Client
	if own {
		// As before the server was shared: the client is temporaltest's,
		// and stopping the server closes it too.
		ts = temporaltest.NewServer()
		t.Cleanup(ts.Stop)
		ns = ts.GetDefaultNamespace()
		opts := client.Options{Namespace: ns}
		codec.ClientOptions(&opts, cd)
		c = ts.NewClientWithOptions(opts)
	} else {
		var err error
		if ts, err = sharedServer(); err != nil {
			t.Fatal(err)
		}
		ns = "test-" + secret.NewToken()[:12]
		c = dial(ctx, t, ts, ns, cd)
		if _, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
		}); err != nil {
			t.Fatalf("register namespace %s: %v", ns, err)
		}
	}
	// Each service of the server looks a namespace it does not know up in
	// the database, and temporaltest reads search attributes from there on
	// every use, so a namespace just registered answers at once (within a
	// few milliseconds, on the first try, in every run measured); the
	// loops below wait only if a server is ever slower than that.
	retry(ctx, t, "namespace "+ns+" answers", func() error {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		return err
	})
	attrs := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	retry(ctx, t, "namespace "+ns+" has the search attributes", func() error {
		if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			SearchAttributes: attrs, Namespace: ns,
		}); err != nil {
			return err
		}
		have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil {
			return err
		}
		for name := range attrs {
			if have.CustomAttributes[name] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
				return fmt.Errorf("search attribute %s not listed yet", name)
			}
		}
		return nil
	})
	if !own {
		// Cleanups run last in, first out: this one runs after the
		// worker and the HTTP server have stopped (New starts them later)
		// and before the client closes (dial registered that earlier).
		t.Cleanup(func() { endAll(c, ns) })
	}
	return ts, ns, c
}

// retry calls f until it succeeds, failing the test if ctx ends first or f
// fails for a reason waiting cannot cure.
func retry(ctx context.Context, t testing.TB, what string, f func() error) {
	t.Helper()
	for {
		err := f()
		if err == nil {
			return
		}
		var bad *serviceerror.InvalidArgument
		if errors.As(err, &bad) || ctx.Err() != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// endAll terminates what a test left running in its namespace and deletes
// its schedules, so the shared server does no leftover work. It is best
// effort: an error here never fails the test.
func endAll(c client.Client, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reason := "the test of namespace " + ns + " ended"
	// Each list is read in full before anything goes: a page asked for
	// after a deletion would skip what moved up into the page before it.
	var schedules []string
	if it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{}); err == nil {
		for it.HasNext() {
			s, err := it.Next()
			if err != nil {
				break
			}
			schedules = append(schedules, s.ID)
		}
	}
	for _, id := range schedules {
		c.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
	}
	var open []*commonpb.WorkflowExecution
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: ns, Query: "ExecutionStatus = 'Running'", NextPageToken: token,
		})
		if err != nil {
			break
		}
		for _, wf := range resp.Executions {
			open = append(open, wf.Execution)
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	for _, wf := range open {
		c.TerminateWorkflow(ctx, wf.WorkflowId, wf.RunId, reason)
	}
}
