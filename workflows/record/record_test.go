package record

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/codec/codectest"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/mail/sendgridfake"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/internal/webhook/receiver"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	appworker "github.com/partneraccess/partneraccess/worker"
	"github.com/partneraccess/partneraccess/workflows"
)

var recordInto = flag.String("record", "", "write the histories into workflows/testdata/`SET` (e.g. v2) instead of a temporary directory")

// timing is short enough for every path, and long enough that a signal sent
// right after a step lands before the next timer fires.
var timing = workflows.Timing{
	ApprovalTimeout:      4 * time.Second,
	ApprovalReminder:     2 * time.Second,
	AccessDuration:       2 * time.Second,
	ReadyWait:            3 * time.Second,
	ExpiryWarning:        time.Second,
	MaxExtensions:        2,
	ProfessionalReminder: 2 * time.Second,
}

// extensionTiming leaves time, between the warning and the end, to ask for
// more and decide.
var extensionTiming = workflows.Timing{
	ApprovalTimeout:      4 * time.Second,
	ApprovalReminder:     2 * time.Second,
	AccessDuration:       8 * time.Second,
	ReadyWait:            time.Second,
	ExpiryWarning:        4 * time.Second,
	MaxExtensions:        2,
	ProfessionalReminder: time.Second,
}

// extensionPaths are the ways through extensions and reminders (v3).
var extensionPaths = []path{
	{"standard-warned-extension-approved-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		e.Eventually(10*time.Second, "expiry warning", func() bool {
			return len(e.Mail(a.ID, domain.EmailExpiryWarning, "solo@partner.example")) == 1
		})
		askMore(t, e, a, "3s")
		decideExtension(t, e, a, "ops@contoso.example", "approve")
		endsAt(t, e, a, extensionTiming.AccessDuration+3*time.Second)
		return a
	}},
	{"standard-extension-refused-denied-late-decision-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateActive, 10*time.Second)
		too := workflows.ExtensionSignal{Duration: time.Hour, Reason: "too long", By: workflows.Person{ID: demo.Solo, Email: "solo@partner.example"},
			Vouch: workflows.Vouch{ID: "too-long", SentAt: time.Now()}}
		too.MAC = e.Keys.SignSignal(too.SignedFields(a.ID)...)
		signal(t, e, a, workflows.SignalExtension, too) // the server refuses it first; the workflow does too
		askMore(t, e, a, "3s")
		decideExtension(t, e, a, "admin@contoso.example", "deny")
		late := workflows.ApprovalSignal{Approve: true, Extension: 1, By: workflows.Person{ID: demo.ContosoOps, Email: "ops@contoso.example"},
			Vouch: workflows.Vouch{ID: "late", SentAt: time.Now()}}
		late.MAC = e.Keys.SignSignal(late.SignedFields(a.ID)...)
		signal(t, e, a, workflows.SignalApproval, late)
		endsAt(t, e, a, extensionTiming.AccessDuration)
		return a
	}},
	{"standard-extension-replayed-after-denial-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateActive, 10*time.Second)
		more := workflows.ExtensionSignal{Duration: 3 * time.Second, Reason: "once", By: workflows.Person{ID: demo.Solo, Email: "solo@partner.example"},
			Vouch: workflows.Vouch{ID: "captured", SentAt: time.Now()}}
		more.MAC = e.Keys.SignSignal(more.SignedFields(a.ID)...)
		signal(t, e, a, workflows.SignalExtension, more)
		decideExtension(t, e, a, "admin@contoso.example", "deny")
		signal(t, e, a, workflows.SignalExtension, more) // the same signal again: refused as a replay (v4)
		stale := more
		stale.ID, stale.SentAt = "stale", time.Now().Add(-time.Hour)
		stale.MAC = e.Keys.SignSignal(stale.SignedFields(a.ID)...)
		signal(t, e, a, workflows.SignalExtension, stale) // an hour old: refused
		e.Eventually(10*time.Second, "the replay and the stale signal refused as forged", func() bool {
			log, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: a.ID})
			n := 0
			for _, l := range log {
				if l.Action == "signal.forged" {
					n++
				}
			}
			return n == 2
		})
		if es, _ := e.Store.Extensions(context.Background(), a.ID); len(es) != 1 {
			t.Fatalf("%d extension requests, want the first only", len(es))
		}
		return a
	}},
	{"standard-extension-lapsed-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateActive, 10*time.Second)
		askMore(t, e, a, "1s") // nobody decides: it lapses at the end of access
		return a
	}},
	{"standard-cancelled-with-extension-pending", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateActive, 10*time.Second)
		askMore(t, e, a, "3s")
		cancelRun(t, e, a) // v5: the request lapses with the access
		return a
	}},
	{"professional-reminded-twice-unassigned", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.FabrikamSite, demo.Solo)
		e.Eventually(15*time.Second, "two reminders", func() bool {
			return len(e.Mail(a.ID, domain.EmailProfessionalReminder, "solo@partner.example")) == 2
		})
		unassign(t, e, a)
		return a
	}},
}

