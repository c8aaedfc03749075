package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/temporalproto"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

const (
	contosoTenant   = testenv.ContosoTenant
	fabrikamTenant  = testenv.FabrikamTenant
	graphSecret     = testenv.GraphSecret
	soloContosoUPN  = demo.Solo + "." + demo.Northwind + "@contoso.onmicrosoft.com"
	soloFabrikamUPN = demo.Solo + "." + demo.Northwind + "@fabrikam.onmicrosoft.com"
)

type entraEnv struct {
	*testenv.Env
	graph *devgraph.Directory
}

// newEntraEnv runs the service with Contoso and Fabrikam enforcing access
// in their own Entra tenants, through the real Graph client.
func newEntraEnv(t *testing.T, o testenv.Options) *entraEnv {
	t.Helper()
	o.Entra = true
	e := testenv.New(t, o)
	return &entraEnv{Env: e, graph: e.Graph}
}

func (e *entraEnv) account(tenant, upn string) (devgraph.User, bool) {
	for _, u := range e.graph.Snapshot(tenant).Users {
		if u.UPN == upn {
			return u, true
		}
	}
	return devgraph.User{}, false
}

func (e *entraEnv) members(tenant string) []string {
	return e.graph.Snapshot(tenant).Groups[0].Members
}

// noDeletes fails on any DELETE of a user, or of a member without /$ref.
func (e *entraEnv) noDeletes(t *testing.T) {
	t.Helper()
	for _, r := range e.graph.Requests() {
		if r.Method == http.MethodDelete && !strings.HasSuffix(r.Path, "/$ref") {
			t.Fatalf("%s %s: only memberships are removed, through /$ref", r.Method, r.Path)
		}
	}
}

// viewCredential opens the credential page as the partner user and
// returns the login and password shown once.
func viewCredential(t *testing.T, e *testenv.Env, id string) (string, string) {
	t.Helper()
	code, body, _ := e.Login("solo@partner.example").Form("/credentials/"+id, nil)
	if code != http.StatusOK {
		t.Fatalf("credential page: %d %s", code, body)
	}
	m := regexp.MustCompile(`(?s)<dd id="login">([^<]+)</dd>.*?<code id="password">([^<]+)</code>`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no login and password on the page:\n%s", body)
	}
	// As a browser shows them: html/template writes a + as &#43;.
	return html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2]))
}

func TestEntraStandardApprovedIsAMembershipThenExpiresProven(t *testing.T) {
	e := newEntraEnv(t, testenv.Options{})
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 4711: deploy update")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	if _, ok := e.account(contosoTenant, soloContosoUPN); ok {
		t.Fatal("an account was made before approval")
	}
	e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	// Active only once the directory holds the membership.
	u, ok := e.account(contosoTenant, soloContosoUPN)
	if !ok || !u.Enabled || !u.ForceChange || !slices.Contains(e.members(contosoTenant), soloContosoUPN) {
		t.Fatalf("while active: account %+v (%v), members %v", u, ok, e.members(contosoTenant))
	}
	login, password := viewCredential(t, e.Env, a.ID)
	if login != soloContosoUPN || len(password) < 12 {
		t.Fatalf("credential %q %q, want the UPN and a temporary password", login, password)
	}
	e.WaitState(a.ID, domain.StateExpired, 20*time.Second)
	e.WaitClosed(a)
	u, _ = e.account(contosoTenant, soloContosoUPN)
	if u.Enabled || u.SessionsRevoked == 0 || slices.Contains(e.members(contosoTenant), soloContosoUPN) {
		t.Fatalf("after expiry: account %+v, members %v; want disabled, sessions revoked, not a member", u, e.members(contosoTenant))
	}
	if got := e.members(contosoTenant); len(got) != 3 {
		t.Fatalf("the customer's own members changed: %v", got)
	}
	e.audited(t, a.ID, "access.provisioned", "revocation.proven")
	e.noDeletes(t)
	e.secretsKept(t, a, password)
}

