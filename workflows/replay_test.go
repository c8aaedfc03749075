package workflows_test

import (
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/codec/codectest"
	"github.com/partneraccess/partneraccess/workflows"
)

// TestReplayRecordedHistories replays every history recorded from a real
// server (testdata/<set>/<path>.json, see package record) with today's
// workflow code. A change that would break a run in flight fails here: put
// it behind workflow.GetVersion (docs/changing-the-workflow.md).
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("%d recorded histories, want at least the 8 paths of the first set", len(files))
	}
	// Every set recorded so far: v1 before vouched signals, v2 before
	// extensions (expiry-warning-extension), v3 before vouched starts
	// (vouched-start), v4 before a cancel became an unassign
	// (cancel-is-unassign), v5 before access in the customer's directory
	// (directory-access), v6 before payloads were encrypted, v7 before
	// every start was vouched for and used once (vouched-emails,
	// vouched-reissue, vouched-reconcile), v8 before the customer's own
	// policy (customer-policy), v9 before approvers were asked in chats
	// (chat-approvals), v10 since; v11 adds the access reviews' workflows,
	// v12 the webhooks' and v13 the desktop sessions' warning
	// (desktop-warning); each was recorded without the others' versions,
	// so each replays without them.
	for _, set := range []string{"v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13"} {
		if got, _ := filepath.Glob(filepath.Join("testdata", set, "*.json")); len(got) < 8 {
			t.Fatalf("set %s has %d histories, want at least 8", set, len(got))
		}
	}
	// The emails workflow's histories, of the runs an assignment handed its
	// last emails to (testdata/<set>/emails/<path>.json, since v3).
	emails, err := filepath.Glob(filepath.Join("testdata", "*", "emails", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(emails) < 8 {
		t.Fatalf("%d recorded histories of the emails workflow, want at least 8", len(emails))
	}
	// The reissue workflow's (testdata/<set>/reissue/<path>.json, since v6).
	reissues, err := filepath.Glob(filepath.Join("testdata", "*", "reissue", "*.json"))
	if err != nil || len(reissues) == 0 {
		t.Fatalf("no recorded history of the reissue workflow (%v)", err)
	}
	// The reconciler's (testdata/<set>/reconcile/<path>.json, since v8).
	passes, err := filepath.Glob(filepath.Join("testdata", "*", "reconcile", "*.json"))
	if err != nil || len(passes) == 0 {
		t.Fatalf("no recorded history of the reconciler (%v)", err)
	}
	// The access reviews' (testdata/<set>/review and review-pass, since v11).
	reviews, err := filepath.Glob(filepath.Join("testdata", "*", "review*", "*.json"))
	if err != nil || len(reviews) < 4 {
		t.Fatalf("%d recorded histories of the review workflows, want at least 4 (%v)", len(reviews), err)
	}
	passes = append(passes, reviews...)
	// Since v7 payloads are encrypted (codectest.Key); the codec passes the
	// plain ones of the earlier sets through.
	cd, err := codec.New([]codec.Key{codectest.Key})
	if err != nil {
		t.Fatal(err)
	}
	// The webhooks' workflows' (testdata/<set>/webhook/<path>.json, since v12).
	hooks, err := filepath.Glob(filepath.Join("testdata", "*", "webhook", "*.json"))
	if err != nil || len(hooks) == 0 {
		t.Fatalf("no recorded history of the webhook workflows (%v)", err)
	}
	for _, f := range append(append(append(append(files, emails...), reissues...), passes...), hooks...) {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			if err := replay(cd, f); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		})
	}
}

// replay replays one recorded history with today's code, decoding its
// payloads with cd.
func replay(cd *codec.Codec, file string) error {
	dc, fc := codec.Converters(cd)
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: fc})
	if err != nil {
		return err
	}
	r.RegisterWorkflowWithOptions(workflows.Assignment, workflow.RegisterOptions{Name: workflows.WorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Emails, workflow.RegisterOptions{Name: workflows.EmailsWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Reissue, workflow.RegisterOptions{Name: workflows.ReissueWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Reconcile, workflow.RegisterOptions{Name: workflows.ReconcileWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Review, workflow.RegisterOptions{Name: workflows.ReviewWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.ReviewPass, workflow.RegisterOptions{Name: workflows.ReviewPassWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.WebhookDispatch, workflow.RegisterOptions{Name: workflows.WebhookDispatchWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.WebhookEndpoint, workflow.RegisterOptions{Name: workflows.WebhookWorkflowName})
	return r.ReplayWorkflowHistoryFromJSONFile(nil, file)
}

// A history whose payloads are under a key the process lacks fails, and the
// error names the key.
func TestReplayWithoutTheKeyFailsNamingIt(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "v7", "standard-approved-expired.json"))
	if len(files) != 1 {
		t.Fatal("no encrypted history (set v7) to replay")
	}
	other, err := codec.DerivedKey([]byte("another secret key, not the one that recorded v7"))
	if err != nil {
		t.Fatal(err)
	}
	cd, err := codec.New([]codec.Key{other})
	if err != nil {
		t.Fatal(err)
	}
	err = replay(cd, files[0])
	if err == nil || !strings.Contains(err.Error(), `"`+codectest.Key.ID+`"`) || !strings.Contains(err.Error(), "TEMPORAL_CODEC_KEYS") {
		t.Fatalf("replay under another key: %v, want an error naming key %q", err, codectest.Key.ID)
	}
}