// path is one way through the workflow: how to drive it and where it ends.
type path struct {
	name  string
	final string
	drive func(t *testing.T, e *testenv.Env) store.Assignment
}

var localPaths = []path{
	{"standard-approved-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		return a
	}},
	{"standard-approved-unassigned", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "ops@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateActive, 10*time.Second)
		unassign(t, e, a)
		return a
	}},
	{"standard-denied", domain.StateDenied, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "deny")
		return a
	}},
	{"standard-approval-expired", domain.StateApprovalExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		return assign(t, e, demo.ContosoSite, demo.Solo) // the reminder, then the deadline
	}},
	{"standard-withdrawn", domain.StateWithdrawn, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		e.ApprovalPath(a.ID, "admin@contoso.example")
		unassign(t, e, a)
		return a
	}},
	{"standard-forged-then-approved-then-late-decision", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		e.ApprovalPath(a.ID, "admin@contoso.example")
		admin := workflows.Person{ID: demo.ContosoAdmin, Name: "Casey Admin", Email: "admin@contoso.example"}
		signal(t, e, a, workflows.SignalApproval, workflows.ApprovalSignal{Approve: true, By: admin}) // no voucher
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateActive, 10*time.Second)
		late := workflows.ApprovalSignal{Approve: false, By: workflows.Person{ID: demo.ContosoOps, Email: "ops@contoso.example"},
			Vouch: workflows.Vouch{ID: "late", SentAt: time.Now()}}
		late.MAC = e.Keys.SignSignal(late.SignedFields(a.ID)...)
		signal(t, e, a, workflows.SignalApproval, late)
		e.Eventually(10*time.Second, "late decision recorded", func() bool {
			log, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: a.ID})
			return len(log) > 0 && log[len(log)-1].Action == "approval.refused"
		})
		unassign(t, e, a)
		return a
	}},
	{"standard-permission-withdrawn", domain.StateWithdrawn, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		e.ApprovalPath(a.ID, "admin@contoso.example")
		admin := e.Login("admin@contoso.example")
		for _, method := range []string{"DELETE", "PUT"} {
			if code, body := admin.Do(method, "/api/v1/customers/"+demo.Contoso+"/partner-permission", nil); code != http.StatusOK {
				t.Fatalf("%s permission: %d %s", method, code, body)
			}
		}
		return a
	}},
	{"professional-ready-unassigned", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.FabrikamSite, demo.Solo)
		e.WaitState(a.ID, domain.StateActive, 15*time.Second)
		unassign(t, e, a)
		return a
	}},
	{"forged-start-on-the-frontend", domain.StateFailed, func(t *testing.T, e *testenv.Env) store.Assignment {
		// Started straight on the Temporal frontend, as the server would
		// but without its MAC, claiming Professional at Litware's Standard
		// site, which never gave permission: the run grants nothing (v4).
		solo := workflows.Person{ID: demo.Solo, Name: "Sam Solo", Email: "solo@partner.example"}
		id := workflows.WorkflowID(demo.LitwareSite, demo.Solo)
		run, err := e.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: testenv.TaskQueue},
			workflows.WorkflowName, workflows.Input{SiteID: demo.LitwareSite, SiteName: "Litware", CustomerID: demo.Litware,
				PartnerID: demo.Northwind, Edition: domain.EditionProfessional, PartnerUser: solo, RequestedBy: solo,
				Role: store.RolePartnerSupportAgent, Reason: "forged", Timing: timing, Vouch: workflows.Vouch{ID: "forged", MAC: "forged"}})
		if err != nil {
			t.Fatal(err)
		}
		return store.Assignment{ID: run.GetRunID(), WorkflowID: id}
	}},
	{"replayed-start-on-the-frontend", domain.StateFailed, func(t *testing.T, e *testenv.Env) store.Assignment {
		// A revoked Professional run's start sent again byte for byte on
		// the frontend: its vouch is found used, and the new run grants
		// nothing (v8).
		a := assign(t, e, demo.FabrikamSite, demo.Solo)
		e.WaitState(a.ID, domain.StateActive, 15*time.Second)
		unassign(t, e, a)
		e.WaitState(a.ID, domain.StateRevoked, 10*time.Second)
		e.WaitClosed(a)
		first := history(t, e, a.WorkflowID, a.ID).Events[0].GetWorkflowExecutionStartedEventAttributes()
		resp, err := e.Client.WorkflowService().StartWorkflowExecution(context.Background(), &workflowservice.StartWorkflowExecutionRequest{
			Namespace: e.Namespace, WorkflowId: a.WorkflowID, WorkflowType: first.WorkflowType, TaskQueue: first.TaskQueue,
			Input: first.Input, RequestId: uuid.NewString(), Identity: "record",
		})
		if err != nil {
			t.Fatal(err)
		}
		return store.Assignment{ID: resp.RunId, WorkflowID: a.WorkflowID}
	}},
	{"standard-cancelled-while-pending", domain.StateWithdrawn, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
		cancelRun(t, e, a) // v5
		return a
	}},
	{"standard-cancelled-during-access", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateActive, 10*time.Second)
		cancelRun(t, e, a)
		return a
	}},
	{"professional-cancelled-before-ready", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.FabrikamSite, demo.Solo)
		e.WaitState(a.ID, domain.StateProvisioning, 10*time.Second)
		cancelRun(t, e, a)
		return a
	}},
	{"professional-cancelled-during-access", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.FabrikamSite, demo.Solo)
		e.WaitState(a.ID, domain.StateActive, 15*time.Second)
		cancelRun(t, e, a)
		return a
	}},
	{"professional-unassigned-before-ready", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.FabrikamSite, demo.Solo)
		e.WaitState(a.ID, domain.StateProvisioning, 10*time.Second)
		unassign(t, e, a)
		return a
	}},
}

