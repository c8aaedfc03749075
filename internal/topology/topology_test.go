package topology_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/mail/sendgridfake"
	"github.com/partneraccess/partneraccess/internal/optional"
	"github.com/partneraccess/partneraccess/internal/pgtest"
	"github.com/partneraccess/partneraccess/internal/store"
)

// accessDuration is long enough for a round of assignments to become
// active (and a worker to be killed) before the first one ends.
const accessDuration = 8 * time.Second

// extraUsers are Northwind users added to the demo data, so that a round
// has several assignments in flight to the same site at once (R8 allows
// one per site and user).
const extraUsers = 6

// TestSplitTopologyAsProcesses runs PostgreSQL, `temporal`, 2 workers and
// 2 servers as processes of the built binary. Round 1: assignments made on
// server A, approved on server B with a session made on A; worker 1 is
// killed (-9) while every access is running. Round 2: assignments made on
// B while B is killed (-9) mid-request, the failed requests repeated on A,
// approved on A with a session made on B. Every assignment must end on
// time, each email be sent once.
func TestSplitTopologyAsProcesses(t *testing.T) {
	pgURL := pgtest.NewDatabaseFor(t, optional.Topology)
	began := time.Now()
	bin := build(t)
	t.Logf("FIGURE build: %v", time.Since(began).Round(time.Second))

	fake := sendgridfake.New(t)
	dir := t.TempDir()
	frontend := freeAddr(t)
	common := map[string]string{
		"TEMPORAL_ADDRESS": frontend, "DATABASE_URL": pgURL, "SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"SENDGRID_API_KEY": fake.Key(), "SENDGRID_BASE_URL": fake.URL(), "DEMO_DATA": "false", "LOG_LEVEL": "warn",
		"ACCESS_DURATION": accessDuration.String(), "APPROVAL_TIMEOUT": "10m", "APPROVAL_REMINDER": "0", "READY_WAIT": "2s",
		"EXPIRY_WARNING": "0", "PROFESSIONAL_REMINDER": "0", // a fixed mail plan
		"DATABASE_MAX_CONNS": "4",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	began = time.Now()
	temporal := start(t, bin, dir, "temporal", "temporal", map[string]string{
		"DATA_DIR": filepath.Join(dir, "temporal"), "TEMPORAL_FRONTEND_ADDR": frontend, "TEMPORAL_UI_ADDR": freeAddr(t), "LOG_LEVEL": "warn",
	})
	temporal.waitOutput(t, "Press Ctrl-C", time.Minute)
	t.Logf("FIGURE temporal ready: %v", time.Since(began).Round(100*time.Millisecond))

	// Four processes migrate the empty database at once.
	began = time.Now()
	addrA, addrB := freeAddr(t), freeAddr(t)
	workerEnv := func() map[string]string {
		return with("DATA_DIR", t.TempDir(), "PUBLIC_URL", "http://"+addrA, "METRICS_ADDR", freeAddr(t))
	}
	w1 := start(t, bin, dir, "worker-1", "worker", workerEnv())
	w2 := start(t, bin, dir, "worker-2", "worker", workerEnv())
	serverA := start(t, bin, dir, "server-A", "server", with("DATA_DIR", t.TempDir(), "HTTP_ADDR", addrA, "PUBLIC_URL", "http://"+addrA))
	serverB := start(t, bin, dir, "server-B", "server", with("DATA_DIR", t.TempDir(), "HTTP_ADDR", addrB, "PUBLIC_URL", "http://"+addrA))
	for _, p := range []*proc{w1, w2, serverA, serverB} {
		p.waitHTTP(t, "/healthz", 90*time.Second)
	}
	a, b := api{t, "http://" + addrA}, api{t, "http://" + addrB}
	a.waitReady(30 * time.Second)
	b.waitReady(30 * time.Second)
	t.Logf("FIGURE 2 workers + 2 servers ready (migrations included): %v", time.Since(began).Round(100*time.Millisecond))

	st, err := store.OpenPostgres(context.Background(), pgURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	users := loadUsers(t, st)

	// Round 1: made on A, approved on B; worker 1 dies while access runs.
	agentOnA := a.login("agent@partner.example")
	adminOnA := a.login("admin@contoso.example")
	round1 := make([]string, 0, len(users))
	for _, u := range users {
		id, status := a.assign(agentOnA, u, "round 1")
		if status != http.StatusCreated {
			t.Fatalf("round 1: assign %s on A: %d", u, status)
		}
		round1 = append(round1, id)
	}
	waitAll(t, st, round1, domain.StatePendingApproval, 30*time.Second)
	decided := map[string]time.Time{}
	for _, id := range round1 {
		decided[id] = time.Now()
		if status := b.decide(adminOnA, id); status != http.StatusOK {
			t.Fatalf("approve %s on B with a session made on A: %d", id, status)
		}
	}
	waitAll(t, st, round1, domain.StateActive, 30*time.Second)
	plan := planMail(t, st)
	waitMail(t, st, round1, plan.active, 30*time.Second)
	for _, id := range round1 {
		if !b.allowed(agentOnA, id, st) {
			t.Fatalf("gateway on B denies active assignment %s", id)
		}
	}
	w1.kill(t)
	gateway := []time.Duration{gatewayLag(t, a, agentOnA, st, round1[len(round1)-1])}
	checkDeniedAfter(t, a, agentOnA, st, round1, lastEnd(t, st, round1))
	waitAll(t, st, round1, domain.StateExpired, accessDuration+30*time.Second)

	// A new worker replaces the dead one.
	w1 = start(t, bin, dir, "worker-1b", "worker", workerEnv())
	w1.waitHTTP(t, "/healthz", 60*time.Second)

	// Round 2: made on B, which dies mid-request; what failed is repeated on A.
	agentOnB := b.login("agent@partner.example")
	adminOnB := b.login("admin@contoso.example")
	ids := make([]string, len(users))
	var wg sync.WaitGroup
	firstDone := make(chan struct{})
	var once sync.Once
	var retried int
	var mu sync.Mutex
	for i, u := range users {
		wg.Go(func() {
			id, status := b.tryAssign(agentOnB, u, "round 2")
			once.Do(func() { close(firstDone) })
			if status == 0 || status >= 500 { // B died: a load balancer would send it to A
				mu.Lock()
				retried++
				mu.Unlock()
				id, status = a.tryAssign(agentOnB, u, "round 2")
			}
			if status != http.StatusCreated && status != http.StatusOK {
				t.Errorf("round 2: assign %s: %d", u, status)
			}
			ids[i] = id
		})
	}
	<-firstDone
	serverB.kill(t)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("FIGURE round 2: %d of %d requests failed with server B killed and were repeated on A", retried, len(users))
	round2 := slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(round2) != len(users) || round2[0] == "" {
		t.Fatalf("round 2 assignments %v: want %d distinct", ids, len(users))
	}
	waitAll(t, st, round2, domain.StatePendingApproval, 30*time.Second)
	for _, id := range round2 {
		decided[id] = time.Now()
		if status := a.decide(adminOnB, id); status != http.StatusOK {
			t.Fatalf("approve %s on A with a session made on B: %d", id, status)
		}
	}
	waitAll(t, st, round2, domain.StateActive, 30*time.Second)
	gateway = append(gateway, gatewayLag(t, a, agentOnB, st, round2[len(round2)-1]))
	checkDeniedAfter(t, a, agentOnB, st, round2, lastEnd(t, st, round2))
	waitAll(t, st, round2, domain.StateExpired, accessDuration+30*time.Second)

	all := append(round1, round2...)
	waitMail(t, st, all, plan.ended, 30*time.Second)
	checkEmailsOnce(t, st, fake, all)
	report(t, st, "round 1 (worker killed while access ran)", round1, decided)
	report(t, st, "round 2 (server killed while assigning)", round2, decided)
	t.Logf("FIGURE gateway denies after the end (last of each round, polled every 10 ms): %v", gateway)
}

// build compiles the binary once, into the test's temporary directory.
func build(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "partneraccess")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is one running process of the binary.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	addr   string // its HTTP address (server) or metrics address (worker)
	exited chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs `bin mode` with only env (and PATH, HOME) in its environment;
// it is stopped (SIGTERM) when the test ends, and its output logged if the
// test failed.
func start(t *testing.T, bin, dir, name, mode string, env map[string]string) *proc {
	t.Helper()
	cmd := exec.Command(bin, mode)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, addr: env["HTTP_ADDR"], exited: make(chan struct{})}
	if mode == "worker" {
		p.addr = env["METRICS_ADDR"]
	}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("--- %s output:\n%s", name, tail(p.out.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// kill sends SIGKILL: no cleanup, no graceful stop.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	t.Logf("killed %s (-9)", p.name)
}

func (p *proc) waitOutput(t *testing.T, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.out.String(), want) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited:\n%s", p.name, p.out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q within %v:\n%s", p.name, want, within, p.out)
		}
	}
}

