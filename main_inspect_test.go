package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/workflows"
)

// partneraccess inspect reaches the service's Temporal as the worker and
// server do (TEMPORAL_ADDRESS, the namespace, the codec keys) and prints
// the status query's state and timeline, the history and the UI link.
func TestInspectPrintsTheStatusTimelineAndWorkflowLink(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	tm := testenv.FastTiming
	tm.AccessDuration = time.Minute
	e := testenv.New(t, testenv.Options{Timing: tm, CodecKey: codec.Key{ID: "inspect-test", Key: key}})
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 4711")
	if code != 201 {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	secret := make([]byte, 32)
	rand.Read(secret)
	env := map[string]string{
		"TEMPORAL_ADDRESS":    e.Temporal.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE":  e.Namespace,
		"SECRET_KEY":          base64.StdEncoding.EncodeToString(secret),
		"TEMPORAL_CODEC_KEYS": "inspect-test:" + base64.StdEncoding.EncodeToString(key),
		"TEMPORAL_UI_URL":     "http://127.0.0.1:8233",
		"DATA_DIR":            t.TempDir(),
	}
	getenv := func(k string) string { return env[k] }

	var out, errs strings.Builder
	if code := run(context.Background(), []string{"inspect", a.ID}, getenv, &out, &errs); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errs.String())
	}
	t.Logf("partneraccess inspect %s:\n%s", a.ID, out.String())
	link := "http://127.0.0.1:8233/namespaces/" + url.PathEscape(e.Namespace) + "/workflows/" + url.PathEscape(a.WorkflowID) + "/" + a.ID + "/history"
	for _, want := range []string{"Assignment " + a.ID, a.WorkflowID, "running", "state:     pending_approval",
		"Timeline (the workflow's status query):", "  requested", "approval deadline", "History: ", "activity ", "Temporal UI: " + link} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inspect lacks %q:\n%s", want, out.String())
		}
	}

	// Approved: the decision and the signal that carried it.
	if code, body := e.Login("admin@contoso.example").Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "approve"}); code >= 300 {
		t.Fatalf("approve: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateActive, 10*time.Second)
	out.Reset()
	if code := run(context.Background(), []string{"inspect", a.ID}, getenv, &out, &errs); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errs.String())
	}
	t.Logf("after the approval:\n%s", out.String())
	for _, want := range []string{"state:     active", "approved by admin@contoso.example", "access began, for 1 minute",
		"Signals received (the workflow's history):", "  " + workflows.SignalApproval + "\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inspect after the approval lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "approval deadline") {
		t.Errorf("inspect shows the approval deadline after the approval:\n%s", out.String())
	}

	// Without the keys the payloads stay sealed, and it says so.
	env["TEMPORAL_CODEC_KEYS"] = ""
	out.Reset()
	if code := run(context.Background(), []string{"inspect", a.ID}, getenv, &out, &errs); code != 0 ||
		!strings.Contains(out.String(), "the status query did not answer") || strings.Contains(out.String(), "state:") {
		t.Errorf("inspect with the wrong keys: exit %d\n%s", code, out.String())
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"inspect"}, 2, "usage: partneraccess inspect <assignment-id>"},
		{[]string{"inspect", "-h"}, 2, "usage: partneraccess inspect <assignment-id>"},
		{[]string{"inspect", "0190aaaa-0000-7000-8000-000000000000"}, 1, "has no workflow run 0190aaaa-0000-7000-8000-000000000000 in namespace " + e.Namespace},
	} {
		errs.Reset()
		if code := run(context.Background(), c.args, getenv, &out, &errs); code != c.code || !strings.Contains(errs.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errs.String(), c.code, c.want)
		}
	}
}
