// Package bench measures the service on the embedded Temporal server of the
// one-process mode (SQLite file, WAL), with the real worker, store, HTTP
// handler and dev mailbox, against a bare workflow of the same shape.
//
//	go test -run '^$' -bench . -benchtime 200x ./bench/
//	BENCH_OPEN=5000,10000 go test -run '^$' -bench 'BareStart|OpenAssignments' -benchtime 200x -timeout 60m ./bench/
//
// Set BENCH_LOG=1 to see the embedded server's and the SDK's warnings.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/devarm"
	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/engine"
	"github.com/partneraccess/partneraccess/internal/graph"
	"github.com/partneraccess/partneraccess/internal/ratelimit"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/wire"
	"github.com/partneraccess/partneraccess/server"
	"github.com/partneraccess/partneraccess/worker"
	"github.com/partneraccess/partneraccess/workflows"
)

const taskQueue = "partner-access-bench"

var timing = workflows.Timing{ApprovalTimeout: time.Hour, AccessDuration: time.Second, ReadyWait: time.Second}

// rig is one running service: engine, store, worker, handler.
type rig struct {
	dir     string
	eng     *engine.Engine
	client  client.Client
	store   *store.Store
	keys    *secret.Keys
	handler http.Handler
	token   string // the partner agent's bearer token
	users   atomic.Int64
	retries atomic.Int64 // assign requests repeated after a 503
	// graph is the Entra tenants' stand-in (BenchmarkEntra…).
	graph    *devgraph.Directory
	graphSrv *httptest.Server
	pace     *graph.Pace    // the worker's writes to each tenant
	arm      *devarm.Server // the AVD host pools' stand-in
	armSrv   *httptest.Server
	storms   map[string]map[string]float64 // the figures of each storm run, by benchmark
}

var (
	shared     *rig
	sharedOnce sync.Once
	sharedErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	if reportShared != nil {
		reportShared.close()
	}
	os.Exit(code)
}

// get returns the rig shared by the benchmarks of one run, so that they
// compare on the same server.
func get(b *testing.B) *rig {
	b.Helper()
	sharedOnce.Do(func() { shared, sharedErr = newRig() })
	if sharedErr != nil {
		b.Fatal(sharedErr)
	}
	return shared
}