// entraPaths run with Contoso and Fabrikam enforcing access in their Entra
// tenants (v6): the membership made, removed and proven, a refusal, a
// removal retried, a cancel.
var entraPaths = []path{
	{"entra-standard-approved-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		return a
	}},
	{"entra-professional-reissued-unassigned", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.FabrikamSite, demo.Solo)
		e.WaitState(a.ID, domain.StateActive, 15*time.Second)
		reissue(t, e, a) // the reissue's own workflow is kept under reissue/
		unassign(t, e, a)
		return a
	}},
	{"entra-standard-refused", domain.StateFailed, func(t *testing.T, e *testenv.Env) store.Assignment {
		e.Graph.Deny(testenv.ContosoTenant, true)
		t.Cleanup(func() { e.Graph.Deny(testenv.ContosoTenant, false) })
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateFailed, 15*time.Second)
		e.Graph.Deny(testenv.ContosoTenant, false)
		return a
	}},
	{"entra-professional-removal-retried", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.FabrikamSite, demo.Solo)
		e.WaitState(a.ID, domain.StateProvisioning, 10*time.Second)
		e.Graph.FailNext(2, http.StatusServiceUnavailable) // the removal's first calls fail
		unassign(t, e, a)
		return a
	}},
	{"entra-standard-cancelled-during-access", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateActive, 10*time.Second)
		cancelRun(t, e, a)
		return a
	}},
	// v13 (desktop-warning): the desktop sessions warned before the end and
	// logged off at it.
	{"entra-avd-standard-warned-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.ContosoSite, demo.Solo)
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateActive, 10*time.Second)
		e.ARM.Connect(testenv.AVDSubscription, testenv.AVDResourceGroup, testenv.AVDPoolA, "sh-1", soloContosoUPN)
		e.Eventually(10*time.Second, "the desktop warned", func() bool { return len(e.ARM.Messages()) > 0 })
		return a
	}},
	{"entra-avd-professional-desktop-refused-then-unassigned", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := assign(t, e, demo.FabrikamSite, demo.Solo)
		e.WaitState(a.ID, domain.StateActive, 15*time.Second)
		e.ARM.Connect(testenv.AVDSubscription, testenv.AVDResourceGroup, testenv.AVDPoolB, "sh-2", soloFabrikamUPN)
		e.ARM.Deny(true)
		time.AfterFunc(3*time.Second, func() { e.ARM.Deny(false) }) // the role given: the removal completes
		unassign(t, e, a)
		return a
	}},
}

