package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// answeredWrites counts, by method and path, the writes Graph answered as
// done (2xx, or 404 for a membership already gone) since from: a write
// answered 429 or 5xx was not done, and may be sent again.
func answeredWrites(reqs []devgraph.Request) map[string]int {
	n := map[string]int{}
	for _, r := range reqs {
		if r.Method == http.MethodGet || r.Status == http.StatusTooManyRequests || r.Status >= 500 || !strings.HasPrefix(r.Path, "/v1.0/") {
			continue
		}
		n[r.Method+" "+r.Path]++
	}
	return n
}

// revocationWrites checks that a revocation of the account sent each of its
// three writes once, and nothing else.
func revocationWrites(t *testing.T, reqs []devgraph.Request, objectID, group string) {
	t.Helper()
	want := map[string]int{
		"DELETE /v1.0/groups/" + group + "/members/" + objectID + "/$ref": 1,
		"PATCH /v1.0/users/" + objectID:                                   1,
		"POST /v1.0/users/" + objectID + "/revokeSignInSessions":          1,
	}
	if got := answeredWrites(reqs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the revocation's writes: %v\nwant each once: %v", got, want)
	}
}

func (e *entraEnv) objectID(t *testing.T, tenant, upn string) string {
	t.Helper()
	u, ok := e.account(tenant, upn)
	if !ok {
		t.Fatalf("no account %s", upn)
	}
	return u.ID
}

// A revocation under 429s and a failed step: Graph's log shows each of
// its writes done once. The 429s hold the tenant and the write is sent
// again; the 503 of the second step fails the attempt, and Temporal's
// retry resumes after the membership already removed.
func TestEntraRevocationWritesEachStepOnceUnder429sAndARetry(t *testing.T) {
	var failDisable atomic.Bool
	front := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch && failDisable.CompareAndSwap(true, false) {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEntraEnv(t, testenv.Options{GraphFront: front})
	solo := e.Login("solo@partner.example")
	_, a, _ := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 7: support")
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	id := e.objectID(t, fabrikamTenant, soloFabrikamUPN)
	before := len(e.graph.Requests())
	e.graph.WriteRate(1) // the second write within a second draws a 429
	failDisable.Store(true)
	if code, body := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	e.WaitClosed(a)
	reqs := e.graph.Requests()[before:]
	revocationWrites(t, reqs, id, testenv.FabrikamGroup)
	if failDisable.Load() {
		t.Fatal("the disable never failed: the test proves nothing")
	}
	e.audited(t, a.ID, "revocation.proven")
	if slices.Contains(e.members(fabrikamTenant), soloFabrikamUPN) {
		t.Fatal("still a member")
	}
}

// A worker gone mid-revocation (after the three writes, while the group is
// read back): the next worker proves the removal without sending any of
// them again.
func TestEntraWorkerGoneMidRevocationRepeatsNoWrite(t *testing.T) {
	var armed atomic.Bool
	reached, hold := make(chan struct{}), make(chan struct{})
	var once sync.Once
	front := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if armed.Load() && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/members") {
				first := false
				once.Do(func() { first = true })
				if first {
					close(reached)
					<-hold // the worker goes away meanwhile
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEntraEnv(t, testenv.Options{GraphFront: front})
	solo := e.Login("solo@partner.example")
	_, a, _ := solo.Assign(demo.FabrikamSite, demo.Solo, "", "Case 8: support")
	e.WaitState(a.ID, domain.StateActive, 15*time.Second)
	id := e.objectID(t, fabrikamTenant, soloFabrikamUPN)
	before := len(e.graph.Requests())
	armed.Store(true)
	if code, body := solo.Do("DELETE", "/api/v1/assignments/"+a.ID, map[string]string{"reason": "done"}); code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the revocation never read the group back")
	}
	e.StopWorker()
	close(hold)
	e.StartWorker()
	e.WaitClosed(a)
	revocationWrites(t, e.graph.Requests()[before:], id, testenv.FabrikamGroup)
	e.audited(t, a.ID, "revocation.proven")
	steps, err := e.Store.DirectorySteps(t.Context(), a.ID)
	revoke := slices.DeleteFunc(steps, func(s store.DirectoryStep) bool { return s.Phase != store.PhaseRevoke })
	if err != nil || len(revoke) != 4 {
		t.Fatalf("recorded steps %+v %v, want membership, account, sessions and proof", revoke, err)
	}
}

// An activation whose create was made but whose answer was lost makes the
// account once, adds it once, and still shows its temporary password.
func TestEntraActivationCreatesOnceUnderALostAnswer(t *testing.T) {
	var loseCreate atomic.Bool
	front := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/v1.0/users" && loseCreate.CompareAndSwap(true, false) {
				next.ServeHTTP(httptestDiscard{}, r) // made; the answer never arrives
				panic(http.ErrAbortHandler)
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEntraEnv(t, testenv.Options{GraphFront: front})
	loseCreate.Store(true)
	code, a, body := e.Login("agent@partner.example").Assign(demo.ContosoSite, demo.Solo, "", "Case 9: deploy")
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	e.Anonymous().Form(e.ApprovalPath(a.ID, "admin@contoso.example"), map[string]string{"decision": "approve"})
	e.WaitState(a.ID, domain.StateActive, 30*time.Second)
	if loseCreate.Load() {
		t.Fatal("no create was lost: the test proves nothing")
	}
	writes := answeredWrites(e.graph.Requests())
	id := e.objectID(t, contosoTenant, soloContosoUPN)
	if writes["POST /v1.0/users"] != 1 || writes["POST /v1.0/groups/"+testenv.ContosoGroup+"/members/$ref"] != 1 || writes["PATCH /v1.0/users/"+id] != 0 {
		t.Fatalf("activation's writes %v: want one create, one membership, no password reset", writes)
	}
	if login, password := viewCredential(t, e.Env, a.ID); login != soloContosoUPN || len(password) < 12 {
		t.Fatalf("credential %q %q after the lost answer, want the UPN and its temporary password", login, password)
	}
}

// httptestDiscard is a ResponseWriter whose answer goes nowhere.
type httptestDiscard struct{}

func (httptestDiscard) Header() http.Header         { return http.Header{} }
func (httptestDiscard) Write(b []byte) (int, error) { return len(b), nil }
func (httptestDiscard) WriteHeader(int)             {}
