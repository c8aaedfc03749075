package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/graph"
)

const (
	tenant = "6f1c0000-0000-0000-0000-000000000001"
	app    = "0a7e0000-0000-0000-0000-000000000002"
	group  = "3b7f0000-0000-0000-0000-000000000003"
	secret = "s3cret-value-that-must-never-show"
)

func setup(t *testing.T) (*devgraph.Directory, *graph.Client) {
	t.Helper()
	d := devgraph.New()
	d.AddTenant(tenant, app, secret)
	d.AddGroup(tenant, group, "AVD users")
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, client(srv.URL, secret)
}

func client(url, s string) *graph.Client {
	return graph.New(graph.Config{LoginURL: url, GraphURL: url, TenantID: tenant, ClientID: app,
		Secret: func() (string, error) { return s, nil }})
}

// The whole lifecycle of an account and its membership, as the Entra
// target drives it, on one token, and nothing but memberships removed.
func TestLifecycleOnOneTokenRemovesOnlyMemberships(t *testing.T) {
	d, c := setup(t)
	ctx := context.Background()
	if _, err := c.UserByUPN(ctx, "p.n@contoso.example"); !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("lookup of a missing user: %v, want ErrNotFound", err)
	}
	u, err := c.CreateUser(ctx, graph.NewUser{UPN: "p.n@contoso.example", DisplayName: "P", MailNickname: "p-n", Password: "Temp-Passw0rd-1234"})
	if err != nil || u.ID == "" || !u.AccountEnabled {
		t.Fatalf("create: %+v %v", u, err)
	}
	if _, err := c.CreateUser(ctx, graph.NewUser{UPN: "P.N@contoso.example", DisplayName: "P", MailNickname: "p-n", Password: "x"}); !errors.Is(err, graph.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	for range 2 {
		if err := c.AddMember(ctx, group, u.ID); err != nil {
			t.Fatalf("add member (again counts as done): %v", err)
		}
	}
	if err := c.SetEnabled(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := c.ResetPassword(ctx, u.ID, "Another-Passw0rd-99"); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	got, err := c.UserByUPN(ctx, "p.n@contoso.example")
	if err != nil || got.ID != u.ID || got.AccountEnabled {
		t.Fatalf("after disable: %+v %v", got, err)
	}
	snap := d.Snapshot(tenant).Users[0]
	if snap.PasswordResets != 1 || !snap.ForceChange || snap.SessionsRevoked != 1 {
		t.Fatalf("directory holds %+v", snap)
	}
	for range 2 {
		if err := c.RemoveMember(ctx, group, u.ID); err != nil {
			t.Fatalf("remove member (again counts as done): %v", err)
		}
	}
	if ms, err := c.Members(ctx, group); err != nil || len(ms) != 0 {
		t.Fatalf("members after removal: %v %v", ms, err)
	}
	if n := d.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests, want one token reused", n)
	}
	deletes := 0
	for _, r := range d.Requests() {
		if r.Method == http.MethodDelete {
			deletes++
			if !strings.HasSuffix(r.Path, "/members/"+u.ID+"/$ref") {
				t.Fatalf("DELETE %s: only a membership's /$ref may be deleted", r.Path)
			}
		}
	}
	if deletes != 2 || len(d.Snapshot(tenant).Users) != 1 {
		t.Fatalf("%d deletes, %d users: want two membership removals and the user kept", deletes, len(d.Snapshot(tenant).Users))
	}
}

// Without /$ref, Graph deletes the member object itself: the fake does
// too, which is why the path is pinned above.
func TestDeletingAMemberWithoutRefWouldDeleteTheUser(t *testing.T) {
	d := devgraph.New()
	d.AddTenant(tenant, app, secret)
	d.AddGroup(tenant, group, "AVD users")
	id := d.AddUser(tenant, "own@contoso.example", "Own")
	d.AddToGroup(tenant, group, id)
	srv := httptest.NewServer(d)
	defer srv.Close()
	tok := token(t, srv.URL)
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/v1.0/groups/"+group+"/members/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(d.Snapshot(tenant).Users) != 0 {
		t.Fatal("the fake kept the user: it would not catch a DELETE without /$ref")
	}
}