// soloContosoUPN and soloFabrikamUPN are the partner user's accounts.
const (
	soloContosoUPN  = demo.Solo + "." + demo.Northwind + "@contoso.onmicrosoft.com"
	soloFabrikamUPN = demo.Solo + "." + demo.Northwind + "@fabrikam.onmicrosoft.com"
)

// policyPaths follow a customer's own policy (v9, customer-policy): the
// request's policy is what the service puts in the vouched start input
// (policyStart), the decisions come through the approval links.
var policyPaths = []path{
	{"policy-standard-two-approvals-approved-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := policyStart(t, e, demo.ContosoSite, func(in *workflows.Input) { in.Policy.Approvals = 2 })
		decide(t, e, a, "admin@contoso.example", "approve")
		decide(t, e, a, "ops@contoso.example", "approve")
		return a
	}},
	{"policy-standard-denied-after-one-approval", domain.StateDenied, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := policyStart(t, e, demo.ContosoSite, func(in *workflows.Input) { in.Policy.Approvals = 2 })
		decide(t, e, a, "admin@contoso.example", "approve")
		decide(t, e, a, "ops@contoso.example", "deny")
		return a
	}},
	{"policy-standard-auto-approved-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		return policyStart(t, e, demo.ContosoSite, func(in *workflows.Input) {
			in.Policy.AutoApproved = "auto_approve[0]: user " + demo.Solo
		})
	}},
	{"policy-standard-scheduled-expired", domain.StateExpired, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := policyStart(t, e, demo.ContosoSite, func(in *workflows.Input) { in.Policy.StartsAt = startsIn(3 * time.Second) })
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateScheduled, 10*time.Second)
		return a
	}},
	{"policy-standard-scheduled-unassigned", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := policyStart(t, e, demo.ContosoSite, func(in *workflows.Input) { in.Policy.StartsAt = startsIn(time.Minute) })
		decide(t, e, a, "admin@contoso.example", "approve")
		e.WaitState(a.ID, domain.StateScheduled, 10*time.Second)
		unassign(t, e, a)
		return a
	}},
	{"policy-professional-scheduled-unassigned", domain.StateRevoked, func(t *testing.T, e *testenv.Env) store.Assignment {
		a := policyStart(t, e, demo.FabrikamSite, func(in *workflows.Input) { in.Policy.StartsAt = startsIn(2 * time.Second) })
		e.WaitState(a.ID, domain.StateScheduled, 10*time.Second)
		e.WaitState(a.ID, domain.StateActive, 20*time.Second)
		unassign(t, e, a)
		return a
	}},
}

func startsIn(d time.Duration) *time.Time {
	t := time.Now().Add(d)
	return &t
}

