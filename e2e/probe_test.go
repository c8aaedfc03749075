package e2e

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/slapdtest"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/workflows"
)

// Probes of the Temporal frontend by someone who reaches it with none of
// the service's keys (SPEC §7: every workflow type is a door). Each tries
// one attack that worked before every input was vouched for and used once,
// and checks that it granted, enabled, minted and showed nothing, and that
// the refusal is in the audit log.

// attacker is a client of the environment's namespace with no key: its
// payloads are plain JSON, which the workers' codec lets through.
func attacker(t *testing.T, e *testenv.Env) client.Client {
	t.Helper()
	c := e.Temporal.NewClientWithOptions(client.Options{Namespace: e.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	t.Cleanup(c.Close)
	return c
}

// refusedRun waits for a run the attacker started to fail, refused.
func refusedRun(t *testing.T, e *testenv.Env, workflowID, runID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := e.Client.GetWorkflow(ctx, workflowID, runID).Get(ctx, nil)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeForged {
		t.Fatalf("run %s of %s closed with %v, want it refused (%s)", runID, workflowID, err, activities.ErrTypeForged)
	}
}

// refusedAssignment waits for an assignment run to end failed, refused as
// start.forged, and returns its status.
func refusedAssignment(t *testing.T, e *testenv.Env, workflowID, runID string) workflows.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var st workflows.Status
	if err := e.Client.GetWorkflow(ctx, workflowID, runID).Get(ctx, &st); err != nil {
		t.Fatalf("run %s: %v", runID, err)
	}
	if st.State != domain.StateFailed || !strings.Contains(st.Failure, "the start was refused") {
		t.Fatalf("run %s: %s %q, want failed, the start refused", runID, st.State, st.Failure)
	}
	return st
}

// auditedOnce checks that the audit log holds action once, saying what.
func auditedOnce(t *testing.T, e *testenv.Env, f store.AuditFilter, action domain.Action, what string) {
	t.Helper()
	log, err := e.Store.AuditLog(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range log {
		if r.Action == action && strings.Contains(r.Detail, what) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d %s entries saying %q, want 1, in %+v", n, action, what, log)
	}
}

// probeTarget is a customer directory the probes run against: the Entra
// stand-in or a real slapd, holding Fabrikam's Professional site.
type probeTarget struct {
	name string
	env  func(t *testing.T) (*testenv.Env, directory)
}

// directory is what a probe reads of the partner user's account.
type directory interface {
	// member: Solo's account is in the site's access group.
	member() bool
	// enabled: the account can sign in (Entra: enabled; LDAP: not
	// locked, seen as password binding).
	enabled(password string) bool
	// resets counts the passwords set on the account so far (Entra), or -1
	// where the directory does not count them.
	resets() int
	// locks: an ended access disables the account (not an OpenLDAP
	// without ppolicy, where the membership alone is the access).
	locks() bool
}

type entraDirectory struct{ e *entraEnv }

func (d entraDirectory) member() bool {
	return slices.Contains(d.e.members(fabrikamTenant), soloFabrikamUPN)
}
func (d entraDirectory) enabled(string) bool {
	u, _ := d.e.account(fabrikamTenant, soloFabrikamUPN)
	return u.Enabled
}
func (d entraDirectory) locks() bool { return true }
func (d entraDirectory) resets() int {
	u, _ := d.e.account(fabrikamTenant, soloFabrikamUPN)
	return u.PasswordsSet
}

type ldapDirectory struct{ s *slapdtest.Server }

func (d ldapDirectory) member() bool {
	return slices.Contains(d.s.Members(slapdtest.GroupDN), soloLDAP)
}
func (d ldapDirectory) enabled(password string) bool { return d.s.Bind(soloLDAP, password) == nil }
func (d ldapDirectory) resets() int                  { return -1 }
func (d ldapDirectory) locks() bool                  { return d.s.PPolicy }

var targets = []probeTarget{
	{"entra", func(t *testing.T) (*testenv.Env, directory) {
		e := newEntraEnv(t, testenv.Options{})
		return e.Env, entraDirectory{e}
	}},
	{"ldap", func(t *testing.T) (*testenv.Env, directory) {
		e, s := ldapEnv(t, testenv.Options{}, "")
		ctx := context.Background()
		contoso, _ := e.Store.CustomerTarget(ctx, demo.Contoso)
		if err := e.Store.SetCustomerTarget(ctx, demo.Fabrikam, &contoso); err != nil {
			t.Fatal(err)
		}
		if err := e.Store.SetSiteAccessGroup(ctx, demo.FabrikamSite, slapdtest.GroupDN); err != nil {
			t.Fatal(err)
		}
		return e, ldapDirectory{s}
	}},
}

// professional gives Solo Professional access at Fabrikam, in the
// directory, and returns it with the first password shown.
func professional(t *testing.T, e *testenv.Env) (store.Assignment, string) {
	t.Helper()
	code, a, body := e.Login("solo@partner.example").Assign(demo.FabrikamSite, demo.Solo, "", "Case 99: support")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	_, password := viewCredential(t, e, a.ID)
	return a, password
}

// revoked ends Solo's Professional access and waits until the run closed.
func revoked(t *testing.T, e *testenv.Env, a store.Assignment) {
	t.Helper()
	if code, body := e.Login("solo@partner.example").Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateRevoked, 15*time.Second)
	e.WaitClosed(a)
}

// nothingGranted checks that the directory, the store and the credential
// page still show Solo's ended access as ended.
func nothingGranted(t *testing.T, e *testenv.Env, d directory, a store.Assignment, password string, resets int) {
	t.Helper()
	ctx := context.Background()
	if d.member() || d.resets() != resets {
		t.Fatalf("in the directory: member %v, %d passwords set (want %d)", d.member(), d.resets(), resets)
	}
	if d.locks() && d.enabled(password) {
		t.Fatal("the account is enabled again")
	}
	if got, err := e.Store.AssignmentByID(ctx, a.ID); err != nil || got.State != domain.StateRevoked {
		t.Fatalf("the store's assignment: %s (%v), want it still revoked", got.State, err)
	}
	if _, err := e.Store.ActiveGrant(ctx, demo.FabrikamSite, demo.Solo, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a grant is in force: %v", err)
	}
	if code, _, _ := e.Login("solo@partner.example").Form("/credentials/"+a.ID, nil); code == http.StatusOK {
		t.Fatal("the credential page shows a password")
	}
}

// startedEvent is the first event of a run: what it was started with.
func startedEvent(t *testing.T, e *testenv.Env, workflowID, runID string) *historypb.WorkflowExecutionStartedEventAttributes {
	t.Helper()
	it := e.Client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	return ev.GetWorkflowExecutionStartedEventAttributes()
}

// A recorded start input, sent again byte for byte under the same workflow
// ID once the run ended, re-granted the revoked Professional access: the
// account enabled, back in the group, a fresh password. Now its vouch is
// found used, and the new run ends failed.
func TestProbeReplayedStartAfterTheRunEndedGrantsNothing(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			e, d := tg.env(t)
			a, password := professional(t, e)
			revoked(t, e, a)
			resets := d.resets()

			first := startedEvent(t, e, a.WorkflowID, a.ID)
			resp, err := attacker(t, e).WorkflowService().StartWorkflowExecution(context.Background(), &workflowservice.StartWorkflowExecutionRequest{
				Namespace: e.Namespace, WorkflowId: a.WorkflowID, WorkflowType: first.WorkflowType,
				TaskQueue: first.TaskQueue, Input: first.Input, RequestId: uuid.NewString(), Identity: "probe",
			})
			if err != nil {
				t.Fatal(err)
			}
			st := refusedAssignment(t, e, a.WorkflowID, resp.RunId)
			if !strings.Contains(st.Failure, "already used") {
				t.Fatalf("failure %q, want the vouch named as already used", st.Failure)
			}
			nothingGranted(t, e, d, a, password, resets)
			auditedOnce(t, e, store.AuditFilter{AssignmentID: resp.RunId}, "start.forged", "already used")
		})
	}
}

