package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/workflows"
)

// The status query shows durations as durations, and still reads results
// written before with nanoseconds.
func TestStatusDurationsAreReadable(t *testing.T) {
	st := workflows.Status{State: "active", AccessDuration: 72 * time.Hour,
		Extensions: []workflows.ExtensionStatus{{N: 1, Duration: 24 * time.Hour}}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"AccessDuration":"72h0m0s"`) || !strings.Contains(string(b), `"Duration":"24h0m0s"`) {
		t.Fatalf("status JSON %s", b)
	}
	var back workflows.Status
	if err := json.Unmarshal(b, &back); err != nil || back.AccessDuration != 72*time.Hour || back.Extensions[0].Duration != 24*time.Hour {
		t.Fatalf("read back %+v %v", back, err)
	}
	var old workflows.Status
	if err := json.Unmarshal([]byte(`{"State":"expired","AccessDuration":259200000000000,"Extensions":[{"N":1,"Duration":86400000000000}]}`), &old); err != nil ||
		old.AccessDuration != 72*time.Hour || old.Extensions[0].Duration != 24*time.Hour {
		t.Fatalf("a result written before: %+v %v", old, err)
	}
}

// The Temporal UI lists the queries by name and opens on the first: the
// status, which takes no argument; every query and signal is described.
func TestTheEngineViewOpensOnADescribedStatus(t *testing.T) {
	f := newFixture(t, nil)
	f.at(time.Hour, func() {
		v, err := f.env.QueryWorkflow("__temporal_workflow_metadata")
		if err != nil {
			t.Error(err)
			return
		}
		var md sdkpb.WorkflowMetadata
		if err := v.Get(&md); err != nil {
			t.Error(err)
			return
		}
		var queries []string
		for _, q := range md.GetDefinition().GetQueryDefinitions() {
			if !strings.HasPrefix(q.GetName(), "__") {
				queries = append(queries, q.GetName())
				if q.GetDescription() == "" {
					t.Errorf("query %s has no description", q.GetName())
				}
			}
		}
		if len(queries) != 2 || queries[0] != workflows.QueryStatus {
			t.Errorf("queries %v, want the status first", queries)
		}
		if n := len(md.GetDefinition().GetSignalDefinitions()); n != 3 {
			t.Errorf("%d signals described, want 3", n)
		}
		for _, s := range md.GetDefinition().GetSignalDefinitions() {
			if s.GetDescription() == "" {
				t.Errorf("signal %s has no description", s.GetName())
			}
		}
		f.env.SignalWorkflow(workflows.SignalUnassign, f.vouch(workflows.UnassignSignal{By: person(t, f.store, demo.Agent)}))
	})
	f.run(f.standardInput())
}
