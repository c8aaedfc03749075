package record

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	appworker "github.com/partneraccess/partneraccess/worker"
	"github.com/partneraccess/partneraccess/workflows"
)

// The access reviews' workflows (v11): a review decided through the API,
// one whose deadline passes with items undecided (reminders, then
// missed), a start forged on the frontend, and a pass of the reviews'
// Schedule that ends a permission and starts the due reviews.

// reviewDecided starts Northwind's review through the API, keeps two
// users and removes the third, and returns the finished run's history.
func reviewDecided(t *testing.T, e *testenv.Env) *historypb.History {
	t.Helper()
	admin := e.Login("admin@partner.example")
	code, body := admin.Do("POST", "/api/v1/reviews", map[string]string{"organization": demo.Northwind})
	var r struct {
		ID    string `json:"id"`
		Items []struct {
			ID        string `json:"id"`
			SubjectID string `json:"subject_id"`
		} `json:"items"`
	}
	if code != http.StatusCreated || json.Unmarshal(body, &r) != nil {
		t.Fatalf("start a review: %d %s", code, body)
	}
	for _, it := range r.Items {
		decision := "keep"
		if it.SubjectID == demo.Solo {
			decision = "remove"
		}
		if code, body := admin.Do("POST", "/api/v1/reviews/"+r.ID+"/items/"+it.ID, map[string]string{"decision": decision}); code != http.StatusOK {
			t.Fatalf("%s item %s: %d %s", decision, it.ID, code, body)
		}
	}
	return finishedReview(t, e, r.ID)
}

// reviewMissed starts a review of Contoso due in a few seconds, so its
// reminders and deadline pass with nobody deciding; what nobody confirmed
// is suspended or withdrawn.
func reviewMissed(t *testing.T, e *testenv.Env) *historypb.History {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	items, err := activities.ReviewItems(ctx, e.Store, store.KindCustomer, demo.Contoso, now.Add(-90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id := activities.ReviewID(demo.Contoso, now)
	if err := e.Store.CreateReview(ctx, store.Review{ID: id, OrgKind: store.KindCustomer, OrgID: demo.Contoso, StartedBy: demo.ContosoAdmin,
		StartedAt: now, DueAt: now.Add(4 * time.Second), OnMissed: store.OnMissedSuspend, Items: items}); err != nil {
		t.Fatal(err)
	}
	if err := wfclient.New(e.Client, testenv.TaskQueue, e.Keys, e.Store, slog.Default()).StartReview(ctx, id); err != nil {
		t.Fatal(err)
	}
	return finishedReview(t, e, id)
}

func finishedReview(t *testing.T, e *testenv.Env, id string) *historypb.History {
	t.Helper()
	var st workflows.ReviewStatus
	if err := e.Client.GetWorkflow(context.Background(), activities.ReviewWorkflowID(id), "").Get(context.Background(), &st); err != nil || !st.Finished {
		t.Fatalf("review %s: %+v %v", id, st, err)
	}
	return history(t, e, activities.ReviewWorkflowID(id), "")
}

// forgedReview starts a review straight on the frontend, with a vouch
// nobody recorded: it is refused before it reads anything.
func forgedReview(t *testing.T, e *testenv.Env) *historypb.History {
	t.Helper()
	ctx := context.Background()
	id := activities.ReviewID(demo.Fabrikam, time.Now())
	run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: activities.ReviewWorkflowID(id), TaskQueue: testenv.TaskQueue},
		workflows.ReviewWorkflowName, workflows.ReviewInput{ReviewID: id, Vouch: workflows.Vouch{ID: "forged", SentAt: time.Now(), MAC: "forged"}})
	if err != nil {
		t.Fatal(err)
	}
	var app *temporal.ApplicationError
	if err := run.Get(ctx, nil); !errors.As(err, &app) || app.Type() != activities.ErrTypeForged {
		t.Fatalf("forged review: %v, want refused", err)
	}
	return history(t, e, run.GetID(), run.GetRunID())
}

// reviewPass runs one pass of the reviews' Schedule, with Fabrikam's
// permission past its end, and returns its history.
func reviewPass(t *testing.T, e *testenv.Env) *historypb.History {
	t.Helper()
	ctx := context.Background()
	if err := e.Store.GrantPermissionUntil(ctx, demo.Fabrikam, demo.Northwind, time.Now().Add(-time.Second), demo.FabrikamAdmin,
		time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := appworker.EnsureReviewSchedule(ctx, e.Client, testenv.TaskQueue, time.Hour, e.Keys); err != nil {
		t.Fatal(err)
	}
	workflowID, runID := triggerSchedule(t, e, workflows.ReviewScheduleID)
	var res workflows.ReviewPassResult
	if err := e.Client.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res); err != nil || res.Permissions.Lapsed != 1 || len(res.Started) == 0 {
		t.Fatalf("the scheduled pass: %+v %v", res, err)
	}
	return history(t, e, workflowID, runID)
}