// Reset of a revoked Professional run to its first workflow task (what the
// Temporal UI's Reset does) re-ran the activation: the account enabled and
// in the group again, with a new password. Now the reset run's check finds
// the vouch used by the first run, and nothing is provisioned.
func TestProbeResetOfARevokedRunGrantsNothing(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			e, d := tg.env(t)
			a, password := professional(t, e)
			revoked(t, e, a)
			resets := d.resets()

			ctx := context.Background()
			it := e.Client.GetWorkflowHistory(ctx, a.WorkflowID, a.ID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			var firstTask int64
			for it.HasNext() && firstTask == 0 {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
					firstTask = ev.GetEventId()
				}
			}
			resp, err := attacker(t, e).ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
				Namespace: e.Namespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: a.WorkflowID, RunId: a.ID},
				Reason: "probe", WorkflowTaskFinishEventId: firstTask, RequestId: uuid.NewString(),
			})
			if err != nil {
				t.Fatal(err)
			}
			st := refusedAssignment(t, e, a.WorkflowID, resp.RunId)
			if st.AssignmentID != a.ID || !strings.Contains(st.Failure, "already used") {
				t.Fatalf("reset run: %+v, want assignment %s refused as already used", st, a.ID)
			}
			nothingGranted(t, e, d, a, password, resets)
			auditedOnce(t, e, store.AuditFilter{AssignmentID: a.ID}, "start.forged", "already used")
		})
	}
}

