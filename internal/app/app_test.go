package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/internal/app"
	"github.com/partneraccess/partneraccess/internal/config"
	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/workflows"
)

// running is the one-process mode started in this test process.
type running struct {
	app.Ready
	stop func()
	out  *syncBuffer
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

// start runs `partneraccess` (everything) on free loopback ports with dataDir.
func start(t *testing.T, dataDir string, env map[string]string) *running {
	t.Helper()
	vars := map[string]string{
		"DATA_DIR": dataDir, "HTTP_ADDR": "127.0.0.1:0", "TEMPORAL_FRONTEND_ADDR": "127.0.0.1:0",
		"TEMPORAL_UI_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(config.ModeAll, nil, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan app.Ready, 1)
	done := make(chan error, 1)
	out := &syncBuffer{}
	go func() { done <- app.Run(ctx, cfg, out, out, ready) }()
	var r app.Ready
	select {
	case r = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("one-process mode stopped: %v\n%s", err, out)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatalf("one-process mode not ready in 2 minutes\n%s", out)
	}
	run := &running{Ready: r, out: out}
	var once sync.Once
	run.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
	t.Cleanup(run.stop)
	return run
}

func call(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func login(t *testing.T, base, email string) string {
	t.Helper()
	code, body := call(t, "POST", base+"/api/v1/session", "", map[string]string{"email": email, "password": demo.Password})
	if code != http.StatusCreated {
		t.Fatalf("login %s: %d %s", email, code, body)
	}
	var out struct{ Token string }
	json.Unmarshal(body, &out)
	return out.Token
}

type assignment struct {
	ID           string     `json:"id"`
	State        string     `json:"state"`
	AccessEndsAt *time.Time `json:"access_ends_at"`
	EndedAt      *time.Time `json:"ended_at"`
}

func getAssignment(t *testing.T, base, token, id string) assignment {
	t.Helper()
	_, body := call(t, "GET", base+"/api/v1/assignments/"+id, token, nil)
	var a assignment
	json.Unmarshal(body, &a)
	return a
}

// assignPending assigns Sam to Contoso's Standard site and waits until the
// request waits for approval.
func assignPending(t *testing.T, base, token, reason string) assignment {
	t.Helper()
	code, body := call(t, "POST", base+"/api/v1/sites/"+demo.ContosoSite+"/assignments", token,
		map[string]string{"user_id": demo.Solo, "reason": reason})
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	var a assignment
	json.Unmarshal(body, &a)
	waitFor(t, 20*time.Second, "pending approval", func() bool { return getAssignment(t, base, token, a.ID).State == "pending_approval" })
	return a
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOneProcessModeServesDemoDataUIAndSearchableWorkflows(t *testing.T) {
	dataDir := t.TempDir()
	r := start(t, dataDir, nil)
	if code, body := call(t, "GET", r.HTTPURL+"/readyz", "", nil); code != http.StatusOK {
		t.Fatalf("readyz: %d %s", code, body)
	}
	for _, want := range []string{r.HTTPURL, r.UIURL, "agent@partner.example", demo.Password, "Dev chat:    " + r.HTTPURL + "/dev/chat"} {
		if !strings.Contains(r.out.String(), want) {
			t.Fatalf("banner lacks %q:\n%s", want, r.out)
		}
	}
	if code, body := call(t, "GET", r.HTTPURL+"/dev/chat", "", nil); code != http.StatusOK || !strings.Contains(string(body), "Casey Contoso") {
		t.Fatalf("the banner's dev chat: %d %.300s", code, body)
	}
	if code, _ := call(t, "GET", r.UIURL+"/", "", nil); code != http.StatusOK {
		t.Fatalf("Temporal UI: %d", code)
	}
	// The embedded UI has payloads decoded by this process's codec endpoint.
	if code, body := call(t, "GET", r.UIURL+"/api/v1/settings", "", nil); code != http.StatusOK || !strings.Contains(string(body), r.HTTPURL+"/codec") {
		t.Fatalf("the UI's settings name no codec endpoint at %s/codec: %d %s", r.HTTPURL, code, body)
	}
	token := login(t, r.HTTPURL, "agent@partner.example")
	_, body := call(t, "GET", r.HTTPURL+"/api/v1/sites", token, nil)
	for _, site := range []string{"Contoso Sage 200 Standard", "Fabrikam Sage 200 Professional", "Litware Sage 200 Standard"} {
		if !strings.Contains(string(body), site) {
			t.Fatalf("demo site %q missing: %s", site, body)
		}
	}
	code, body := call(t, "POST", r.HTTPURL+"/api/v1/sites/"+demo.ContosoSite+"/assignments", token,
		map[string]string{"user_id": demo.Solo, "reason": "Case 1"})
	if code != http.StatusCreated {
		t.Fatalf("assign: %d %s", code, body)
	}
	var a assignment
	json.Unmarshal(body, &a)

	c, err := client.Dial(client.Options{HostPort: r.TemporalURL, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, 20*time.Second, "the workflow found by its search attributes", func() bool {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default",
			Query: fmt.Sprintf("%s = %q AND %s = %q", workflows.AttrSite.GetName(), demo.ContosoSite,
				workflows.AttrStatus.GetName(), "pending_approval"),
		})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.RunId == a.ID
	})
	// partneraccess inspect, from the same folder: the engine's view of it.
	cfg, err := config.Load(config.ModeAll, nil, func(k string) string {
		return map[string]string{"DATA_DIR": dataDir, "TEMPORAL_FRONTEND_ADDR": r.TemporalURL,
			"TEMPORAL_UI_ADDR": strings.TrimPrefix(r.UIURL, "http://")}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var shown bytes.Buffer
	if err := app.Inspect(context.Background(), cfg, a.ID, &shown); err != nil {
		t.Fatal(err)
	}
	t.Logf("partneraccess inspect %s:\n%s", a.ID, shown.String())
	for _, want := range []string{"Assignment " + a.ID, "state:     pending_approval", "running", "requested",
		"approval deadline", "activity ", "History: ", r.UIURL + "/namespaces/default/workflows/"} {
		if !strings.Contains(shown.String(), want) {
			t.Errorf("inspect lacks %q:\n%s", want, shown.String())
		}
	}
	if err := app.Inspect(context.Background(), cfg, "0190aaaa-0000-7000-8000-000000000000", &shown); err == nil || !strings.Contains(err.Error(), "has no workflow run") {
		t.Errorf("inspect of an unknown run: %v", err)
	}
	if code, body := call(t, "GET", r.HTTPURL+"/metrics", "", nil); code != http.StatusOK ||
		!strings.Contains(string(body), `partner_access_assignments_started_total{edition="standard"} 1`) ||
		!strings.Contains(string(body), "temporal_") {
		t.Fatalf("metrics: %d, want business and Temporal SDK metrics", code)
	}
}

// workflowTaskTimeout is Temporal's default, which the service keeps.
const workflowTaskTimeout = 10 * time.Second

func TestOneProcessRestartKeepsDataAndExpiresOnTime(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ACCESS_DURATION": "15s"} // long enough for a restart on a loaded machine
	r := start(t, dir, env)
	agent := login(t, r.HTTPURL, "agent@partner.example")
	a := assignPending(t, r.HTTPURL, agent, "Case restart")
	admin := login(t, r.HTTPURL, "admin@contoso.example")
	if code, body := call(t, "POST", r.HTTPURL+"/api/v1/assignments/"+a.ID+"/decision", admin, map[string]string{"decision": "approve"}); code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}
	waitFor(t, 20*time.Second, "active", func() bool { return getAssignment(t, r.HTTPURL, agent, a.ID).State == "active" })
	active := getAssignment(t, r.HTTPURL, agent, a.ID)
	// The demo's Contoso enforces access in the dev directory's tenant.
	upn := demo.Solo + "." + demo.Northwind + "@contoso.onmicrosoft.com"
	member, disabled := "<tr><td>"+upn+"</td></tr>", "<tr><td>"+upn+"</td><td>no</td>"
	if _, page := call(t, "GET", r.HTTPURL+"/dev/directory", "", nil); !strings.Contains(string(page), member) {
		t.Fatalf("the dev directory does not show the membership while active:\n%s", page)
	}

	// Stop everything while access is active, and start again on the same data.
	r.stop()
	r2 := start(t, dir, env)
	if got := getAssignment(t, r2.HTTPURL, agent, a.ID); got.State != "active" {
		t.Fatalf("after restart: %+v (the session and the assignment must survive)", got)
	}
	waitFor(t, 60*time.Second, "expired after the restart", func() bool {
		return getAssignment(t, r2.HTTPURL, agent, a.ID).State == "expired"
	})
	ended := getAssignment(t, r2.HTTPURL, agent, a.ID)
	late := ended.EndedAt.Sub(*active.AccessEndsAt)
	t.Logf("expired %v after its end, across a restart", late)
	// On time, give or take one workflow task: one the stop cut off (an
	// email's completion, on a loaded machine) is handed on only after its
	// timeout, 10 s, and the timer's task waits behind it.
	if late < 0 || late > 5*time.Second+workflowTaskTimeout {
		t.Log(r2.out.String())
		t.Fatalf("expired %v after its end (%v), want on time", late, active.AccessEndsAt)
	}
	_, body := call(t, "GET", r2.HTTPURL+"/api/v1/access?site="+demo.ContosoSite+"&user="+demo.Solo, agent, nil)
	if !strings.Contains(string(body), `"allowed":false`) {
		t.Fatalf("access after expiry: %s", body)
	}
	// The dev directory was rebuilt from the store at the restart, and the
	// expiry removed the membership there and disabled the account.
	waitFor(t, 10*time.Second, "the membership gone and the account disabled in the dev directory", func() bool {
		_, page := call(t, "GET", r2.HTTPURL+"/dev/directory", "", nil)
		return !strings.Contains(string(page), member) && strings.Contains(string(page), disabled)
	})
	if !strings.Contains(r2.out.String(), "/dev/directory") {
		t.Fatalf("the banner does not show the dev directory:\n%s", r2.out)
	}
	// Temporal's database holds the whole story, encrypted: neither the
	// reason nor a person's email is in it, in plain text or in base64.
	files, _ := filepath.Glob(filepath.Join(dir, "temporal.db*"))
	if len(files) == 0 {
		t.Fatal("no Temporal database files to read")
	}
	var db []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		db = append(db, b...)
	}
	if !bytes.Contains(db, []byte(demo.ContosoSite)) {
		t.Fatal("the site's ID is not in Temporal's database: the check reads nothing")
	}
	for _, s := range []string{"Case restart", "solo@partner.example", "admin@contoso.example", "agent@partner.example"} {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(`"` + s)), strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(s)), "=")} {
			if bytes.Contains(db, []byte(form)) {
				t.Fatalf("%q is in Temporal's database (as %q)", s, form)
			}
		}
	}
}

