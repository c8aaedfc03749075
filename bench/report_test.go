package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/wire"
	"github.com/partneraccess/partneraccess/server"
)

// reportRows is how many assignments the report benchmark streams.
const reportRows = 10_000

// reportRig is a store holding reportRows ended assignments, each approved,
// expired and its revocation proven, behind the real handler (no
// Temporal: the report reads only the store).
type reportRig struct {
	dir   string
	store *store.Store
	http  *httptest.Server
	token string
	from  time.Time
}

var (
	reportOnce   sync.Once
	reportShared *reportRig
	reportErr    error
)

func seedReport() (*reportRig, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "partner-access-report-")
	if err != nil {
		return nil, err
	}
	r := &reportRig{dir: dir, from: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if r.store, err = store.Open(ctx, filepath.Join(dir, "partner-access.db")); err != nil {
		return nil, err
	}
	if err := demo.Load(ctx, r.store, bcrypt.MinCost); err != nil {
		return nil, err
	}
	for i := range reportRows {
		id := fmt.Sprintf("r%05d", i)
		requested := r.from.Add(time.Duration(i) * time.Minute)
		active, ends := requested.Add(time.Minute), requested.Add(time.Hour)
		if err := r.store.CreateAssignment(ctx, store.Assignment{ID: id, WorkflowID: "w-" + id, SiteID: demo.ContosoSite,
			PartnerUserID: demo.Solo, Role: store.RolePartnerSupportAgent, Reason: "Case " + id + ": month-end upgrade",
			Edition: domain.EditionStandard, RequestedBy: demo.Agent, RequestedAt: requested}); err != nil {
			return nil, err
		}
		for _, t := range []store.Transition{
			{AssignmentID: id, Seq: 1, State: domain.StateActive, At: active, Actor: demo.ContosoAdmin, Action: domain.ActionAssignmentApproved,
				Decision: domain.DecisionApproved, DecidedBy: "admin@contoso.example", ActivatedAt: &active, AccessEndsAt: &ends},
			{AssignmentID: id, Seq: 2, State: domain.StateExpired, At: ends, Actor: "system", Action: domain.ActionAccessExpired,
				EndedBy: "system", EndReason: "access expired after 1h"},
		} {
			if err := r.store.ApplyTransition(ctx, t); err != nil {
				return nil, err
			}
		}
		key := "proven/" + id
		if err := r.store.Audit(ctx, store.AuditEntry{At: ends.Add(800 * time.Millisecond), ActorID: "system",
			Action: domain.ActionRevocationProven, Outcome: store.OutcomeOK, AssignmentID: id, EventKey: &key,
			Detail: "the site's access group in entra no longer holds the account; proven in 812ms"}); err != nil {
			return nil, err
		}
	}
	keys, err := secret.NewKeys(secret.NewMasterKey())
	if err != nil {
		return nil, err
	}
	r.http = httptest.NewUnstartedServer(nil)
	r.http.Start()
	srv, _ := wire.Server(wire.HTTP{Service: service.Config{PublicURL: r.http.URL, PasswordCost: bcrypt.MinCost},
		Server: server.Config{PublicURL: r.http.URL}}, r.store, nil, keys, slog.New(slog.DiscardHandler), nil)
	r.http.Config.Handler = srv.Handler()
	res, err := http.Post(r.http.URL+"/api/v1/session", "application/json",
		strings.NewReader(`{"email":"admin@contoso.example","password":"`+demo.Password+`"}`))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var s struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || s.Token == "" {
		return nil, fmt.Errorf("log in: %d %v", res.StatusCode, err)
	}
	r.token = s.Token
	return r, nil
}

func (r *reportRig) close() {
	r.http.Close()
	r.store.Close()
	os.RemoveAll(r.dir)
}

// heapPeak samples the heap in use every millisecond until stop.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var m runtime.MemStats
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkAccessReportCSV streams the evidence report of 10,000
// assignments as CSV through the handler, and prints the heap in use
// before and at its peak: the report is written as it is read, a page of
// 500 rows at a time, so the peak stays far below the report's size.
func BenchmarkAccessReportCSV(b *testing.B) {
	reportOnce.Do(func() { reportShared, reportErr = seedReport() })
	if reportErr != nil {
		b.Fatal(reportErr)
	}
	r := reportShared
	url := r.http.URL + "/api/v1/reports/access?format=csv&from=2026-01-01&to=2027-01-01"
	var rows, size atomic.Int64
	var worst uint64
	// Collect often, so the peak measures what is held, not the garbage
	// a collector at its default pace lets pile up to twice the live heap.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	b.ResetTimer()
	for b.Loop() {
		stop := make(chan struct{})
		peak := heapPeak(stop)
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+r.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, bytes := 0, int64(0)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			n++
			bytes += int64(len(sc.Bytes())) + 1
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		close(stop)
		worst = max(worst, <-peak)
		if res.StatusCode != http.StatusOK || n != reportRows+1 {
			b.Fatalf("report: %d, %d lines, want %d", res.StatusCode, n, reportRows+1)
		}
		rows.Store(int64(n - 1))
		size.Store(bytes)
	}
	b.StopTimer()
	grew := int64(worst) - int64(base.HeapInuse)
	whole := wholeReport(b, r)
	b.ReportMetric(float64(rows.Load())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MB")
	fmt.Printf("FIGURE access report: %d rows, %.1f MB of CSV; heap in use %.1f MB before, %.1f MB at its peak (+%.1f MB); "+
		"the rows held whole would be %.1f MB live\n", rows.Load(), float64(size.Load())/(1<<20), float64(base.HeapInuse)/(1<<20),
		float64(worst)/(1<<20), float64(grew)/(1<<20), float64(whole)/(1<<20))
	// Bounded: streaming grows the heap (garbage not yet collected
	// included) by less than half of what the rows held whole take.
	if grew > whole/2 {
		b.Fatalf("the heap grew by %d bytes streaming rows that take %d bytes whole: it is held whole", grew, whole)
	}
}

// wholeReport is what the report's rows take when all are held at once
// (live heap after a collection), the figure streaming must stay below.
func wholeReport(b *testing.B, r *reportRig) int64 {
	b.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var all []store.ReportRow
	f := store.ReportFilter{Org: store.OrgFilter{Kind: store.KindCustomer, ID: demo.Contoso}, From: r.from, To: r.from.AddDate(1, 0, 0)}
	for row, err := range r.store.Report(context.Background(), f) {
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, row)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(all) != reportRows {
		b.Fatalf("%d rows held, want %d", len(all), reportRows)
	}
	runtime.KeepAlive(all)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}
