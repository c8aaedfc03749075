package graph_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/graph"
)

const (
	tenant   = "6f1c0000-0000-4000-8000-000000000001"
	app      = "0a7e0000-0000-4000-8000-000000000002"
	group    = "3b7f0000-0000-4000-8000-000000000003"
	secret   = "s3cret-value-that-must-never-show"
	upn      = "p.n@contoso.example"
	password = "Temp-Passw0rd-1234"
)

// env is the Graph stand-in on a loopback server and a client of it.
type env struct {
	d       *devgraph.Directory
	url     string
	c       *graph.Client
	secrets *atomic.Int32 // times the client read its secret
}

func setup(t *testing.T) *env {
	t.Helper()
	d := devgraph.New()
	d.AddTenant(tenant, app, secret)
	d.AddGroup(tenant, group, "AVD users")
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	e := &env{d: d, url: srv.URL, secrets: new(atomic.Int32)}
	e.c = e.client(srv.URL, srv.URL, secret)
	return e
}

// client is a client of the tenant at loginURL and graphURL, with secret.
func (e *env) client(loginURL, graphURL, s string) *graph.Client {
	return graph.New(graph.Config{LoginURL: loginURL, GraphURL: graphURL, TenantID: tenant, ClientID: app,
		Secret: func() (string, error) { e.secrets.Add(1); return s, nil }})
}

// paced is a client of the tenant whose writes go at pace.
func (e *env) paced(pace *graph.Pace) *graph.Client {
	return graph.New(graph.Config{LoginURL: e.url, GraphURL: e.url, TenantID: tenant, ClientID: app,
		Secret: func() (string, error) { return secret, nil }, Pace: pace})
}

func (e *env) create(t *testing.T) graph.User {
	t.Helper()
	u, err := e.c.CreateUser(context.Background(), graph.NewUser{UPN: upn, DisplayName: "P N", MailNickname: "p.n", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) user(t *testing.T) devgraph.User {
	t.Helper()
	for _, u := range e.d.Snapshot(tenant).Users {
		if u.UPN == upn {
			return u
		}
	}
	t.Fatalf("no %s in the directory", upn)
	return devgraph.User{}
}

func TestCreateLookUpAndCreateAgain(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.c.UserByUPN(ctx, upn); !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("lookup of a missing user: %v, want ErrNotFound", err)
	}
	u := e.create(t)
	if u.ID == "" || u.UserPrincipalName != upn || !u.AccountEnabled {
		t.Fatalf("created %+v", u)
	}
	if got := e.user(t); !got.Enabled || !got.ForceChange {
		t.Fatalf("directory holds %+v, want enabled and the password to be changed", got)
	}
	found, err := e.c.UserByUPN(ctx, upn)
	if err != nil || found != u {
		t.Fatalf("lookup: %+v %v, want %+v", found, err, u)
	}
	_, err = e.c.CreateUser(ctx, graph.NewUser{UPN: "P.N@contoso.example", DisplayName: "P N", MailNickname: "p.n", Password: password})
	if !errors.Is(err, graph.ErrExists) || errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Fatalf("the error shows the password: %v", err)
	}
}

func TestEnableAndDisable(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.create(t)
	for _, enabled := range []bool{false, true, false} {
		if err := e.c.SetEnabled(ctx, u.ID, enabled); err != nil {
			t.Fatal(err)
		}
		got, err := e.c.UserByUPN(ctx, upn)
		if err != nil || got.AccountEnabled != enabled || e.user(t).Enabled != enabled {
			t.Fatalf("after SetEnabled(%v): %+v %v", enabled, got, err)
		}
	}
	if err := e.c.SetEnabled(ctx, "00000000-0000-4000-8000-000000000000", false); !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("disabling a missing user: %v, want ErrNotFound", err)
	}
}

func TestResetPassword(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.create(t)
	if err := e.c.ResetPassword(ctx, u.ID, "Another-Passw0rd-99"); err != nil {
		t.Fatal(err)
	}
	if got := e.user(t); got.PasswordsSet != 2 || !got.ForceChange {
		t.Fatalf("directory holds %+v, want the first password and one reset, to be changed at sign-in", got)
	}
	err := e.c.ResetPassword(ctx, "00000000-0000-4000-8000-000000000000", "Third-Passw0rd-77")
	if !errors.Is(err, graph.ErrNotFound) || strings.Contains(err.Error(), "Third-Passw0rd-77") {
		t.Fatalf("reset of a missing user: %v, want ErrNotFound without the password", err)
	}
}