func newRig() (*rig, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "partner-access-bench-")
	if err != nil {
		return nil, err
	}
	r := &rig{dir: dir}
	worker.SetCacheSize(0) // before the engine: its system worker would size the cache first
	attrs := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("BENCH_LOG") != "" { // diagnosis: the engine's and the SDK's warnings on stderr
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if r.eng, err = engine.Start(ctx, engine.Config{DataDir: dir, FrontendAddr: "127.0.0.1:0", Namespace: "default",
		SearchAttributes: attrs, Logger: quiet}); err != nil {
		return nil, err
	}
	// Payloads are encrypted as in the service (a key of the run's own).
	ck, err := codec.DerivedKey(secret.NewMasterKey())
	if err != nil {
		return nil, err
	}
	cd, err := codec.New([]codec.Key{ck})
	if err != nil {
		return nil, err
	}
	opts := client.Options{HostPort: r.eng.FrontendHostPort(), Namespace: "default", Logger: sdklog.NewStructuredLogger(quiet)}
	codec.ClientOptions(&opts, cd)
	if r.client, err = client.Dial(opts); err != nil {
		return nil, err
	}
	if r.store, err = store.Open(ctx, filepath.Join(dir, "partner-access.db")); err != nil {
		return nil, err
	}
	if err := demo.Load(ctx, r.store, bcrypt.MinCost); err != nil {
		return nil, err
	}
	if r.keys, err = secret.NewKeys(secret.NewMasterKey()); err != nil {
		return nil, err
	}
	// A Graph stand-in for the Entra benchmarks; customers stay on the
	// gateway until a benchmark names it as their target.
	r.graph = devgraph.New()
	r.graphSrv = httptest.NewServer(r.graph)
	r.pace = graph.NewPace(unpaced)
	r.arm = devarm.New()
	r.arm.Authorized, r.arm.PageSize = r.graph.ARMToken, 100
	r.armSrv = httptest.NewServer(r.arm)
	acts := wire.Activities(r.store, nil, r.keys, activities.Config{PublicURL: publicURL},
		wire.Directories{GraphURL: r.graphSrv.URL, LoginURL: r.graphSrv.URL,
			Secret: func(store.Target) (string, error) { return benchSecret, nil }, Pace: r.pace, ARMURL: r.armSrv.URL}, r.client, nil)
	w := worker.New(r.client, taskQueue, acts, worker.Options{})
	w.RegisterWorkflow(bareShape)
	w.RegisterWorkflow(bareEmails)
	w.RegisterActivity(noop)
	if err := w.Start(); err != nil {
		return nil, err
	}
	srv, _ := wire.Server(wire.HTTP{
		TaskQueue: taskQueue,
		Service: service.Config{PublicURL: publicURL, Timing: timing, DecisionWait: 10 * time.Second,
			// Every approval comes from one test client: lift its rate limit.
			Limits: service.Limits{ApprovalPerClient: ratelimit.Rule{Burst: 1 << 20, Every: time.Microsecond}}},
		Server: server.Config{PublicURL: publicURL, DevMailbox: true, GatewayToken: "gateway"},
	}, r.store, r.client, r.keys, quiet, nil)
	r.handler = srv.Handler()
	rec := r.do("POST", "/api/v1/session", `{"email":"agent@partner.example","password":"demo-password"}`, "")
	if rec.Code != http.StatusCreated {
		return nil, fmt.Errorf("login: %d %s", rec.Code, rec.Body)
	}
	r.token = between(rec.Body.String(), `"token":"`, `"`)
	return r, nil
}

func (r *rig) close() {
	r.graphSrv.Close()
	r.armSrv.Close()
	r.client.Close()
	r.eng.Stop()
	r.store.Close()
	os.RemoveAll(r.dir)
}

// publicURL is the rig's PUBLIC_URL; requests name its host, as a
// browser's do (the server answers no other but loopback names).
const publicURL = "http://127.0.0.1:8080"

func (r *rig) do(method, path, body, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, publicURL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	return rec
}