func TestEntraProfessionalThenUnassignedAndAgain(t *testing.T) {
	e := newEntraEnv(t, testenv.Options{})
	solo := e.Login("solo@partner.example")
	first := func() store.Assignment {
		code, a, body := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 99: support")
		if code != http.StatusCreated {
			t.Fatalf("assign: %d %s", code, body)
		}
		e.WaitState(a.ID, domain.StateActive, 15*time.Second)
		return a
	}
	a := first()
	login, password := viewCredential(t, e.Env, a.ID)
	if login != soloFabrikamUPN {
		t.Fatalf("login %q", login)
	}
	// R5's reissue sets the new password in the directory too.
	if code, body := solo.Do("POST", "/api/v1/assignments/"+a.ID+"/credential", nil); code != http.StatusCreated {
		t.Fatalf("reissue: %d %s", code, body)
	}
	if u, _ := e.account(fabrikamTenant, soloFabrikamUPN); u.PasswordsSet != 2 || !u.ForceChange {
		t.Fatalf("after reissue: %+v, want the password reset in Entra, to be changed at sign-in", u)
	}
	if _, again := viewCredential(t, e.Env, a.ID); again == password || len(again) < 12 {
		t.Fatal("the reissued password is not a new one")
	}
	if code, body := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateRevoked, 15*time.Second)
	e.WaitClosed(a)
	if u, _ := e.account(fabrikamTenant, soloFabrikamUPN); u.Enabled || slices.Contains(e.members(fabrikamTenant), soloFabrikamUPN) {
		t.Fatalf("after unassign: %+v, members %v", u, e.members(fabrikamTenant))
	}
	// A second assignment enables the same account with a fresh password.
	b := first()
	u, _ := e.account(fabrikamTenant, soloFabrikamUPN)
	if n := len(e.graph.Snapshot(fabrikamTenant).Users); !u.Enabled || u.PasswordsSet != 3 || n != 4 {
		t.Fatalf("second activation: %+v, %d users; want the one account enabled with its password reset", u, n)
	}
	if _, password := viewCredential(t, e.Env, b.ID); len(password) < 12 {
		t.Fatal("no fresh temporary password")
	}
	e.noDeletes(t)
}

func TestEntraRefusalEndsFailedNamingThePermissionAndGrantsNothing(t *testing.T) {
	e := newEntraEnv(t, testenv.Options{})
	e.graph.Deny(contosoTenant, true)
	_, a, _ := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 4711: deploy update")
	e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	got := e.WaitState(a.ID, domain.StateFailed, 20*time.Second)
	if !strings.Contains(got.Failure, "User.ReadWrite.All") || !strings.Contains(got.Failure, "Authorization_RequestDenied") {
		t.Fatalf("failure %q, want the refusal and the missing permission", got.Failure)
	}
	code, body := e.Login("agent@partner.example").Do("GET", "/api/v1/assignments/"+a.ID, nil)
	if code != http.StatusOK || !strings.Contains(string(body), "User.ReadWrite.All") {
		t.Fatalf("API: %d %s, want the permission named", code, body)
	}
	if hasAccess(t, e.Env, demo.ContosoSite, demo.Solo) {
		t.Fatal("the gateway allows access the directory refused")
	}
	if _, ok := e.account(contosoTenant, soloContosoUPN); ok {
		t.Fatal("an account was made")
	}
	e.Eventually(10*time.Second, "both sides told", func() bool {
		return len(e.Mail(a.ID, domain.EmailAccessFailed, "solo@partner.example")) == 1 &&
			len(e.Mail(a.ID, domain.EmailAccessFailed, "admin@contoso.example")) == 1
	})
}

func (e *entraEnv) audited(t *testing.T, id string, actions ...string) {
	t.Helper()
	e.Eventually(10*time.Second, "audit "+strings.Join(actions, ", "), func() bool {
		log, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: id})
		var got []string
		for _, l := range log {
			got = append(got, string(l.Action))
		}
		for _, a := range actions {
			if !slices.Contains(got, a) {
				return false
			}
		}
		return true
	})
}