func TestAddAndRemoveMemberTwice(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.create(t)
	for i := range 2 {
		if err := e.c.AddMember(ctx, group, u.ID); err != nil {
			t.Fatalf("add %d: %v", i+1, err)
		}
	}
	ms, err := e.c.Members(ctx, group)
	if err != nil || len(ms) != 1 || ms[0] != (graph.Member{ID: u.ID}) {
		t.Fatalf("members %+v %v, want the user once", ms, err)
	}
	for i := range 2 {
		if err := e.c.RemoveMember(ctx, group, u.ID); err != nil {
			t.Fatalf("remove %d: %v", i+1, err)
		}
	}
	if ms, err := e.c.Members(ctx, group); err != nil || len(ms) != 0 {
		t.Fatalf("members after removal: %+v %v", ms, err)
	}
	e.user(t) // the membership went, not the user
	// The second add and remove were answered 400 and 404, and counted as
	// done.
	var statuses []int
	for _, r := range e.d.Requests() {
		if strings.HasPrefix(r.Path, "/v1.0/groups/"+group+"/members/") {
			statuses = append(statuses, r.Status)
		}
	}
	if fmt.Sprint(statuses) != "[204 400 204 404]" {
		t.Fatalf("membership answers %v", statuses)
	}
	if err := e.c.AddMember(ctx, group, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("adding a missing user: %v, want ErrNotFound", err)
	}
}

func TestMembersFollowsEveryPage(t *testing.T) {
	e := setup(t)
	e.d.PageSize = 2
	want := map[string]string{}
	for i := range 5 {
		upn := fmt.Sprintf("own%d@contoso.example", i)
		id := e.d.AddUser(tenant, upn, "Own")
		e.d.AddToGroup(tenant, group, id)
		want[id] = upn
	}
	ms, err := e.c.Members(context.Background(), group)
	if err != nil || len(ms) != len(want) {
		t.Fatalf("members %+v %v, want 5", ms, err)
	}
	for _, m := range ms {
		if _, ok := want[m.ID]; !ok {
			t.Fatalf("member %+v, want one of %v, each once", m, want)
		}
		delete(want, m.ID)
	}
	pages := 0
	for _, r := range e.d.Requests() {
		if r.Method == http.MethodGet && r.Path == "/v1.0/groups/"+group+"/members" {
			pages++
		}
	}
	if pages != 3 {
		t.Fatalf("%d pages read, want 3", pages)
	}
}

// The next page's link carries the token: it is followed only to the
// Graph the client was given.
func TestMembersFollowsNoLinkElsewhere(t *testing.T) {
	e := setup(t)
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1.0/") {
			asked.Add(1)
			fmt.Fprint(w, `{"value":[],"@odata.nextLink":"http://127.0.0.1:1/v1.0/groups/x/members?$skiptoken=2"}`)
			return
		}
		e.d.ServeHTTP(w, r)
	}))
	defer srv.Close()
	_, err := e.client(srv.URL, srv.URL, secret).Members(context.Background(), group)
	if err == nil || !strings.Contains(err.Error(), "outside") || asked.Load() != 1 {
		t.Fatalf("a link elsewhere: %v after %d pages, want refused after the first", err, asked.Load())
	}
}