// A data folder whose key was replaced (issue 40: the split recipe wrote a
// new data/secret.key over the one-process one) holds open workflows that
// cannot be read. The start refuses, naming the key and how to recover,
// before a worker fails them; with the key back, nothing is lost.
func TestAReplacedKeyIsNamedAtTheStartAndItsReturnRecoversTheWorkflows(t *testing.T) {
	dir := t.TempDir()
	r := start(t, dir, nil)
	agent := login(t, r.HTTPURL, "agent@partner.example")
	a := assignPending(t, r.HTTPURL, agent, "Case key")
	r.stop()
	if strings.Contains(r.out.String(), "does not have") {
		t.Fatalf("the first start warns of a missing key:\n%s", r.out)
	}

	keyFile := filepath.Join(dir, "secret.key")
	old, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{SecretKey: old}
	if cfg.SecretKey, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(old))); err != nil {
		t.Fatal(err)
	}
	oldCodec, err := cfg.Codec()
	if err != nil {
		t.Fatal(err)
	}
	oldID := oldCodec.KeyID()
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	// A worker with the other key would fail the workflow for good: the
	// start stops, naming the key and how to recover.
	vars := map[string]string{"DATA_DIR": dir, "HTTP_ADDR": "127.0.0.1:0", "TEMPORAL_FRONTEND_ADDR": "127.0.0.1:0", "TEMPORAL_UI_ADDR": "", "LOG_LEVEL": "error"}
	cfg2, err := config.Load(config.ModeAll, nil, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	var out2 syncBuffer
	err = app.Run(context.Background(), cfg2, &out2, &out2, nil)
	// Open: the assignment, and the webhooks' dispatcher (its input is
	// encrypted too); either may be the one named.
	if err == nil || !regexp.MustCompile(`the worker does not start: 2 open workflows \(one is (assignment/`+demo.ContosoSite+"/"+demo.Solo+`|partner-access-webhooks)\)`).MatchString(err.Error()) {
		t.Errorf("the start with another key: %v; want it refused, naming the 2 open workflows", err)
	}
	for _, want := range []string{`key "` + oldID + `"`, "SECRET_KEY", "TEMPORAL_CODEC_KEYS", "To recover"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the start with another key: %v; want it refused, saying %q", err, want)
		}
	}

	if err := os.WriteFile(keyFile, old, 0o600); err != nil {
		t.Fatal(err)
	}
	r3 := start(t, dir, nil)
	if strings.Contains(r3.out.String(), "does not have") {
		t.Fatalf("with its key back the start still warns:\n%s", r3.out)
	}
	admin := login(t, r3.HTTPURL, "admin@contoso.example")
	// 202: the workflow has the decision and records it a moment later.
	if code, body := call(t, "POST", r3.HTTPURL+"/api/v1/assignments/"+a.ID+"/decision", admin, map[string]string{"decision": "approve"}); code != http.StatusOK && code != http.StatusAccepted {
		t.Fatalf("approve after the key came back: %d %s", code, body)
	}
	waitFor(t, 20*time.Second, "active", func() bool { return getAssignment(t, r3.HTTPURL, agent, a.ID).State == "active" })
}