// secretsKept checks that neither the client secret nor the temporary
// password is in the workflow's history or the store's files.
func (e *entraEnv) secretsKept(t *testing.T, a store.Assignment, password string) {
	t.Helper()
	it := e.Client.GetWorkflowHistory(context.Background(), a.WorkflowID, a.ID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var all []byte
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, err := temporalproto.CustomJSONMarshalOptions{}.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		all = append(append(all, b...), '\n')
	}
	// Payloads are encrypted, then base64 in the JSON: read them decrypted.
	plain := decryptedPayloads(t, e.Env, all)
	for _, s := range []string{"solo@partner.example", "Case 4711"} {
		if strings.Contains(string(all), s) || !strings.Contains(plain, s) {
			t.Fatalf("%q: in the history as stored %v, once decrypted %v; want only once decrypted", s,
				strings.Contains(string(all), s), strings.Contains(plain, s))
		}
	}
	text := string(all) + plain
	if !strings.Contains(text, soloContosoUPN) {
		t.Fatal("the decoded history does not even hold the account's name: the check reads nothing")
	}
	for _, s := range []string{graphSecret, password} {
		if strings.Contains(text, s) {
			t.Fatalf("%q is in the workflow's history", s)
		}
	}
	// Nor in the store's files (the password is there only sealed).
	files, _ := filepath.Glob(filepath.Join(e.DataDir, "*"))
	if len(files) == 0 {
		t.Fatal("no store files to check")
	}
	read := ""
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		read += string(b)
		for _, s := range []string{graphSecret, password} {
			if strings.Contains(string(b), s) {
				t.Fatalf("%q is in %s", s, filepath.Base(f))
			}
		}
	}
	if !strings.Contains(read, soloContosoUPN) {
		t.Fatal("the store's files do not even hold the account's name: the check reads nothing")
	}
}