func (p *proc) waitHTTP(t *testing.T, path string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get("http://" + p.addr + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited:\n%s", p.name, p.out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not OK within %v (%v):\n%s", p.name, path, within, err, p.out)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// loadUsers loads the demo data and extra Northwind users, and returns the
// partner users that round assignments go to.
func loadUsers(t *testing.T, st *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	if err := demo.Load(ctx, st, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	users := []string{demo.Agent, demo.Solo}
	for i := range extraUsers {
		id := fmt.Sprintf("northwind-load-%d", i)
		if err := st.CreateUser(ctx, store.User{ID: id, Email: fmt.Sprintf("load%d@partner.example", i), Name: fmt.Sprintf("Load %d", i),
			Kind: store.KindPartner, PartnerID: demo.Northwind, Status: store.StatusActive, RegisteredAt: &now,
			Roles: []string{store.RolePartnerSupportAgent}}); err != nil {
			t.Fatal(err)
		}
		users = append(users, id)
	}
	return users
}

// api calls one server's JSON API.
type api struct {
	t    *testing.T
	base string
}

func (c api) do(method, path, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

func (c api) waitReady(within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		status, body, err := c.do("GET", "/readyz", "", nil)
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s/readyz: %d %s %v", c.base, status, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c api) login(email string) string {
	c.t.Helper()
	status, body, err := c.do("POST", "/api/v1/session", "", map[string]string{"email": email, "password": demo.Password})
	if status != http.StatusCreated {
		c.t.Fatalf("login %s on %s: %d %s %v", email, c.base, status, body, err)
	}
	var out struct{ Token string }
	json.Unmarshal(body, &out)
	return out.Token
}

// tryAssign assigns; status 0 means the server did not answer.
func (c api) tryAssign(token, user, reason string) (id string, status int) {
	status, body, _ := c.do("POST", "/api/v1/sites/"+demo.ContosoSite+"/assignments", token,
		map[string]string{"user_id": user, "role": store.RolePartnerSupportAgent, "reason": reason})
	var a struct{ ID string }
	json.Unmarshal(body, &a)
	return a.ID, status
}

func (c api) assign(token, user, reason string) (string, int) {
	c.t.Helper()
	id, status := c.tryAssign(token, user, reason)
	if status == 0 {
		c.t.Fatalf("assign %s on %s: no answer", user, c.base)
	}
	return id, status
}

func (c api) decide(token, id string) int {
	c.t.Helper()
	status, body, err := c.do("POST", "/api/v1/assignments/"+id+"/decision", token, map[string]string{"decision": "approve"})
	if err != nil || status != http.StatusOK {
		c.t.Logf("decide %s: %d %s %v", id, status, body, err)
	}
	return status
}

// allowed asks the gateway's question for the assignment's site and user.
func (c api) allowed(token, id string, st *store.Store) bool {
	c.t.Helper()
	as, err := st.AssignmentByID(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	status, body, err := c.do("GET", "/api/v1/access?site="+as.SiteID+"&user="+as.PartnerUserID, token, nil)
	if status != http.StatusOK {
		c.t.Fatalf("access of %s: %d %s %v", id, status, body, err)
	}
	var out struct{ Allowed bool }
	json.Unmarshal(body, &out)
	return out.Allowed
}

func waitAll(t *testing.T, st *store.Store, ids []string, state string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, id := range ids {
		for {
			a, err := st.AssignmentByID(context.Background(), id)
			if err == nil && a.State == state {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("assignment %s: %q (%v), want %q within %v", id, a.State, err, state, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// mailPlan is how many emails of each kind an approved Standard assignment
// to Contoso's site has sent once active, and once ended.
// Index 0 is for a user who assigned themselves, 1 for one assigned by the
// agent, whose copies of the partner side's emails come on top.
type mailPlan struct{ active, ended [2]map[string]int }

func planMail(t *testing.T, st *store.Store) mailPlan {
	t.Helper()
	ctx := context.Background()
	approvers, err := st.Approvers(ctx, demo.Contoso)
	if err != nil {
		t.Fatal(err)
	}
	customers, err := st.CustomerUsers(ctx, demo.Contoso)
	if err != nil {
		t.Fatal(err)
	}
	var plan mailPlan
	for other := range 2 {
		partnerSide := 1 + other
		told := partnerSide
		for _, u := range customers {
			if u.Status == store.StatusActive {
				told++
			}
		}
		active := map[string]int{string(domain.EmailApprovalRequest): len(approvers),
			string(domain.EmailCustomerNotice):       told - partnerSide - len(approvers),
			string(domain.EmailApprovalConfirmation): len(approvers), string(domain.EmailAccessGranted): partnerSide}
		if other == 1 {
			active[string(domain.EmailRequestSent)] = 1
		}
		ended := map[string]int{string(domain.EmailAccessEnded): told}
		for k, n := range active {
			ended[k] = n
		}
		plan.active[other], plan.ended[other] = active, ended
	}
	return plan
}

// sentKinds counts an assignment's emails the store records as sent, by
// kind; pending counts the others.
func sentKinds(t *testing.T, st *store.Store, id string) (kinds map[string]int, pending int) {
	t.Helper()
	es, err := st.Emails(context.Background(), store.EmailFilter{AssignmentID: id})
	if err != nil {
		t.Fatal(err)
	}
	kinds = map[string]int{}
	for _, e := range es {
		if e.Status == store.EmailSent {
			kinds[e.Kind]++
		} else {
			pending++
		}
	}
	return kinds, pending
}

// waitMail waits until each assignment has sent the emails of want and
// has none in flight. Before killing a worker this leaves it no email in
// flight: one killed between SendGrid's answer and its record would send
// that email again on retry (delivery is at least once).
func waitMail(t *testing.T, st *store.Store, ids []string, plan [2]map[string]int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, id := range ids {
		a, err := st.AssignmentByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := plan[0]
		if a.RequestedBy != a.PartnerUserID {
			want = plan[1]
		}
		for {
			kinds, pending := sentKinds(t, st, id)
			if pending == 0 && maps.Equal(kinds, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("emails of %s: %v sent, %d pending after %v; want %v", id, kinds, pending, within, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func lastEnd(t *testing.T, st *store.Store, ids []string) time.Time {
	t.Helper()
	var last time.Time
	for _, id := range ids {
		a, err := st.AssignmentByID(context.Background(), id)
		if err != nil || a.AccessEndsAt == nil {
			t.Fatalf("assignment %s has no end: %+v %v", id, a, err)
		}
		if a.AccessEndsAt.After(last) {
			last = *a.AccessEndsAt
		}
	}
	return last
}

// checkDeniedAfter asks the gateway's question just after the last access
// of a round ends: each must be denied, whatever the workflows are doing.
func checkDeniedAfter(t *testing.T, c api, token string, st *store.Store, ids []string, ends time.Time) {
	t.Helper()
	time.Sleep(time.Until(ends.Add(200 * time.Millisecond)))
	for _, id := range ids {
		if c.allowed(token, id, st) {
			t.Fatalf("gateway allows %s after its access ended at %v", id, ends)
		}
	}
}

// checkEmailsOnce: SendGrid got each email (idempotency key) once, and
// exactly those the store records as sent.
func checkEmailsOnce(t *testing.T, st *store.Store, fake *sendgridfake.Fake, ids []string) {
	t.Helper()
	got := map[string]int{}
	for _, m := range fake.Messages() {
		got[m.CustomArgs["idempotency_key"]]++
	}
	sent := 0
	for _, id := range ids {
		es, err := st.Emails(context.Background(), store.EmailFilter{AssignmentID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			sent++
			if got[e.Key] != 1 {
				t.Errorf("email %s (%s) went to SendGrid %d times", e.Key, e.Status, got[e.Key])
			}
		}
	}
	if n := len(fake.Messages()); n != sent {
		t.Errorf("SendGrid accepted %d emails, the store records %d", n, sent)
	}
	t.Logf("FIGURE emails: %d, each sent once", sent)
}

// report logs a round's figures and checks that access ended on time.
// decided is when the test sent each approval.
func report(t *testing.T, st *store.Store, round string, ids []string, decided map[string]time.Time) {
	t.Helper()
	var toFinal, lateness, approveToActive []time.Duration
	for _, id := range ids {
		a, err := st.AssignmentByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if a.State != domain.StateExpired || a.EndedAt == nil || a.AccessEndsAt == nil || a.ActivatedAt == nil {
			t.Fatalf("assignment %s not expired: %+v", id, a)
		}
		toFinal = append(toFinal, a.EndedAt.Sub(a.RequestedAt))
		lateness = append(lateness, a.EndedAt.Sub(*a.AccessEndsAt))
		approveToActive = append(approveToActive, a.ActivatedAt.Sub(decided[id]))
	}
	t.Logf("FIGURE %s: %d assignments, access %v each", round, len(ids), accessDuration)
	t.Logf("FIGURE   request → final state: %s", summary(toFinal))
	t.Logf("FIGURE   approval sent → active: %s", summary(approveToActive))
	t.Logf("FIGURE   access end → recorded expired: %s", summary(lateness))
	if m := slices.Max(lateness); m > 15*time.Second || slices.Min(lateness) < 0 {
		t.Errorf("%s: ended %s after the end; want 0-15 s (a dead worker's workflows wait out the 5 s sticky timeout)", round, summary(lateness))
	}
}

// gatewayLag asks the gateway's question around the end of an
// assignment's access, and returns how long after the end it was denied.
func gatewayLag(t *testing.T, c api, token string, st *store.Store, id string) time.Duration {
	t.Helper()
	a, err := st.AssignmentByID(context.Background(), id)
	if err != nil || a.AccessEndsAt == nil {
		t.Fatalf("assignment %s: %+v %v", id, a, err)
	}
	end := *a.AccessEndsAt
	time.Sleep(time.Until(end.Add(-300 * time.Millisecond)))
	if !c.allowed(token, id, st) {
		t.Fatalf("gateway denies %s before its end %v", id, end)
	}
	for time.Now().Before(end.Add(5 * time.Second)) {
		if !c.allowed(token, id, st) {
			return time.Since(end).Round(time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("gateway still allows %s 5 s after its end", id)
	return 0
}

func summary(ds []time.Duration) string {
	s := slices.Sorted(slices.Values(ds))
	return fmt.Sprintf("min %v, median %v, max %v", s[0].Round(time.Millisecond), s[len(s)/2].Round(time.Millisecond),
		s[len(s)-1].Round(time.Millisecond))
}