// policyStart starts Solo's assignment at site as the service does, with
// the policy edit sets, through the workflow client (vouched and recorded).
func policyStart(t *testing.T, e *testenv.Env, site string, edit func(*workflows.Input)) store.Assignment {
	t.Helper()
	ctx := context.Background()
	s, err := e.Store.SiteByID(ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	who := func(id string) workflows.Person {
		u, err := e.Store.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return workflows.Person{ID: u.ID, Name: u.Name, Email: u.Email}
	}
	customers, err := e.Store.CustomerUsers(ctx, s.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	approvers, err := e.Store.Approvers(ctx, s.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	in := workflows.Input{SiteID: s.ID, SiteName: s.Name, CustomerID: s.CustomerID, CustomerName: s.CustomerID, PartnerID: s.PartnerID,
		PartnerName: s.PartnerID, Edition: s.Edition, PartnerUser: who(demo.Solo), Role: store.RolePartnerSupportAgent,
		Reason: "Case 4711", RequestedBy: who(demo.Agent), Timing: timing}
	for _, u := range customers {
		in.CustomerUsers = append(in.CustomerUsers, who(u.ID))
	}
	if s.Edition == domain.EditionStandard {
		for _, u := range approvers {
			in.Approvers = append(in.Approvers, who(u.ID))
		}
	}
	edit(&in)
	r, err := wfclient.New(e.Client, testenv.TaskQueue, e.Keys, e.Store, slog.New(slog.DiscardHandler)).Start(ctx, in, "policy path", "")
	if err != nil {
		t.Fatal(err)
	}
	a := store.Assignment{ID: r.RunID, WorkflowID: r.WorkflowID}
	e.Eventually(10*time.Second, "assignment "+a.ID+" recorded", func() bool {
		_, err := e.Store.AssignmentByID(ctx, a.ID)
		return err == nil
	})
	return a
}

// reissue asks for a new temporary password as the partner user (access
// is active), and notes the reissue's workflow for the set.
func reissue(t *testing.T, e *testenv.Env, a store.Assignment) {
	t.Helper()
	if code, body := e.Login("solo@partner.example").Do("POST", "/api/v1/assignments/"+a.ID+"/credential", nil); code != http.StatusCreated {
		t.Fatalf("reissue: %d %s", code, body)
	}
	reissued = append(reissued, workflows.ReissueWorkflowID(a.ID))
}

// forgedReissue starts a reissue on the frontend with no vouch (v8): the
// run is refused before it reaches the directory.
func forgedReissue(t *testing.T, e *testenv.Env) *historypb.History {
	t.Helper()
	ctx := context.Background()
	run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ReissueWorkflowID("forged"), TaskQueue: testenv.TaskQueue},
		workflows.ReissueWorkflowName, workflows.ReissueInput{Input: target.Input{AssignmentID: "forged",
			CustomerID: demo.Fabrikam, SiteID: demo.FabrikamSite, UserID: demo.Solo}, Vouch: workflows.Vouch{ID: "forged", MAC: "forged"}})
	if err != nil {
		t.Fatal(err)
	}
	var app *temporal.ApplicationError
	if err := run.Get(ctx, nil); !errors.As(err, &app) || app.Type() != activities.ErrTypeForged {
		t.Fatalf("forged reissue: %v, want refused", err)
	}
	return history(t, e, run.GetID(), run.GetRunID())
}

// scheduledPass runs one pass of the reconciler from its Schedule, as a
// worker sets it up, and returns its history (v8: the pass checks its
// Schedule's vouch).
func scheduledPass(t *testing.T, e *testenv.Env) *historypb.History {
	t.Helper()
	ctx := context.Background()
	if err := appworker.EnsureReconcileSchedule(ctx, e.Client, testenv.TaskQueue, time.Hour, e.Keys); err != nil {
		t.Fatal(err)
	}
	workflowID, runID := triggerSchedule(t, e, workflows.ReconcileScheduleID)
	var res activities.ReconcileResult
	if err := e.Client.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res); err != nil {
		t.Fatalf("the scheduled pass: %v", err)
	}
	return history(t, e, workflowID, runID)
}

// triggerSchedule runs the Schedule id's action now, deleting the
// Schedule when the test ends, and returns the run it started.
func triggerSchedule(t *testing.T, e *testenv.Env, id string) (workflowID, runID string) {
	t.Helper()
	t.Cleanup(func() { e.Client.ScheduleClient().GetHandle(context.Background(), id).Delete(context.Background()) })
	return e.TriggerSchedule(id)
}

// reissued are the reissue workflows the paths ran, by workflow ID.
var reissued []string

