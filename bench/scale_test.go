package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/workflows"
)

// startsInFlight bounds the starts in flight in the scale runs.
const startsInFlight = 16

// openSizes are the sizes BenchmarkOpenAssignments reaches, one
// sub-benchmark each, cumulatively: BENCH_OPEN="5000,10000" opens 5,000,
// measures, opens 5,000 more and measures again. Without BENCH_OPEN it
// opens b.N.
func openSizes(b *testing.B) []int {
	v := os.Getenv("BENCH_OPEN")
	if v == "" {
		return []int{b.N}
	}
	var sizes []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(sizes) > 0 && n <= sizes[len(sizes)-1]) {
			b.Fatalf("BENCH_OPEN=%q: want growing positive numbers, e.g. 5000,10000", v)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// BenchmarkBareStart starts the product's workflow with the input the
// handler would give it, straight through client.ExecuteWorkflow with the
// handler's start options, 16 in flight: the rate the handler's starts are
// compared with (BenchmarkOpenAssignments starts/s).
func BenchmarkBareStart(b *testing.B) {
	r := get(b)
	users := r.newUsers(b, b.N)
	in, err := r.standardInput()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	took, _ := runFlows(b, b.N, startsInFlight, 0, func(i int) (time.Duration, error) { return 0, r.bareStartOne(in, users[i]) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/took.Seconds(), "starts/s")
}

// bareStartOne starts one assignment for user straight through
// client.ExecuteWorkflow, with the handler's start options.
func (r *rig) bareStartOne(in workflows.Input, user string) error {
	in.PartnerUser = workflows.Person{ID: user, Name: user, Email: user + "@partner.example"}
	o := bareStart(workflows.WorkflowID(demo.ContosoSite, user))
	o.TypedSearchAttributes = startAttributes(user)
	_, err := r.client.ExecuteWorkflow(context.Background(), o, workflows.WorkflowName, in)
	return err
}

// startTurns is how many starts startRates makes each way, in
// startRounds rounds.
const (
	startTurns  = 400
	startRounds = 8
)

// startRates starts startTurns assignments through the handler and as
// many straight through client.ExecuteWorkflow, in rounds taking turns
// (each kind first in every other round, since a round runs beside the tail
// of the one before), on the server as it is (with every assignment opened
// so far), and returns both rates: the handler's, to set against a bare
// start under the same load. They stay open; the caller counts them.
func (r *rig) startRates(b *testing.B) (handler, bare float64) {
	users := r.newUsers(b, 2*startTurns)
	in, err := r.standardInput()
	if err != nil {
		b.Fatal(err)
	}
	per := startTurns / startRounds
	var th, tb time.Duration
	viaHandler := func(k int) {
		took, _ := runFlows(b, per, startsInFlight, 0, func(i int) (time.Duration, error) {
			_, err := r.assign(users[k*per+i])
			return 0, err
		})
		th += took
	}
	bareStarts := func(k int) {
		took, _ := runFlows(b, per, startsInFlight, 0, func(i int) (time.Duration, error) {
			return 0, r.bareStartOne(in, users[startTurns+k*per+i])
		})
		tb += took
	}
	for k := range startRounds {
		if k%2 == 0 {
			viaHandler(k)
			bareStarts(k)
		} else {
			bareStarts(k)
			viaHandler(k)
		}
	}
	return float64(startRounds*per) / th.Seconds(), float64(startRounds*per) / tb.Seconds()
}

// BenchmarkOpenAssignments leaves Standard assignments waiting for approval
// and reports what each open one costs: heap and goroutines of the process
// (worker, server and embedded Temporal together), and bytes in the two
// databases; from the second size on, the marginal heap per open assignment
// between the two sizes. It also reports the rate of the starts through the
// handler that opened them (POST /api/v1/sites/{site}/assignments, 16 in
// flight), and then, at each size, the handler's start rate against a bare
// client.ExecuteWorkflow start, in turns under the same load (startRates):
// x-bare-start.
func BenchmarkOpenAssignments(b *testing.B) {
	r := get(b)
	base := r.footprintNow(b)
	sizes := openSizes(b)
	if len(sizes) == 1 && os.Getenv("BENCH_OPEN") == "" {
		_, report := r.openMore(b, base, footprint{}, 0, b.N, b.N)
		report(b)
		return
	}
	opened, last, lastTotal := 0, footprint{}, 0
	for _, n := range sizes {
		var report func(*testing.B)
		b.Run(fmt.Sprintf("open=%d", n), func(b *testing.B) {
			// The testing package may call this more than once (b.N = 1
			// first): open them once, report the same figures each time.
			if report == nil {
				if n-opened < 1 {
					b.Fatalf("BENCH_OPEN: %d is not above %d, the size before and its start turns", n, opened)
				}
				last, report = r.openMore(b, base, last, lastTotal, n-opened, n)
				opened, lastTotal = n+2*startTurns, n // the start turns stay open
			}
			report(b)
		})
	}
}

// openMore opens more assignments (total open then), measures, makes the
// start turns (startRates), and returns the footprint and what reports the
// figures; last is the footprint at the previous size (lastTotal open), if
// any.
func (r *rig) openMore(b *testing.B, base, last footprint, lastTotal, more, total int) (footprint, func(*testing.B)) {
	users := r.newUsers(b, more)
	retries0 := r.retries.Load()
	var (
		mu  sync.Mutex
		ids []string
	)
	b.ResetTimer()
	took, _ := runFlows(b, more, startsInFlight, 0, func(i int) (time.Duration, error) {
		a, err := r.assign(users[i])
		if err == nil {
			mu.Lock()
			ids = append(ids, a.ID)
			mu.Unlock()
		}
		return 0, err
	})
	b.StopTimer()
	for _, id := range ids { // all open before measuring: pending approval
		if err := r.waitState(id, domain.StatePendingApproval, 10*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	f := r.footprintNow(b)
	retried := float64(r.retries.Load() - retries0)
	handler, bare := r.startRates(b)
	return f, func(b *testing.B) {
		b.ReportMetric(bare, "bare-starts/s")
		b.ReportMetric(handler/bare, "x-bare-start")
		b.ReportMetric(float64(total), "open")
		b.ReportMetric(retried, "retried-503")
		b.ReportMetric(float64(more)/took.Seconds(), "starts/s")
		b.ReportMetric(float64(int64(f.heap)-int64(base.heap))/float64(total), "heap-B/open")
		b.ReportMetric(float64(f.heap)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(f.goroutines-base.goroutines)/float64(total), "goroutines/open")
		b.ReportMetric(float64(f.db-base.db)/float64(total), "db-B/open")
		if last.heap > 0 {
			b.ReportMetric(float64(int64(f.heap)-int64(last.heap))/float64(total-lastTotal), "marginal-heap-B/open")
		}
	}
}

// standardInput is what the server's rules give a Standard assignment on
// the demo site, requested by the partner agent.
func (r *rig) standardInput() (workflows.Input, error) {
	ctx := context.Background()
	site, err := r.store.SiteByID(ctx, demo.ContosoSite)
	if err != nil {
		return workflows.Input{}, err
	}
	agent, err := r.store.UserByEmail(ctx, "agent@partner.example")
	if err != nil {
		return workflows.Input{}, err
	}
	approvers, err := r.store.Approvers(ctx, site.CustomerID)
	if err != nil {
		return workflows.Input{}, err
	}
	users, err := r.store.CustomerUsers(ctx, site.CustomerID)
	if err != nil {
		return workflows.Input{}, err
	}
	people := func(us []store.User) []workflows.Person {
		ps := make([]workflows.Person, len(us))
		for i, u := range us {
			ps[i] = workflows.Person{ID: u.ID, Name: u.Name, Email: u.Email}
		}
		return ps
	}
	return workflows.Input{
		SiteID: site.ID, SiteName: site.Name, CustomerID: site.CustomerID, CustomerName: site.CustomerName,
		PartnerID: demo.Northwind, PartnerName: "Northwind Partners", Edition: site.Edition,
		Role: store.RolePartnerSupportAgent, Reason: "bench",
		RequestedBy: workflows.Person{ID: agent.ID, Name: agent.Name, Email: agent.Email},
		Approvers:   people(approvers), CustomerUsers: people(users), Timing: timing,
	}, nil
}

// footprint is the live heap after a collection, the goroutine count and the
// data in both databases (pages in use, WAL included; not the files' sizes,
// which move with checkpoints).
type footprint struct {
	heap       uint64
	goroutines int
	db         int64
}

func (r *rig) footprintNow(b *testing.B) footprint {
	b.Helper()
	var dbBytes int64
	runtime.GC()
	runtime.GC() // the first may leave finalizers' garbage
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// Each file is read through the SQLite library that writes it: mattn's
	// (cgo) for the store, modernc's (pure Go, driver "sqlite") for the
	// engine. Two SQLite libraries on one file in one process do not see
	// each other's POSIX locks, so the second one to open a WAL database
	// believes it is alone and truncates its -shm file under the first:
	// the engine's next read of the shared-memory index faults
	// (SQLITE_IOERR_IN_PAGE), its history shard fails, and every start
	// then answers "shard status unknown" (BENCHMARKS.md, the stall).
	for f, driver := range map[string]string{"partner-access.db": "sqlite3", "temporal.db": "sqlite"} {
		db, err := sqlx.Open(driver, "file:"+filepath.Join(r.dir, f)+"?mode=ro")
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		err = db.Get(&n, `SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()`)
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
		dbBytes += n
	}
	return footprint{ms.HeapAlloc, runtime.NumGoroutine(), dbBytes}
}