func TestRevokeSessions(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.create(t)
	for range 2 {
		if err := e.c.RevokeSessions(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.user(t).SessionsRevoked; got != 2 {
		t.Fatalf("%d revocations, want 2", got)
	}
}

func TestDeniedNamesThePermission(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.create(t)
	e.d.Deny(tenant, true)
	for _, c := range []struct {
		call func() error
		perm string
	}{
		{func() error { _, err := e.c.UserByUPN(ctx, upn); return err }, "User.ReadWrite.All"},
		{func() error { _, err := e.c.CreateUser(ctx, graph.NewUser{UPN: "q@contoso.example"}); return err }, "User.ReadWrite.All"},
		{func() error { return e.c.SetEnabled(ctx, u.ID, false) }, "User.ReadWrite.All"},
		{func() error { return e.c.ResetPassword(ctx, u.ID, password) }, "User.ReadWrite.All"},
		{func() error { return e.c.AddMember(ctx, group, u.ID) }, "GroupMember.ReadWrite.All"},
		{func() error { return e.c.RemoveMember(ctx, group, u.ID) }, "GroupMember.ReadWrite.All"},
		{func() error { _, err := e.c.Members(ctx, group); return err }, "GroupMember.ReadWrite.All"},
		{func() error { return e.c.RevokeSessions(ctx, u.ID) }, "User.RevokeSessions.All"},
	} {
		err := c.call()
		retry, _ := graph.Retryable(err)
		if !graph.Denied(err) || retry || graph.Permission(err) != c.perm {
			t.Errorf("%v: denied %v, retry %v, permission %q; want denied, for %s", err, graph.Denied(err), retry, graph.Permission(err), c.perm)
		}
	}
	err := e.c.SetEnabled(ctx, u.ID, false)
	if want := "graph: PATCH /users/" + u.ID + ": 403 Authorization_RequestDenied: Insufficient privileges to complete the operation."; err.Error() != want {
		t.Fatalf("error reads %q, want %q", err, want)
	}
}

// A wrong secret, client or tenant is refused a token: denied, named, and
// no secret shown.
func TestRefusedTokenIsDeniedWithoutTheSecret(t *testing.T) {
	e := setup(t)
	const wrong = "wrong-secret-value-42"
	for _, c := range []struct {
		name             string
		tenant, app, key string
		code             string
	}{
		{"wrong secret", tenant, app, wrong, "AADSTS7000215"},
		{"unknown client", tenant, "0a7e0000-0000-4000-8000-0000000000ff", secret, "AADSTS700016"},
		{"unknown tenant", "6f1c0000-0000-4000-8000-0000000000ff", app, secret, "AADSTS90002"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := graph.New(graph.Config{LoginURL: e.url, GraphURL: e.url, TenantID: c.tenant, ClientID: c.app,
				Secret: func() (string, error) { return c.key, nil }}).UserByUPN(context.Background(), upn)
			if !graph.Denied(err) || graph.Permission(err) != "" {
				t.Fatalf("%v: want denied, with no permission named", err)
			}
			if retry, _ := graph.Retryable(err); retry {
				t.Fatalf("%v: retryable", err)
			}
			msg := err.Error()
			for _, want := range []string{c.code, "client " + c.app, "tenant " + c.tenant, "Trace ID"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q does not name %q", msg, want)
				}
			}
			if strings.Contains(msg, wrong) || strings.Contains(msg, secret) || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("the error shows a secret or runs over lines: %q", msg)
			}
		})
	}
}

func TestSecretIsReadLazilyAndItsErrorKept(t *testing.T) {
	e := setup(t)
	unreadable := errors.New("the client secret file cannot be read")
	c := graph.New(graph.Config{LoginURL: e.url, GraphURL: e.url, TenantID: tenant, ClientID: app,
		Secret: func() (string, error) { e.secrets.Add(1); return "", unreadable }})
	if n := e.secrets.Load(); n != 0 {
		t.Fatalf("the secret was read %d times before any call", n)
	}
	if _, err := c.UserByUPN(context.Background(), upn); !errors.Is(err, unreadable) {
		t.Fatalf("%v, want the secret's error", err)
	}
	if n := len(e.d.Requests()); n != 0 {
		t.Fatalf("%d requests made without a secret", n)
	}
}

func TestOneTokenServesManyCalls(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.create(t)
	for range 3 {
		if _, err := e.c.UserByUPN(ctx, upn); err != nil {
			t.Fatal(err)
		}
		if err := e.c.SetEnabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	if n, s := e.d.TokenRequests(), e.secrets.Load(); n != 1 || s != 1 {
		t.Fatalf("%d token requests, secret read %d times; want one token for 7 calls", n, s)
	}
}

// A tenant that answers 429 holds every writer of the worker for its
// Retry-After, and each throttled write is sent again until it is done:
// every write is done once, none fails.
func TestA429HoldsTheTenantForEveryWriter(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.create(t)
	e.d.WriteRate(2)
	pace := graph.NewPace(100) // far above what the tenant takes
	a, b := e.paced(pace), e.paced(pace)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() { errs <- c.SetEnabled(ctx, u.ID, i%2 == 0) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	done, throttled := 0, 0
	for _, r := range e.d.Requests() {
		if r.Method == http.MethodPatch {
			switch r.Status {
			case http.StatusNoContent:
				done++
			case http.StatusTooManyRequests:
				throttled++
			}
		}
	}
	if done != 6 || throttled == 0 || pace.Throttled() != int64(throttled) {
		t.Fatalf("%d writes done, %d throttled (pace counted %d); want 6 done after some 429s", done, throttled, pace.Throttled())
	}
	// 6 writes at 2 a second, the first 2 at once: 2 s at least.
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Fatalf("6 writes at 2/s took %s", took)
	}
}

// Writers of one tenant share its bucket: paced just below the tenant's
// limit, a burst of writes from two clients draws no 429.
func TestPaceSharedByTheTenantsClients(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.create(t)
	e.d.WriteRate(10)
	pace := graph.NewPace(9)
	a, b := e.paced(pace), e.paced(pace)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 30 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			if err := c.SetEnabled(ctx, u.ID, true); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Fatalf("30 writes at 9/s took %s", took)
	}
	if n := pace.Throttled(); n != 0 {
		t.Fatalf("%d writes throttled, want none", n)
	}
}