// A forged reissue naming another partner's user handed the attacker a
// fresh password of the victim's account (on the attacker's own credential
// page), and the victim's password stopped working. Now the run is refused
// before it reaches the directory.
func TestProbeForgedReissueOfAnotherPartnersUserChangesNothing(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			e, d := tg.env(t)
			_, password := professional(t, e)
			resets := d.resets()
			// The attacker: Tailspin's agent, with access of its own at Adatum.
			code, own, body := e.Login("agent@tailspin.example").Assign(demo.AdatumSite, demo.TailspinAgent, "", "Case 1: ours")
			if code != http.StatusCreated {
				t.Fatalf("assign: %d %s", code, body)
			}
			e.Anonymous().Form(e.ApprovalPath(own.ID, "admin@adatum.example"), map[string]string{"decision": "approve"})
			e.WaitState(own.ID, domain.StateActive, 15*time.Second)

			in := workflows.ReissueInput{Input: target.Input{AssignmentID: own.ID, CustomerID: demo.Fabrikam,
				SiteID: demo.FabrikamSite, PartnerID: demo.Northwind, UserID: demo.Solo, Edition: domain.EditionProfessional, At: time.Now()},
				Vouch: workflows.Vouch{ID: "probe", SentAt: time.Now(), MAC: "probe"}}
			run, err := attacker(t, e).ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
				ID: workflows.ReissueWorkflowID(own.ID), TaskQueue: testenv.TaskQueue}, workflows.ReissueWorkflowName, in)
			if err != nil {
				t.Fatal(err)
			}
			refusedRun(t, e, run.GetID(), run.GetRunID())
			if d.resets() != resets {
				t.Fatalf("%d passwords set on the victim's account, want %d", d.resets(), resets)
			}
			if !d.enabled(password) {
				t.Fatal("the victim's password stopped working")
			}
			if code, body, _ := e.Login("agent@tailspin.example").Form("/credentials/"+own.ID, nil); code == http.StatusOK &&
				strings.Contains(string(body), "northwind-solo") {
				t.Fatalf("the attacker's credential page shows the victim's account:\n%s", body)
			}
			auditedOnce(t, e, store.AuditFilter{AssignmentID: own.ID}, "reissue.forged", "no valid signature")
		})
	}
}