func TestEntraDriftIsRepairedBothWaysAndTheCustomersMembersAreLeftAlone(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration = time.Hour
	e := newEntraEnv(t, testenv.Options{Timing: timing})
	ctx := context.Background()
	agent := e.Login("agent@partner.example")
	// The agent's account is made, then its access ends.
	_, ended, _ := agent.Assign(demo.ContosoSite, demo.Agent, store.RolePartnerSupportAgent, "Case 1: done soon")
	e.Anonymous().Form(e.ApprovalPath(ended.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	e.WaitState(ended.ID, domain.StateActive, 15*time.Second)
	if code, body := agent.Do("DELETE", "/api/v1/assignments/"+ended.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitState(ended.ID, domain.StateRevoked, 15*time.Second)
	e.WaitClosed(ended)
	// Solo's access is in force.
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "Case 2: deploy update")
	e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)

	agentUPN := demo.Agent + "." + demo.Northwind + "@contoso.onmicrosoft.com"
	agentAcct, _ := e.account(contosoTenant, agentUPN)
	soloAcct, _ := e.account(contosoTenant, soloContosoUPN)
	// Someone adds the agent back by hand, takes Solo out, and the
	// customer adds a member of its own.
	e.graph.AddToGroup(contosoTenant, testenv.ContosoGroup, agentAcct.ID)
	e.graph.RemoveFromGroup(contosoTenant, testenv.ContosoGroup, soloAcct.ID)
	e.graph.AddToGroup(contosoTenant, testenv.ContosoGroup, e.graph.AddUser(contosoTenant, "dave@contoso.onmicrosoft.com", "dave"))

	res, err := e.Acts.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.DriftRemoved != 1 || res.DriftRestored != 1 || len(res.DriftFailed) != 0 {
		t.Fatalf("reconcile: %+v, want one removed and one restored", res)
	}
	want := []string{"alice@contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com", "carol@contoso.onmicrosoft.com",
		"dave@contoso.onmicrosoft.com", soloContosoUPN}
	if got := e.members(contosoTenant); !slices.Equal(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	log, _ := e.Store.AuditLog(ctx, store.AuditFilter{CustomerID: demo.Contoso, Limit: 200})
	seen := map[string]bool{}
	for _, l := range log {
		if strings.HasPrefix(string(l.Action), "drift.") && l.ActorID == "reconciler" {
			seen[string(l.Action)] = strings.Contains(l.Detail, demo.ContosoSite)
		}
	}
	if !seen["drift.removed"] || !seen["drift.restored"] {
		t.Fatalf("drift audited: %v", seen)
	}
	// The restored membership is in Solo's assignment's own log and timeline.
	own, _ := e.Store.AuditLog(ctx, store.AuditFilter{AssignmentID: a.ID})
	if !slices.ContainsFunc(own, func(l store.AuditEntry) bool { return l.Action == "drift.restored" }) {
		t.Fatalf("the assignment's audit log has no drift.restored: %+v", own)
	}
	if code, page := agent.Page("/assignments/" + a.ID); code != http.StatusOK || !strings.Contains(page, "the reconciler put it back") {
		t.Fatalf("assignment page %d, without the restored membership:\n%s", code, page)
	}
	// A second pass finds nothing to repair.
	if res, err := e.Acts.Reconcile(ctx); err != nil || res.DriftRemoved+res.DriftRestored != 0 {
		t.Fatalf("second pass: %+v %v", res, err)
	}
	e.noDeletes(t)
}

func TestEntraWithdrawnPermissionAndSuspensionRemoveTheMemberships(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration = time.Hour
	e := newEntraEnv(t, testenv.Options{Timing: timing})
	solo := e.Login("solo@partner.example")
	_, std, _ := solo.Assign(demo.ContosoSite, demo.Solo, "", "Case 3: Standard")
	e.Anonymous().Form(e.ApprovalPath(std.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	_, pro, _ := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 4: Professional")
	e.WaitState(std.ID, domain.StateActive, 15*time.Second)
	e.WaitState(pro.ID, domain.StateActive, 15*time.Second)
	if !slices.Contains(e.members(contosoTenant), soloContosoUPN) || !slices.Contains(e.members(fabrikamTenant), soloFabrikamUPN) {
		t.Fatal("memberships not made")
	}
	// Contoso withdraws its permission: the Contoso access ends there.
	if code, body := e.Login("admin@contoso.example").Do("DELETE", "/api/v1/customers/"+demo.Contoso+"/partner-permission", nil); code != http.StatusOK {
		t.Fatalf("withdraw: %d %s", code, body)
	}
	e.WaitState(std.ID, domain.StateRevoked, 15*time.Second)
	e.WaitClosed(std)
	if u, _ := e.account(contosoTenant, soloContosoUPN); u.Enabled || slices.Contains(e.members(contosoTenant), soloContosoUPN) {
		t.Fatalf("after the withdrawal: %+v, members %v", u, e.members(contosoTenant))
	}
	if !slices.Contains(e.members(fabrikamTenant), soloFabrikamUPN) {
		t.Fatal("Fabrikam's access ended with Contoso's permission")
	}
	// Solo is suspended by the partner: every access of theirs ends.
	code, body := e.Login("admin@partner.example").Do("PATCH", "/api/v1/users/"+demo.Solo, map[string]any{"status": "suspended"})
	if code != http.StatusOK {
		t.Fatalf("suspend: %d %s", code, body)
	}
	e.WaitState(pro.ID, domain.StateRevoked, 15*time.Second)
	e.WaitClosed(pro)
	if u, _ := e.account(fabrikamTenant, soloFabrikamUPN); u.Enabled || u.SessionsRevoked == 0 || slices.Contains(e.members(fabrikamTenant), soloFabrikamUPN) {
		t.Fatalf("after the suspension: %+v, members %v", u, e.members(fabrikamTenant))
	}
	e.noDeletes(t)
}

// The worker goes away while Graph is making the membership: the answer is
// lost, the step is retried on the next worker (noticed by its missing
// heartbeat), and finds the account and the membership made.
func TestEntraWorkerGoneDuringActivationLeavesOneAccountAndOneMembership(t *testing.T) {
	reached, hold := make(chan struct{}), make(chan struct{})
	var once sync.Once
	front := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			first := false
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/members/$ref") {
				once.Do(func() { first = true })
			}
			if first {
				close(reached)
				<-hold // the worker goes away meanwhile
			}
			next.ServeHTTP(w, r) // made, though nobody reads the answer
		})
	}
	e := newEntraEnv(t, testenv.Options{GraphFront: front})
	_, a, _ := e.Login("solo@partner.example").Assign(demo.FabrikamSite, demo.Solo, "", "Case 5: support")
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatal("activation never reached the membership")
	}
	e.StopWorker()
	close(hold)
	e.StartWorker()
	e.WaitState(a.ID, domain.StateActive, 40*time.Second)
	made, users := 0, 0
	for _, r := range e.graph.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1.0/users" {
			made++
		}
	}
	for _, u := range e.graph.Snapshot(fabrikamTenant).Users {
		if u.UPN == soloFabrikamUPN {
			users++
		}
	}
	n := 0
	for _, m := range e.members(fabrikamTenant) {
		if m == soloFabrikamUPN {
			n++
		}
	}
	if made != 1 || users != 1 || n != 1 {
		t.Fatalf("%d creates, %d accounts, %d memberships: want exactly one of each", made, users, n)
	}
	if _, password := viewCredential(t, e.Env, a.ID); len(password) < 12 {
		t.Fatal("no temporary password after the retry")
	}
}