// Reads of one group share one read in flight, and each answer is from a
// read that started after its call: a removal made before the calls shows
// in every one of them.
func TestMembersShareOneReadInFlight(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.d.PageSize = 3
	var ids []string
	for i := range 7 {
		id := e.d.AddUser(tenant, fmt.Sprintf("own%d@contoso.example", i), "Own")
		e.d.AddToGroup(tenant, group, id)
		ids = append(ids, id)
	}
	before := len(e.d.Requests())
	var wg sync.WaitGroup
	for round := range 3 {
		e.d.RemoveFromGroup(tenant, group, ids[round])
		for range 20 {
			wg.Go(func() {
				ms, err := e.c.Members(ctx, group)
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range ms {
					if m.ID == ids[round] {
						t.Errorf("round %d: a read answered the member removed before the call", round)
					}
				}
			})
		}
		wg.Wait()
	}
	reads := 0
	for _, r := range e.d.Requests()[before:] {
		if r.Path == "/v1.0/groups/"+group+"/members" {
			reads++
		}
	}
	// 60 calls over 3 rounds; pages of 3 of 6, 5, 4 members: 2 pages a read.
	if reads > 3*2*2 || reads%2 != 0 {
		t.Fatalf("%d pages read for 60 calls; want at most two reads a round, of 2 pages each", reads)
	}
}

func TestServerErrorsAreRetryable(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
		e.d.FailNext(1, status)
		_, err := e.c.UserByUPN(ctx, upn)
		var ge *graph.Error
		if retry, _ := graph.Retryable(err); !retry || graph.Denied(err) || !errors.As(err, &ge) || ge.Status != status {
			t.Fatalf("%d: %v, want retryable", status, err)
		}
	}
	if _, err := e.c.UserByUPN(ctx, upn); !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("after the outage: %v, want an answer (ErrNotFound)", err)
	}
}

// No answer at all, from the token endpoint or from Graph, is retryable.
func TestNoAnswerIsRetryable(t *testing.T) {
	e := setup(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for name, c := range map[string]*graph.Client{
		"token endpoint": e.client(down.URL, e.url, secret),
		"graph":          e.client(e.url, down.URL, secret),
	} {
		_, err := c.UserByUPN(context.Background(), upn)
		var ge *graph.Error
		if retry, _ := graph.Retryable(err); !retry || graph.Denied(err) || !errors.As(err, &ge) || ge.Status != 0 {
			t.Errorf("%s down: %v, want retryable with no status", name, err)
		}
	}
}

func TestANewAccountMayNotBeVisibleAtOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.d.Lag(2)
	u := e.create(t)
	if _, err := e.c.UserByUPN(ctx, upn); !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("read right after create: %v, want replication lag's ErrNotFound", err)
	}
	if err := e.c.AddMember(ctx, group, u.ID); !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("add right after create: %v, want ErrNotFound", err)
	}
	if got, err := e.c.UserByUPN(ctx, upn); err != nil || got.ID != u.ID {
		t.Fatalf("read once replicated: %+v %v", got, err)
	}
	if err := e.c.AddMember(ctx, group, u.ID); err != nil {
		t.Fatalf("add once replicated: %v", err)
	}
}

// The whole lifecycle of an account, as the Entra target drives it,
// deletes nothing but a membership, through its /$ref: without /$ref,
// Graph (and the stand-in) would delete the user itself.
func TestLifecycleDeletesOnlyTheMembershipByRef(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	u := e.create(t)
	steps := []func() error{
		func() error { return e.c.AddMember(ctx, group, u.ID) },
		func() error { return e.c.ResetPassword(ctx, u.ID, "Another-Passw0rd-99") },
		func() error { return e.c.RemoveMember(ctx, group, u.ID) },
		func() error { return e.c.SetEnabled(ctx, u.ID, false) },
		func() error { return e.c.RevokeSessions(ctx, u.ID) },
		func() error { _, err := e.c.Members(ctx, group); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
	var deletes []string
	for _, r := range e.d.Requests() {
		if r.Method == http.MethodDelete {
			deletes = append(deletes, r.Path)
		}
	}
	if len(deletes) != 1 || deletes[0] != "/v1.0/groups/"+group+"/members/"+u.ID+"/$ref" {
		t.Fatalf("deletes %v, want only the membership's /$ref", deletes)
	}
	if got := e.user(t); got.Enabled || got.SessionsRevoked != 1 {
		t.Fatalf("the user after revocation: %+v, want kept, disabled, its sessions ended", got)
	}
}
