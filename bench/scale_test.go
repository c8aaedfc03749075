package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/partneraccess/partneraccess/internal/domain"
)

// BenchmarkOpenAssignments leaves BENCH_OPEN (default 200) Standard
// assignments waiting for approval and reports what each open one costs:
// heap and goroutines of the process (worker, server and embedded Temporal
// together), and bytes in the two databases.
func BenchmarkOpenAssignments(b *testing.B) {
	n := 200
	if v := os.Getenv("BENCH_OPEN"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("BENCH_OPEN=%q: want a positive number", v)
		}
	}
	r := get(b)
	users := r.newUsers(b, n)
	heap0, gor0, db0 := r.footprint(b)
	b.ResetTimer()
	start := time.Now()
	retries0 := r.retries.Load()
	runFlows(b, n, 16, 0, func(i int) (time.Duration, error) {
		a, err := r.assign(users[i])
		if err != nil {
			return 0, err
		}
		return 0, r.waitState(a.ID, domain.StatePendingApproval, 10*time.Minute)
	})
	took := time.Since(start)
	b.StopTimer()
	heap1, gor1, db1 := r.footprint(b)

	b.ReportMetric(float64(n), "open")
	b.ReportMetric(float64(r.retries.Load()-retries0), "retried-503")
	b.ReportMetric(float64(n)/took.Seconds(), "starts/s")
	b.ReportMetric(float64(int64(heap1)-int64(heap0))/float64(n), "heap-B/open")
	b.ReportMetric(float64(heap1)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(gor1-gor0)/float64(n), "goroutines/open")
	b.ReportMetric(float64(db1-db0)/float64(n), "db-B/open")
}

// footprint is the live heap after a collection, the goroutine count and the
// data in both databases (pages in use, WAL included; not the files' sizes,
// which move with checkpoints).
func (r *rig) footprint(b *testing.B) (heap uint64, goroutines int, dbBytes int64) {
	b.Helper()
	runtime.GC()
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
	return ms.HeapAlloc, runtime.NumGoroutine(), dbBytes
}