// A directory that refuses the removal keeps the revocation retrying; the
// API and the page say what blocks it, and it completes once allowed.
func TestEntraBlockedRemovalIsShownAndRetriedUntilDone(t *testing.T) {
	e := newEntraEnv(t, testenv.Options{})
	solo := e.Login("solo@partner.example")
	_, a, _ := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 6: support")
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	e.graph.Deny(fabrikamTenant, true) // e.g. the customer withdrew its consent
	if code, body := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitState(a.ID, domain.StateRevoked, 15*time.Second)
	if hasAccess(t, e.Env, demo.FabrikamSite, demo.Solo) {
		t.Fatal("the gateway still allows access while the directory refuses")
	}
	admin := e.Login("admin@fabrikam.example")
	var detail struct {
		RevocationPending *struct {
			Attempts  int    `json:"attempts"`
			LastError string `json:"last_error"`
		} `json:"revocation_pending"`
	}
	e.Eventually(15*time.Second, "the blocked removal shown by the API", func() bool {
		_, body := admin.Do("GET", "/api/v1/assignments/"+a.ID, nil)
		return json.Unmarshal(body, &detail) == nil && detail.RevocationPending != nil
	})
	if !strings.Contains(detail.RevocationPending.LastError, "Authorization_RequestDenied") {
		t.Fatalf("blocked by %q, want the directory's refusal", detail.RevocationPending.LastError)
	}
	if code, page := admin.Do("GET", "/assignments/"+a.ID, nil); code != http.StatusOK || !strings.Contains(string(page), `id="revocation-pending"`) {
		t.Fatalf("the customer's page does not say what blocks the removal: %d", code)
	}
	if n, _ := e.Store.RevocationsPending(context.Background()); n != 1 {
		t.Fatalf("%d revocations pending, want 1", n)
	}
	e.graph.Deny(fabrikamTenant, false)
	e.WaitClosed(a)
	if slices.Contains(e.members(fabrikamTenant), soloFabrikamUPN) {
		t.Fatal("the membership is still there")
	}
	if n, _ := e.Store.RevocationsPending(context.Background()); n != 0 {
		t.Fatalf("%d revocations pending once done, want 0", n)
	}
	e.audited(t, a.ID, "revocation.proven")
}

// decryptedPayloads finds every payload in a history's JSON events (one a
// line) and returns their decrypted contents, one a line.
func decryptedPayloads(t *testing.T, e *testenv.Env, events []byte) string {
	t.Helper()
	var out strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if data, ok := x["data"].(string); ok {
				if meta, ok := x["metadata"].(map[string]any); ok {
					p := &commonpb.Payload{Metadata: map[string][]byte{}}
					p.Data, _ = base64.StdEncoding.DecodeString(data)
					for k, v := range meta {
						s, _ := v.(string)
						p.Metadata[k], _ = base64.StdEncoding.DecodeString(s)
					}
					dec, err := e.Codec.Decode([]*commonpb.Payload{p})
					if err != nil {
						t.Fatalf("a payload of the history does not decrypt: %v", err)
					}
					out.Write(dec[0].Data)
					out.WriteByte('\n')
				}
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(events)), "\n") {
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatal(err)
		}
		walk(v)
	}
	return out.String()
}

// The approver's answer shows the access active: the decision waits for
// the membership, made between the decision and its record.
func TestEntraApproverSeesTheAccessActive(t *testing.T) {
	timing := testenv.FastTiming
	timing.AccessDuration = time.Hour
	e := newEntraEnv(t, testenv.Options{Timing: timing})
	_, a, _ := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 8: deploy")
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	code, body := e.Login("admin@contoso.example").Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "approve"})
	var got struct {
		State     string `json:"state"`
		DecidedBy string `json:"decided_by"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || got.State != domain.StateActive || got.DecidedBy != "admin@contoso.example" {
		t.Fatalf("decision: %d %s, want the access active", code, body)
	}
	if !slices.Contains(e.members(contosoTenant), soloContosoUPN) {
		t.Fatal("active without the membership")
	}
}
