package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/internal/engine"
)

var site = temporal.NewSearchAttributeKeyKeyword("EngineTestSite")

// waiter marks itself with a search attribute and waits for a signal.
func waiter(ctx workflow.Context) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, site.ValueSet("x")); err != nil {
		return "", err
	}
	var s string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &s)
	return s, nil
}

func start(t *testing.T, dir string, ui bool) *engine.Engine {
	t.Helper()
	cfg := engine.Config{
		DataDir: dir, FrontendAddr: "127.0.0.1:0", Namespace: "default",
		SearchAttributes: map[string]enumspb.IndexedValueType{site.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	}
	if ui {
		cfg.UIAddr = "127.0.0.1:0"
	}
	e, err := engine.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop() })
	return e
}

func dial(t *testing.T, e *engine.Engine) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: e.FrontendHostPort(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := worker.New(c, "q", worker.Options{})
	w.RegisterWorkflow(waiter)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c
}

func TestEngineKeepsWorkflowsAndSearchAttributesAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir, true)
	resp, err := http.Get(e.UIURL() + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("UI: %v %v", resp, err)
	}
	resp.Body.Close()

	c := dial(t, e)
	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "w1", TaskQueue: "q"}, waiter)
	if err != nil {
		t.Fatal(err)
	}
	found := func(c client.Client) bool {
		r, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", Query: fmt.Sprintf("%s = 'x'", site.GetName()),
		})
		return err == nil && len(r.Executions) == 1
	}
	eventually(t, func() bool { return found(c) })
	c.Close()
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}

	// The same DATA_DIR: the open workflow is still there and completes.
	e2 := start(t, dir, false)
	c2 := dial(t, e2)
	eventually(t, func() bool { return found(c2) })
	if err := c2.SignalWorkflow(ctx, "w1", run.GetRunID(), "go", "done"); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := c2.GetWorkflow(ctx, "w1", run.GetRunID()).Get(ctx, &out); err != nil || out != "done" {
		t.Fatalf("result %q %v", out, err)
	}
}

func TestEngineRefusesAPortInUse(t *testing.T) {
	e := start(t, t.TempDir(), false)
	_, err := engine.Start(context.Background(), engine.Config{DataDir: t.TempDir(), FrontendAddr: e.FrontendHostPort()})
	if err == nil {
		t.Fatal("a second engine started on a port in use")
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
