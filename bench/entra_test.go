package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
)

// The benchmarks' Entra tenants, on the rig's Graph stand-in.
const (
	benchSecret      = "bench-graph-secret"
	contosoTenant    = "be4c0000-0000-4000-8000-000000000001"
	fabrikamTenant   = "be4c0000-0000-4000-8000-000000000002"
	benchApp         = "be4c0000-0000-4000-8000-0000000000ff"
	contosoGroup     = "be4c0000-0000-4000-8000-0000000000a1"
	fabrikamGroup    = "be4c0000-0000-4000-8000-0000000000a2"
	writesPerSecond  = 50 // the storm's Graph: writes beyond it answer 429
	writesPerRevoke  = 3  // remove the membership, disable, revoke sessions
	defaultStormSize = 1000
)

// useEntra makes the customer enforce access in its tenant on the stand-in
// until the benchmark ends.
func (r *rig) useEntra(b *testing.B, customer, site, tenant, group string) {
	b.Helper()
	ctx := context.Background()
	if err := demo.StandIn(ctx, r.store, r.graph, demo.EntraSite{Customer: customer, Site: site, Tenant: tenant, Group: group,
		Domain: customer + ".onmicrosoft.com"}, store.Target{ClientID: benchApp, SecretEnv: "BENCH_GRAPH_SECRET"}, benchSecret); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		r.store.SetCustomerTarget(ctx, customer, nil)
		r.store.SetSiteAccessGroup(ctx, site, "")
	})
}

// BenchmarkEntraStandardAssignment: the Standard flow of
// BenchmarkStandardAssignment on the gateway, then with Contoso enforcing
// access in its Entra tenant (Graph on loopback, through the real client:
// the account made, added to the group, removed, disabled, sessions ended,
// the group read back), in the same run. Reports both rates, their ratio,
// and the Entra flow's approve→active latency paced at half its rate.
func BenchmarkEntraStandardAssignment(b *testing.B) {
	r := get(b)
	users := r.newUsers(b, 3*b.N)
	r.settle(b)
	took, _ := runFlows(b, b.N, inFlight, 0, func(i int) (time.Duration, error) { return r.standardFlow(users[i]) })
	gateway := float64(b.N) / took.Seconds()

	r.useEntra(b, demo.Contoso, demo.ContosoSite, contosoTenant, contosoGroup)
	r.settle(b)
	b.ResetTimer()
	took, _ = runFlows(b, b.N, inFlight, 0, func(i int) (time.Duration, error) { return r.standardFlow(users[b.N+i]) })
	b.StopTimer()
	entra := float64(b.N) / took.Seconds()
	b.ReportMetric(gateway, "gateway-wf/s")
	b.ReportMetric(entra, "entra-wf/s")
	b.ReportMetric(entra/gateway, "x-gateway")

	r.settle(b)
	_, lats := runFlows(b, b.N, inFlight, time.Duration(float64(time.Second)/(entra/2)), func(i int) (time.Duration, error) {
		return r.standardFlow(users[2*b.N+i])
	})
	b.ReportMetric(percentile(lats, 0.50), "p50-ms")
	b.ReportMetric(percentile(lats, 0.99), "p99-ms")
	if n := len(r.graph.Snapshot(contosoTenant).Groups[0].Members); n != 0 {
		b.Fatalf("%d members left in the group after every access ended", n)
	}
}

// BenchmarkRevocationStorm: BENCH_STORM (1,000) Professional accesses in
// Fabrikam's Entra tenant end at once, against a Graph that takes 50
// writes a second and answers 429 (Retry-After: 1) beyond. Each must be
// revoked and proven, no workflow may fail. It reports the time until the
// last is proven against the floor the rate sets (3 writes each).
func BenchmarkRevocationStorm(b *testing.B) {
	r := get(b)
	n := defaultStormSize
	if v := os.Getenv("BENCH_STORM"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("BENCH_STORM=%q: want a positive number", v)
		}
	}
	r.useEntra(b, demo.Fabrikam, demo.FabrikamSite, fabrikamTenant, fabrikamGroup)
	users := r.newUsers(b, n)
	r.settle(b)
	// The accesses, made without a limit on Graph.
	ids := make([]store.Assignment, n)
	runFlows(b, n, startsInFlight, 0, func(i int) (time.Duration, error) {
		a, err := r.assignAt(demo.FabrikamSite, users[i])
		ids[i] = a
		if err != nil {
			return 0, err
		}
		return 0, r.waitState(a.ID, domain.StateActive, 5*time.Minute)
	})
	if got := len(r.graph.Snapshot(fabrikamTenant).Groups[0].Members); got != n {
		b.Fatalf("%d members before the storm, want %d", got, n)
	}
	r.graph.WriteRate(writesPerSecond)
	defer r.graph.WriteRate(0)
	requestsBefore := len(r.graph.Requests())
	b.ResetTimer()
	start := time.Now()
	var failed atomic.Int64
	runFlows(b, n, inFlight, 0, func(i int) (time.Duration, error) {
		rec := r.do("DELETE", "/api/v1/assignments/"+ids[i].ID, `{"reason":"storm"}`, r.token)
		if rec.Code != 202 {
			return 0, fmt.Errorf("unassign %s: %d %s", ids[i].ID, rec.Code, rec.Body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		if err := r.client.GetWorkflow(ctx, ids[i].WorkflowID, ids[i].ID).Get(ctx, nil); err != nil {
			failed.Add(1)
			return 0, err
		}
		return 0, nil
	})
	took := time.Since(start)
	b.StopTimer()
	if got := len(r.graph.Snapshot(fabrikamTenant).Groups[0].Members); got != 0 || failed.Load() != 0 {
		b.Fatalf("%d members left, %d workflows failed", got, failed.Load())
	}
	proven := 0
	for _, a := range ids {
		log, err := r.store.AuditLog(context.Background(), store.AuditFilter{AssignmentID: a.ID})
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range log {
			if e.Action == "revocation.proven" {
				proven++
			}
		}
	}
	if proven != n {
		b.Fatalf("%d revocations proven, want %d", proven, n)
	}
	floor := time.Duration(float64(n*writesPerRevoke) / writesPerSecond * float64(time.Second))
	throttled := 0
	for _, q := range r.graph.Requests()[requestsBefore:] {
		if q.Status == 429 {
			throttled++
		}
	}
	b.ReportMetric(took.Seconds(), "storm-s")
	b.ReportMetric(floor.Seconds(), "floor-s")
	b.ReportMetric(took.Seconds()/floor.Seconds(), "x-floor")
	b.ReportMetric(float64(throttled), "429s")
	b.ReportMetric(float64(n), "revoked")
}