// newUsers adds n active partner users with one role, each free to be assigned.
func (r *rig) newUsers(b *testing.B, n int) []string {
	b.Helper()
	now := time.Now()
	ids := make([]string, n)
	for i := range ids {
		id := fmt.Sprintf("bench-%d", r.users.Add(1))
		if err := r.store.CreateUser(context.Background(), store.User{ID: id, Email: id + "@partner.example", Name: id,
			Kind: store.KindPartner, PartnerID: demo.Northwind, Status: store.StatusActive, RegisteredAt: &now,
			Roles: []string{store.RolePartnerSupportAgent}}); err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// assign starts a Standard assignment through the handler. Like a client, it
// repeats the request after a 503 (Temporal too slow to answer): safe, as a
// repeat returns the assignment if the first one started after all (R8).
func (r *rig) assign(user string) (store.Assignment, error) {
	return r.assignAt(demo.ContosoSite, user)
}

func (r *rig) assignAt(site, user string) (store.Assignment, error) {
	return r.assignFor(site, user, "bench")
}

func (r *rig) assignFor(site, user, reason string) (store.Assignment, error) {
	var rec *httptest.ResponseRecorder
	for try := 0; try < 5; try++ {
		rec = r.do("POST", "/api/v1/sites/"+site+"/assignments", fmt.Sprintf(`{"user_id":%q,"reason":%q}`, user, reason), r.token)
		if rec.Code != http.StatusServiceUnavailable {
			break
		}
		r.retries.Add(1)
	}
	if rec.Code != http.StatusCreated && rec.Code != http.StatusOK {
		return store.Assignment{}, fmt.Errorf("assign %s: %d %s", user, rec.Code, rec.Body)
	}
	return store.Assignment{ID: between(rec.Body.String(), `"id":"`, `"`), WorkflowID: workflows.WorkflowID(site, user)}, nil
}

// waitState polls the projection.
func (r *rig) waitState(id, state string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		got, err := r.store.AssignmentProgress(context.Background(), id)
		if err == nil && got.State == state {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("assignment %s: %q after %v, want %s (%v)", id, got, within, state, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// approve posts the approval form of the admin's link and returns once the
// assignment is active: the page shows it when it happens within the
// page's wait, as it does below saturation.
func (r *rig) approve(id string) error {
	tok := r.keys.ApprovalToken(id, demo.ContosoAdmin)
	req := httptest.NewRequest("POST", publicURL+"/approvals/"+tok, strings.NewReader(url.Values{"decision": {"approve"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("approve %s: %d", id, rec.Code)
	}
	if strings.Contains(rec.Body.String(), "Approved by") {
		return nil
	}
	return r.waitState(id, domain.StateActive, 5*time.Minute)
}

// approveAs posts the approval form of approver's link.
func (r *rig) approveAs(id, approver string) error {
	req := httptest.NewRequest("POST", publicURL+"/approvals/"+r.keys.ApprovalToken(id, approver),
		strings.NewReader(url.Values{"decision": {"approve"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("approve %s as %s: %d", id, approver, rec.Code)
	}
	return nil
}

// twoApproverFlow runs one whole assignment at Contoso Finance, whose
// policy asks for two approvals (R10), and returns the latency from the
// second approval to active.
func (r *rig) twoApproverFlow(user string) (time.Duration, error) {
	a, err := r.assignFor(demo.ContosoFinance, user, "CS-1234: bench")
	if err != nil {
		return 0, err
	}
	a.WorkflowID = workflows.WorkflowID(demo.ContosoFinance, user)
	if err := r.waitState(a.ID, domain.StatePendingApproval, time.Minute); err != nil {
		return 0, err
	}
	if err := r.approveAs(a.ID, demo.ContosoAdmin); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := r.approveAs(a.ID, demo.ContosoOps); err != nil {
		return 0, err
	}
	if err := r.waitState(a.ID, domain.StateActive, 5*time.Minute); err != nil {
		return 0, err
	}
	lat := time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return lat, r.client.GetWorkflow(ctx, a.WorkflowID, a.ID).Get(ctx, nil)
}

// standardFlow runs one whole Standard assignment and returns its
// approve→active latency.
func (r *rig) standardFlow(user string) (time.Duration, error) {
	a, err := r.assign(user)
	if err != nil {
		return 0, err
	}
	if err := r.waitState(a.ID, domain.StatePendingApproval, time.Minute); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := r.approve(a.ID); err != nil {
		return 0, err
	}
	lat := time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return lat, r.client.GetWorkflow(ctx, a.WorkflowID, a.ID).Get(ctx, nil)
}

// settle waits until no emails' workflow (the product's or the bare
// shape's) is still running, so that a measurement does not pay for the
// tail of the one before it.
func (r *rig) settle(b *testing.B) {
	b.Helper()
	q := fmt.Sprintf(`ExecutionStatus = "Running" AND (WorkflowType = %q OR WorkflowType = "bareEmails")`, workflows.EmailsWorkflowName)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		resp, err := r.client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: q})
		if err == nil && resp.GetCount() == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("emails' workflows still running after 5 min (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// inFlight bounds the flows in flight in the throughput runs.
const inFlight = 64

func runFlows(b *testing.B, n, concurrency int, pace time.Duration, flow func(i int) (time.Duration, error)) (time.Duration, []time.Duration) {
	b.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		lats []time.Duration
		errs []error
	)
	sem := make(chan struct{}, concurrency)
	start := time.Now()
	for i := range n {
		if pace > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * pace)))
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			lat, err := flow(i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			lats = append(lats, lat)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		b.Fatalf("%d of %d flows failed; first: %v", len(errs), n, errs[0])
	}
	return time.Since(start), lats
}

func percentile(ds []time.Duration, p float64) float64 {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
}

// BenchmarkStandardAssignment: whole Standard assignments (assign through
// the handler, approve through the approval POST, 1 s of access, expiry),
// first as fast as they go (wf/s), then paced at half that rate for the
// approve→active latency.
func BenchmarkStandardAssignment(b *testing.B) {
	r := get(b)
	users := r.newUsers(b, 2*b.N)
	r.settle(b)
	b.ResetTimer()
	took, _ := runFlows(b, b.N, inFlight, 0, func(i int) (time.Duration, error) { return r.standardFlow(users[i]) })
	b.StopTimer()
	rate := float64(b.N) / took.Seconds()
	b.ReportMetric(rate, "wf/s")

	r.settle(b)
	cpu := cpuTime()
	_, lats := runFlows(b, b.N, inFlight, time.Duration(float64(time.Second)/(rate/2)), func(i int) (time.Duration, error) {
		return r.standardFlow(users[b.N+i])
	})
	r.settle(b) // the emails' workflows the paced flows handed over belong to their cost
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/wf")
	b.ReportMetric(percentile(lats, 0.50), "p50-ms")
	b.ReportMetric(percentile(lats, 0.99), "p99-ms")
}

// BenchmarkTwoApproverAssignment runs the Standard flow under a policy of
// two approvals (R10) beside the one-approver flow, in the same run: the
// rate against it (x-one-approver; the second flow waits for two decisions,
// each a signal and a workflow task) and, paced at half its rate, the
// second approval's latency to active.
func BenchmarkTwoApproverAssignment(b *testing.B) {
	r := get(b)
	users := r.newUsers(b, 3*b.N)
	r.settle(b)
	b.ResetTimer()
	one, _ := runFlows(b, b.N, inFlight, 0, func(i int) (time.Duration, error) { return r.standardFlow(users[i]) })
	r.settle(b)
	two, _ := runFlows(b, b.N, inFlight, 0, func(i int) (time.Duration, error) { return r.twoApproverFlow(users[b.N+i]) })
	b.StopTimer()
	rate := float64(b.N) / two.Seconds()
	b.ReportMetric(rate, "wf/s")
	b.ReportMetric(one.Seconds()/two.Seconds(), "x-one-approver")

	// The latency at half that rate, as BenchmarkStandardAssignment's.
	r.settle(b)
	_, lats := runFlows(b, b.N, inFlight, time.Duration(float64(time.Second)/(rate/2)), func(i int) (time.Duration, error) {
		return r.twoApproverFlow(users[2*b.N+i])
	})
	r.settle(b)
	b.ReportMetric(percentile(lats, 0.50), "p50-ms")
	b.ReportMetric(percentile(lats, 0.99), "p99-ms")
}

// cpuTime is the CPU time (user and system) the whole process has used:
// the worker, the HTTP handler and the embedded Temporal server together.
// Per flow it is steadier than a latency on shared cores, and it is what
// the flows queue for.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkBareShape: a workflow of the same shape as a Standard assignment
// (bareShape: the same local and ordinary activities, as no-ops, the same
// signal, timers, upserts and emails' child workflow), started with the
// product's start options and signalled straight through the client: what
// Temporal alone costs for the flow BenchmarkStandardAssignment runs.
func BenchmarkBareShape(b *testing.B) {
	r := get(b)
	ctx := context.Background()
	prefix := fmt.Sprintf("bare-%d-", time.Now().UnixNano())
	r.settle(b)
	b.ResetTimer()
	took, _ := runFlows(b, b.N, inFlight, 0, func(i int) (time.Duration, error) {
		id := prefix + fmt.Sprint(i)
		run, err := r.client.ExecuteWorkflow(ctx, bareStart(id), bareShape)
		if err != nil {
			return 0, err
		}
		sig := workflows.ApprovalSignal{Approve: true, By: workflows.Person{ID: demo.ContosoAdmin, Name: "Casey Contoso", Email: "admin@contoso.example"},
			Vouch: workflows.Vouch{ID: id, SentAt: time.Now(), MAC: strings.Repeat("m", 43)}}
		if err := r.client.SignalWorkflow(ctx, id, run.GetRunID(), workflows.SignalApproval, sig); err != nil {
			return 0, err
		}
		return 0, run.Get(ctx, nil)
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/took.Seconds(), "wf/s")
}

// bareStart is the product's start (wfclient.Client.Start) for a bare workflow.
func bareStart(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		EnableEagerStart:                         true,
		TypedSearchAttributes:                    startAttributes(id),
		StaticSummary:                            "bare → Contoso Sage 200 Standard (standard)",
		StaticDetails:                            "**Role:** partner-support-agent  \n**Reason:** bench  \n**Requested by:** agent@partner.example",
	}
}

// startAttributes are the search attributes a Standard start sets.
func startAttributes(user string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		workflows.AttrSite.ValueSet(demo.ContosoSite), workflows.AttrCustomer.ValueSet(demo.Contoso),
		workflows.AttrPartnerUser.ValueSet(user), workflows.AttrEdition.ValueSet(domain.EditionStandard),
		workflows.AttrStatus.ValueSet(domain.StatePendingApproval))
}

// BenchmarkAccessCheck: the gateway's GET /api/v1/access through the gin
// engine, next to a trivial handler on the same engine setup.
func BenchmarkAccessCheck(b *testing.B) {
	r := get(b)
	users := r.newUsers(b, 1)
	// A Professional assignment: access stays, so every check answers yes.
	rec := r.do("POST", "/api/v1/sites/"+demo.FabrikamSite+"/assignments", fmt.Sprintf(`{"user_id":%q,"reason":"bench"}`, users[0]), r.token)
	if rec.Code != http.StatusCreated {
		b.Fatalf("assign: %d %s", rec.Code, rec.Body)
	}
	if err := r.waitState(between(rec.Body.String(), `"id":"`, `"`), domain.StateActive, time.Minute); err != nil {
		b.Fatal(err)
	}
	path := "/api/v1/access?site=" + demo.FabrikamSite + "&user=" + users[0]
	if rec := r.do("GET", path, "", "gateway"); !strings.Contains(rec.Body.String(), `"allowed":true`) {
		b.Fatalf("access: %s", rec.Body)
	}
	serve := func(h http.Handler, path string) int {
		req := httptest.NewRequest("GET", publicURL+path, nil)
		req.Header.Set("Authorization", "Bearer gateway")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	bare := bareGin(r)
	barePath := "/access?site=" + demo.FabrikamSite + "&user=" + users[0]
	if rec := httptest.NewRecorder(); true {
		bare.ServeHTTP(rec, httptest.NewRequest("GET", barePath, nil))
		if !strings.Contains(rec.Body.String(), `"allowed":true`) {
			b.Fatalf("bare query: %s", rec.Body)
		}
	}
	run := func(name string, h http.Handler, path string) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if code := serve(h, path); code != http.StatusOK {
						b.Fatalf("%s: %d", name, code)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			if name == "access" && b.N >= 100 {
				b.StopTimer()
				// The ratio from interleaved timed rounds: both see the
				// same machine, whatever else runs on it.
				var got, base float64
				for range 5 {
					base += rate(func() int { return serve(bare, barePath) }, 100*time.Millisecond)
					got += rate(func() int { return serve(r.handler, path) }, 100*time.Millisecond)
				}
				b.ReportMetric(got/base, "x-bare-query")
			}
		})
	}
	run("bare-query", bare, barePath)
	run("access", r.handler, path)
	run("trivial", trivialHandler(), "/ping?site=x&user=y")
}

// rate runs f on every core for d and returns calls per second.
func rate(f func() int, d time.Duration) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				if f() != http.StatusOK {
					panic("not 200")
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}