// A forged emails run asking for a pending request's approval link to an
// address the attacker chose minted a real link and sent it there; posting
// it approved the request. Now the run is refused and sends nothing.
func TestProbeForgedEmailsRunMintsNoLink(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 4711: deploy update")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	const evil = "probe@attacker.example"
	in := workflows.EmailsInput{AssignmentID: a.ID, Emails: []activities.EmailRequest{{AssignmentID: a.ID, Kind: domain.EmailApprovalRequest,
		To: activities.Recipient{ID: demo.ContosoAdmin, Name: "Casey Contoso", Email: evil}}}}
	run, err := attacker(t, e).ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.EmailsWorkflowID(a.ID), TaskQueue: testenv.TaskQueue}, workflows.EmailsWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	refusedRun(t, e, run.GetID(), run.GetRunID())
	if got := e.Mail(a.ID, domain.EmailApprovalRequest, evil); len(got) != 0 {
		t.Fatalf("an approval link went to the attacker: %+v", got)
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.State != domain.StatePendingApproval {
		t.Fatalf("state %s, want still pending", got.State)
	}
	auditedOnce(t, e, store.AuditFilter{AssignmentID: a.ID}, "email.forged", "no valid signature")
}

// Forged starts of every type the app starts: none does anything, each
// fails or ends failed, and each is audited.
func TestProbeForgedStartsOfEveryTypeDoNothing(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := attacker(t, e)
	forged := workflows.Vouch{ID: "probe", SentAt: time.Now(), MAC: "probe"}

	// The assignment: Solo at Fabrikam's Professional site.
	wf := workflows.WorkflowID(demo.FabrikamSite, demo.Solo)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf, TaskQueue: testenv.TaskQueue}, workflows.WorkflowName, workflows.Input{
		SiteID: demo.FabrikamSite, CustomerID: demo.Fabrikam, PartnerID: demo.Northwind, Edition: domain.EditionProfessional,
		PartnerUser: workflows.Person{ID: demo.Solo, Email: "solo@partner.example"}, Role: store.RolePartnerSupportAgent,
		Reason: "probe", Timing: testenv.FastTiming, Vouch: forged})
	if err != nil {
		t.Fatal(err)
	}
	refusedAssignment(t, e, wf, run.GetRunID())
	if _, err := e.Store.ActiveGrant(ctx, demo.FabrikamSite, demo.Solo, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a grant: %v", err)
	}
	if _, err := e.Store.CredentialByAssignment(ctx, run.GetRunID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a credential: %v", err)
	}
	auditedOnce(t, e, store.AuditFilter{AssignmentID: run.GetRunID()}, "start.forged", "no valid signature")

	// The reconciler, outside its Schedule.
	run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "probe-reconcile", TaskQueue: testenv.TaskQueue},
		workflows.ReconcileWorkflowName, workflows.ReconcileInput{Vouch: forged})
	if err != nil {
		t.Fatal(err)
	}
	refusedRun(t, e, run.GetID(), run.GetRunID())
	auditedOnce(t, e, store.AuditFilter{}, "start.forged", "reconcile start of probe-reconcile refused")

	// A vouched start signed by a server but never recorded: a start made
	// with a leaked key is refused too.
	in := workflows.ReissueInput{Input: target.Input{AssignmentID: "probe", UserID: demo.Solo}}
	in.Vouch = workflows.Vouch{ID: "leaked", SentAt: time.Now()}
	in.Vouch.MAC = e.Keys.SignSignal(in.SignedFields(workflows.ReissueWorkflowID("probe"))...)
	run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ReissueWorkflowID("probe"), TaskQueue: testenv.TaskQueue},
		workflows.ReissueWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	refusedRun(t, e, run.GetID(), run.GetRunID())
	auditedOnce(t, e, store.AuditFilter{}, "reissue.forged", "no Partner Access server recorded this start")
}