func token(t *testing.T, url string) string {
	t.Helper()
	res, err := http.PostForm(url+"/"+tenant+"/oauth2/v2.0/token", map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {app}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	return body.AccessToken
}

func TestMembersFollowsEveryPage(t *testing.T) {
	d, c := setup(t)
	d.PageSize = 2
	for i := range 5 {
		d.AddToGroup(tenant, group, d.AddUser(tenant, fmt.Sprintf("own%d@contoso.example", i), "Own"))
	}
	ms, err := c.Members(context.Background(), group)
	if err != nil || len(ms) != 5 || ms[4].UPN == "" {
		t.Fatalf("members %+v %v, want all 5 over 3 pages", ms, err)
	}
	pages := 0
	for _, r := range d.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/members") {
			pages++
		}
	}
	if pages != 3 {
		t.Fatalf("%d pages read, want 3", pages)
	}
}

func TestDeniedNamesThePermission(t *testing.T) {
	d, c := setup(t)
	ctx := context.Background()
	d.Deny(tenant, true)
	_, err := c.UserByUPN(ctx, "p.n@contoso.example")
	if !graph.Denied(err) || graph.Permission(err) != "User.ReadWrite.All" || !strings.Contains(err.Error(), "Authorization_RequestDenied") {
		t.Fatalf("users: %v (%s)", err, graph.Permission(err))
	}
	err = c.AddMember(ctx, group, "x")
	if !graph.Denied(err) || graph.Permission(err) != "GroupMember.ReadWrite.All" {
		t.Fatalf("members: %v (%s)", err, graph.Permission(err))
	}
	if err := c.RevokeSessions(ctx, "x"); graph.Permission(err) != "User.RevokeSessions.All" {
		t.Fatalf("sessions: %v", err)
	}
	if retry, _ := graph.Retryable(err); retry {
		t.Fatal("a refusal is retryable")
	}
}

func TestWrongSecretIsDeniedWithoutTheSecret(t *testing.T) {
	d, _ := setup(t)
	srv := httptest.NewServer(d)
	defer srv.Close()
	wrong := "wrong-secret-value-42"
	_, err := client(srv.URL, wrong).UserByUPN(context.Background(), "p.n@contoso.example")
	if !graph.Denied(err) || !strings.Contains(err.Error(), "AADSTS7000215") || !strings.Contains(err.Error(), app) {
		t.Fatalf("wrong secret: %v, want denied with Entra's code and the client", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), secret) {
		t.Fatalf("the error shows a secret: %v", err)
	}
}

func TestThrottlingAndOutagesAreRetryable(t *testing.T) {
	d, c := setup(t)
	ctx := context.Background()
	d.WriteRate(1)
	var throttled error
	for i := range 5 {
		if err := c.SetEnabled(ctx, "missing", i%2 == 0); err != nil && !errors.Is(err, graph.ErrNotFound) {
			throttled = err
			break
		}
	}
	retry, after := graph.Retryable(throttled)
	if !retry || after != time.Second {
		t.Fatalf("throttled: %v, retry %v after %v; want retryable after Retry-After's 1s", throttled, retry, after)
	}
	d.WriteRate(0)
	d.FailNext(1, http.StatusServiceUnavailable)
	_, err := c.UserByUPN(ctx, "p.n@contoso.example")
	if retry, _ := graph.Retryable(err); !retry || graph.Denied(err) {
		t.Fatalf("503: %v, want retryable", err)
	}
}

func TestANewAccountMayNotBeVisibleAtOnce(t *testing.T) {
	d, c := setup(t)
	ctx := context.Background()
	d.Lag(2)
	u, err := c.CreateUser(ctx, graph.NewUser{UPN: "p.n@contoso.example", DisplayName: "P", MailNickname: "p-n", Password: "Temp-Passw0rd-1234"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddMember(ctx, group, u.ID); !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("add right after create: %v, want replication lag's 404", err)
	}
	if _, err := c.UserByUPN(ctx, "p.n@contoso.example"); !errors.Is(err, graph.ErrNotFound) {
		t.Fatalf("read right after create: %v, want 404", err)
	}
	if err := c.AddMember(ctx, group, u.ID); err != nil {
		t.Fatalf("add once replicated: %v", err)
	}
}