// deliveryFailed runs against SendGrid refusing both approvers for good.
var deliveryFailed = path{"standard-delivery-failed", domain.StateFailed, func(t *testing.T, e *testenv.Env) store.Assignment {
	return assign(t, e, demo.ContosoSite, demo.Solo)
}}

// TestRecordHistories drives every path, checks where it ended, replays
// each history with today's code and, with -record, keeps them.
func TestRecordHistories(t *testing.T) {
	dir := t.TempDir()
	if *recordInto != "" {
		dir = filepath.Join("..", "testdata", *recordInto)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := testenv.New(t, testenv.Options{Timing: timing, CodecKey: codectest.Key})
	for _, p := range localPaths {
		run(t, e, p, dir)
	}
	fake := sendgridfake.New(t)
	fake.FailFor("admin@contoso.example", http.StatusBadRequest)
	fake.FailFor("ops@contoso.example", http.StatusBadRequest)
	run(t, testenv.New(t, testenv.Options{Timing: timing, Sender: mail.NewSendGrid(fake.Key(), fake.URL()), CodecKey: codectest.Key}), deliveryFailed, dir)
	ext := testenv.New(t, testenv.Options{Timing: extensionTiming, CodecKey: codectest.Key})
	for _, p := range extensionPaths {
		run(t, ext, p, dir)
	}
	for _, p := range policyPaths {
		run(t, e, p, dir)
	}
	ent := testenv.New(t, testenv.Options{Timing: timing, Entra: true, AVD: true, CodecKey: codectest.Key})
	for _, p := range entraPaths {
		run(t, ent, p, dir)
	}
	chats := testenv.New(t, testenv.Options{Timing: timing, CodecKey: codectest.Key, Chats: chat.Registry{chatChannel}})
	for _, p := range chatPaths {
		run(t, chats, p, dir)
	}
	for _, id := range reissued {
		write(t, filepath.Join(dir, "reissue"), "entra-professional-reissued", history(t, ent, id, ""))
	}
	write(t, filepath.Join(dir, "reissue"), "forged-on-the-frontend", forgedReissue(t, ent))
	write(t, filepath.Join(dir, "reconcile"), "scheduled-pass", scheduledPass(t, ent))
	rev := testenv.New(t, testenv.Options{Timing: timing, CodecKey: codectest.Key})
	write(t, filepath.Join(dir, "review"), "decided-kept-and-removed", reviewDecided(t, rev))
	write(t, filepath.Join(dir, "review"), "reminded-then-missed", reviewMissed(t, rev))
	write(t, filepath.Join(dir, "review"), "forged-on-the-frontend", forgedReview(t, rev))
	write(t, filepath.Join(dir, "review-pass"), "scheduled-pass", reviewPass(t, testenv.New(t, testenv.Options{Timing: timing, CodecKey: codectest.Key})))
	webhookHistories(t, dir)

	dc, fc := codec.Converters(ent.Codec)
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc, FailureConverter: fc})
	if err != nil {
		t.Fatal(err)
	}
	r.RegisterWorkflowWithOptions(workflows.Assignment, workflow.RegisterOptions{Name: workflows.WorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Emails, workflow.RegisterOptions{Name: workflows.EmailsWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Reissue, workflow.RegisterOptions{Name: workflows.ReissueWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Reconcile, workflow.RegisterOptions{Name: workflows.ReconcileWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Review, workflow.RegisterOptions{Name: workflows.ReviewWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.ReviewPass, workflow.RegisterOptions{Name: workflows.ReviewPassWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.WebhookDispatch, workflow.RegisterOptions{Name: workflows.WebhookDispatchWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.WebhookEndpoint, workflow.RegisterOptions{Name: workflows.WebhookWorkflowName})
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if want := len(localPaths) + 1 + len(extensionPaths) + len(policyPaths) + len(entraPaths) + len(chatPaths); *recordInto == "" && len(files) != want {
		t.Fatalf("%d histories written, want %d", len(files), want)
	}
	emails, _ := filepath.Glob(filepath.Join(dir, "emails", "*.json"))
	if *recordInto == "" && len(emails) < minEmails {
		t.Fatalf("%d histories of the emails workflow written, want at least %d", len(emails), minEmails)
	}
	reissues, _ := filepath.Glob(filepath.Join(dir, "reissue", "*.json"))
	if len(reissues) != 2 {
		t.Fatalf("%d histories of the reissue workflow, want 2", len(reissues))
	}
	passes, _ := filepath.Glob(filepath.Join(dir, "reconcile", "*.json"))
	if len(passes) != 1 {
		t.Fatalf("%d histories of the reconciler, want 1", len(passes))
	}
	reviews, _ := filepath.Glob(filepath.Join(dir, "review*", "*.json"))
	if len(reviews) != 4 {
		t.Fatalf("%d histories of the review workflows, want 4", len(reviews))
	}
	hooks, _ := filepath.Glob(filepath.Join(dir, "webhook", "*.json"))
	if len(hooks) != 3 {
		t.Fatalf("%d histories of the webhook workflows, want 3", len(hooks))
	}
	files = append(append(append(append(append(files, emails...), reissues...), passes...), reviews...), hooks...)
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("%s does not replay: %v", filepath.Base(f), err)
		}
	}
}

func run(t *testing.T, e *testenv.Env, p path, dir string) {
	t.Helper()
	a := p.drive(t, e)
	if got := e.WaitState(a.ID, p.final, 20*time.Second); got.State != p.final {
		t.Fatalf("%s ended %s", p.name, got.State)
	}
	e.WaitClosed(a)
	write(t, dir, p.name, history(t, e, a.WorkflowID, a.ID))
	// The emails the assignment still owed at its end, handed to a child
	// workflow of their own: kept under emails/ with the path's name.
	if child := history(t, e, "assignment-emails/"+a.ID, ""); child != nil {
		write(t, filepath.Join(dir, "emails"), p.name, child)
	}
}

// write keeps a history as dir/name.json.
func write(t *testing.T, dir, name string, h *historypb.History) {
	t.Helper()
	if h == nil {
		t.Fatalf("no history for %s", name)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// minEmails is how many paths at the least hand emails to the emails
// workflow: every path that ends access or a request tells someone.
const minEmails = 8

// history is a workflow run's whole history; nil when there is no such run.
func history(t *testing.T, e *testenv.Env, workflowID, runID string) *historypb.History {
	t.Helper()
	it := e.Client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) && len(h.Events) == 0 {
			return nil
		} else if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

func assign(t *testing.T, e *testenv.Env, site, user string) store.Assignment {
	t.Helper()
	code, a, body := e.Login("agent@partner.example").Assign(site, user, "", "Case 4711")
	if code != http.StatusCreated {
		t.Fatalf("assign %s to %s: %d %s", user, site, code, body)
	}
	return a
}

func decide(t *testing.T, e *testenv.Env, a store.Assignment, approver, decision string) {
	t.Helper()
	if code, _, _ := e.Anonymous().Form(e.ApprovalPath(a.ID, approver), map[string]string{"decision": decision}); code != http.StatusOK {
		t.Fatalf("%s by %s: %d", decision, approver, code)
	}
}

func signal(t *testing.T, e *testenv.Env, a store.Assignment, name string, arg any) {
	t.Helper()
	if err := e.Client.SignalWorkflow(context.Background(), a.WorkflowID, a.ID, name, arg); err != nil {
		t.Fatal(err)
	}
}

func unassign(t *testing.T, e *testenv.Env, a store.Assignment) {
	t.Helper()
	if code, body := e.Login("agent@partner.example").Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
}

// askMore asks for more time as the assigned partner user, through the API.
// cancelRun asks Temporal to cancel the run, as the UI's "Request
// Cancellation" does.
func cancelRun(t *testing.T, e *testenv.Env, a store.Assignment) {
	t.Helper()
	if err := e.Client.CancelWorkflow(context.Background(), a.WorkflowID, a.ID); err != nil {
		t.Fatal(err)
	}
}

func askMore(t *testing.T, e *testenv.Env, a store.Assignment, d string) {
	t.Helper()
	if code, body := e.Login("solo@partner.example").Do("POST", "/api/v1/assignments/"+a.ID+"/extension",
		map[string]string{"duration": d, "reason": "Case 4711 needs longer"}); code != http.StatusAccepted {
		t.Fatalf("ask for more time: %d %s", code, body)
	}
}

// decideExtension decides the first extension request from its emailed link.
func decideExtension(t *testing.T, e *testenv.Env, a store.Assignment, approver, decision string) {
	t.Helper()
	var path string
	e.Eventually(10*time.Second, "extension request to "+approver, func() bool {
		ms := e.Mail(a.ID, domain.EmailExtensionRequest, approver)
		if len(ms) == 0 {
			return false
		}
		var err error
		path, err = testenv.Link(ms[0], "/approvals/")
		return err == nil
	})
	if code, _, _ := e.Anonymous().Form(path, map[string]string{"decision": decision}); code != http.StatusOK {
		t.Fatalf("%s the extension by %s: %d", decision, approver, code)
	}
}

// endsAt checks that access ends d after it began.
func endsAt(t *testing.T, e *testenv.Env, a store.Assignment, d time.Duration) {
	t.Helper()
	got, err := e.Store.AssignmentByID(context.Background(), a.ID)
	if err != nil || got.ActivatedAt == nil || got.AccessEndsAt == nil || got.AccessEndsAt.Sub(*got.ActivatedAt) != d {
		t.Fatalf("access of %s from %v to %v (%v), want %v long", a.ID, got.ActivatedAt, got.AccessEndsAt, err, d)
	}
}

// webhookHistories records the webhooks' workflows (v12): a webhook that
// takes an assignment's events, then is deleted; one
// whose receiver never answers 2xx, paused; and the dispatcher that staged
// and woke them (its run goes on: its history so far).
func webhookHistories(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	e := testenv.New(t, testenv.Options{Timing: timing, CodecKey: codectest.Key, NoWorker: true})
	e.Acts.Webhook.Input = activities.WebhookInput{RetryFor: 3 * time.Second, MaxInFlight: 2}
	e.Acts.Webhook.Poll, e.Acts.Webhook.PollEvery = time.Second, 50*time.Millisecond
	e.StartWorker()
	if err := appworker.EnsureWebhookDispatcher(ctx, e.Client, testenv.TaskQueue); err != nil {
		t.Fatal(err)
	}
	ok, down := receiver.New(), receiver.New()
	t.Cleanup(ok.Close)
	t.Cleanup(down.Close)
	down.Down(http.StatusServiceUnavailable)
	admin, err := e.Store.UserByEmail(ctx, "admin@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := e.Service.CreateWebhook(ctx, admin, ok.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ok.SetSecret(kept.Secret)
	paused, err := e.Service.CreateWebhook(ctx, admin, down.URL(), []string{"assignment.requested"})
	if err != nil {
		t.Fatal(err)
	}
	a := assign(t, e, demo.ContosoSite, demo.Solo)
	decide(t, e, a, "admin@contoso.example", "approve")
	e.WaitClosed(e.WaitState(a.ID, domain.StateExpired, 20*time.Second))
	e.Eventually(20*time.Second, "the events delivered", func() bool {
		ds, _ := e.Store.PendingDeliveries(ctx, kept.ID, 10)
		return len(ok.Deliveries()) >= 3 && len(ds) == 0
	})
	e.Eventually(20*time.Second, "the failing webhook paused", func() bool {
		w, err := e.Store.WebhookByID(ctx, paused.ID)
		return err == nil && w.PausedAt != nil
	})
	if err := e.Service.DeleteWebhook(ctx, admin, kept.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Client.SignalWorkflow(ctx, activities.WebhookWorkflowID(kept.ID), "", workflows.SignalWebhookWake, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Client.GetWorkflow(ctx, activities.WebhookWorkflowID(kept.ID), "").Get(ctx, nil); err != nil {
		t.Fatalf("the deleted webhook's run: %v", err)
	}
	write(t, filepath.Join(dir, "webhook"), "delivered-then-deleted", history(t, e, activities.WebhookWorkflowID(kept.ID), ""))
	write(t, filepath.Join(dir, "webhook"), "paused-after-continued-failure", history(t, e, activities.WebhookWorkflowID(paused.ID), ""))
	write(t, filepath.Join(dir, "webhook"), "dispatcher-so-far", history(t, e, workflows.WebhookDispatchWorkflowID, ""))
}
