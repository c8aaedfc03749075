package wfclient_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/workflows"
)

// vouches records starts, or refuses them all.
type vouches struct {
	refuse   error
	recorded map[string]string // vouch ID → workflow ID
}

func (v *vouches) PutVouch(_ context.Context, id, kind, workflowID, grants string, _ time.Time) error {
	if v.refuse != nil {
		return v.refuse
	}
	v.recorded[id] = kind + " " + workflowID + ": " + grants
	return nil
}

// frontend takes starts and checks what the run would check: a valid MAC,
// and a record made before the start.
type frontend struct {
	client.Client
	t       *testing.T
	keys    *secret.Keys
	vouches *vouches
	started int
}

func (f *frontend) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.started++
	var id string
	switch in := args[0].(type) {
	case workflows.Input:
		id = in.Vouch.ID
		if !f.keys.VerifySignal(in.Vouch.MAC, in.SignedFields(o.ID)...) {
			f.t.Error("the start's MAC does not verify")
		}
	case workflows.ReissueInput:
		id = in.Vouch.ID
		if !f.keys.VerifySignal(in.Vouch.MAC, in.SignedFields(o.ID)...) {
			f.t.Error("the reissue's MAC does not verify")
		}
	}
	if _, ok := f.vouches.recorded[id]; !ok {
		f.t.Errorf("start %s made before its record (%v)", id, f.vouches.recorded)
	}
	return nil, errors.New("stop here")
}

func TestStartsAreRecordedBeforeTheyAreMade(t *testing.T) {
	keys, err := secret.NewKeys(secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name  string
		start func(*wfclient.Client) error
		want  string
	}{
		{"assignment", func(c *wfclient.Client) error {
			_, err := c.Start(context.Background(), workflows.Input{SiteID: "s", PartnerUser: workflows.Person{ID: "u"}, Edition: "standard"}, "", "")
			return err
		}, "assignment assignment/s/u: standard access of user u to site s"},
		{"reissue", func(c *wfclient.Client) error {
			return c.Reissue(context.Background(), target.Input{AssignmentID: "a1", UserID: "u"})
		}, "reissue credential-reissue/a1: a new temporary password for the account of assignment a1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &vouches{recorded: map[string]string{}}
			f := &frontend{t: t, keys: keys, vouches: v}
			if err := tc.start(wfclient.New(f, "q", keys, v, log)); err == nil {
				t.Fatal("the frontend's refusal was not returned")
			}
			if f.started != 1 || len(v.recorded) != 1 {
				t.Fatalf("%d starts, %d records; want one each", f.started, len(v.recorded))
			}
			for _, got := range v.recorded {
				if got != tc.want {
					t.Fatalf("record %q, want %q", got, tc.want)
				}
			}
			// A store that refuses the record: nothing is started.
			v.refuse = errors.New("disk full")
			if err := tc.start(wfclient.New(f, "q", keys, v, log)); !errors.Is(err, wfclient.ErrNotRecorded) {
				t.Fatalf("%v, want ErrNotRecorded", err)
			}
			if f.started != 1 {
				t.Fatalf("%d starts, want none more without a record", f.started)
			}
		})
	}
}
