package devgraph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/devgraph"
)

const (
	tenant = "6f1c0000-0000-4000-8000-000000000001"
	app    = "0a7e0000-0000-4000-8000-000000000002"
	group  = "3b7f0000-0000-4000-8000-000000000003"
	secret = "s3cret-value-that-must-never-show"
	scope  = "https://graph.microsoft.com/.default"
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// fake is the directory on a loopback server, with a token for tenant.
type fake struct {
	*devgraph.Directory
	url, token string
}

func newFake(t *testing.T, setup func(*devgraph.Directory)) *fake {
	t.Helper()
	d := devgraph.New()
	d.AddTenant(tenant, app, secret)
	d.AddGroup(tenant, group, "AVD users")
	if setup != nil {
		setup(d)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	f := &fake{Directory: d, url: srv.URL}
	status, body, _ := f.tokenFor(t, tenant, url.Values{"client_id": {app}, "client_secret": {secret}})
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	f.token = body["access_token"].(string)
	return f
}

// tokenFor posts the client-credentials form, with form's values over the
// right ones.
func (f *fake) tokenFor(t *testing.T, tenantID string, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	v := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	for k, vs := range form {
		v[k] = vs
	}
	res, err := http.PostForm(f.url+"/"+tenantID+"/oauth2/v2.0/token", v)
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := decode(res)
	if err != nil {
		t.Fatal(err)
	}
	return status, body, res.Header
}

// call makes a Graph call with the fake's token.
func (f *fake) call(t *testing.T, method, path string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	return f.callWith(t, f.token, method, f.url+"/v1.0"+path, body)
}

func (f *fake) callWith(t *testing.T, token, method, u string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	status, out, hdr, err := f.do(token, method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, out, hdr
}

// do makes a request and decodes its JSON answer, if any.
func (f *fake) do(token, method, u string, body any) (int, map[string]any, http.Header, error) {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, in)
	if err != nil {
		return 0, nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	status, out, err := decode(res)
	return status, out, res.Header, err
}

func decode(res *http.Response) (int, map[string]any, error) {
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			return 0, nil, fmt.Errorf("%s: %w", b, err)
		}
	}
	return res.StatusCode, out, nil
}

// odataError is the code and message of Graph's error answer.
func odataError(body map[string]any) (code, msg string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

func newUser(upn string) map[string]any {
	return map[string]any{"accountEnabled": true, "displayName": upn, "mailNickname": "n", "userPrincipalName": upn,
		"passwordProfile": map[string]any{"password": "Temp-Passw0rd-1234", "forceChangePasswordNextSignIn": true}}
}

func TestTokenEndpointAnswersAsEntra(t *testing.T) {
	f := newFake(t, nil)
	for _, c := range []struct {
		name, tenant string
		form         url.Values
		status       int
		code, desc   string
	}{
		{"unknown tenant", "00000000-0000-4000-8000-000000000000", nil, 400, "invalid_request", "AADSTS90002"},
		{"wrong grant", tenant, url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type", "AADSTS70003"},
		{"wrong scope", tenant, url.Values{"client_id": {app}, "client_secret": {secret}, "scope": {"User.Read"}}, 400, "invalid_scope", "AADSTS1002012"},
		{"unknown client", tenant, url.Values{"client_id": {"other"}, "client_secret": {secret}}, 400, "unauthorized_client", "AADSTS700016"},
		{"wrong secret", tenant, url.Values{"client_id": {app}, "client_secret": {"wrong"}}, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided."},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := f.tokenFor(t, c.tenant, c.form)
			desc, _ := body["error_description"].(string)
			if status != c.status || body["error"] != c.code || !strings.HasPrefix(desc, c.desc) || !strings.Contains(desc, "\r\nTrace ID: ") {
				t.Fatalf("%d %v, want %d %s %q…", status, body, c.status, c.code, c.desc)
			}
		})
	}
	status, body, _ := f.tokenFor(t, tenant, url.Values{"client_id": {app}, "client_secret": {secret}})
	if status != http.StatusOK || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 || body["access_token"] == "" {
		t.Fatalf("token: %d %v", status, body)
	}
	if n := f.TokenRequests(); n != 2 {
		t.Fatalf("%d tokens issued, want 2 (the setup's and this)", n)
	}
}

func TestTokensWorkOnlyInTheirTenant(t *testing.T) {
	const other = "6f1c0000-0000-4000-8000-0000000000ff"
	var theirs string
	f := newFake(t, func(d *devgraph.Directory) {
		d.AddTenant(other, app, "another-secret")
		theirs = d.AddUser(other, "own@fabrikam.example", "Own")
	})
	if status, body, _ := f.call(t, http.MethodGet, "/users/"+theirs, nil); status != http.StatusNotFound {
		t.Fatalf("another tenant's user with this tenant's token: %d %v, want 404", status, body)
	}
	for _, token := range []string{"", "made-up"} {
		status, body, _ := f.callWith(t, token, http.MethodGet, f.url+"/v1.0/users/"+theirs, nil)
		if code, _ := odataError(body); status != http.StatusUnauthorized || code != "InvalidAuthenticationToken" {
			t.Fatalf("token %q: %d %v, want 401 InvalidAuthenticationToken", token, status, body)
		}
	}
}

func TestAnExpiredTokenIsRefused(t *testing.T) {
	f := newFake(t, func(d *devgraph.Directory) { d.TokenTTL = time.Nanosecond })
	status, body, _ := f.call(t, http.MethodGet, "/users/x", nil)
	if code, msg := odataError(body); status != http.StatusUnauthorized || code != "InvalidAuthenticationToken" || !strings.Contains(msg, "expired") {
		t.Fatalf("an expired token: %d %v, want 401 InvalidAuthenticationToken", status, body)
	}
}

func TestUsersAreMadeFoundAndPatchedAsGraphDoes(t *testing.T) {
	f := newFake(t, nil)
	status, u, _ := f.call(t, http.MethodPost, "/users", newUser("p.n@contoso.example"))
	id, _ := u["id"].(string)
	if status != http.StatusCreated || !guid.MatchString(id) || u["accountEnabled"] != true {
		t.Fatalf("create: %d %v, want 201 with a GUID", status, u)
	}
	for _, key := range []string{id, "P.N@contoso.example"} {
		if status, got, _ := f.call(t, http.MethodGet, "/users/"+key, nil); status != http.StatusOK || got["id"] != id {
			t.Fatalf("GET /users/%s: %d %v", key, status, got)
		}
	}
	status, body, _ := f.call(t, http.MethodPost, "/users", newUser("P.N@contoso.example"))
	code, msg := odataError(body)
	e, _ := body["error"].(map[string]any)
	details, _ := e["details"].([]any)
	if status != http.StatusBadRequest || code != "Request_BadRequest" ||
		msg != "Another object with the same value for property userPrincipalName already exists." || len(details) != 1 {
		t.Fatalf("a taken UPN: %d %v", status, body)
	}
	incomplete := newUser("q@contoso.example")
	delete(incomplete, "mailNickname")
	if status, body, _ := f.call(t, http.MethodPost, "/users", incomplete); status != http.StatusBadRequest {
		t.Fatalf("no mailNickname: %d %v, want 400", status, body)
	}

	for _, patch := range []map[string]any{
		{"accountEnabled": false},
		{"passwordProfile": map[string]any{"password": "Another-Passw0rd-99", "forceChangePasswordNextSignIn": true}},
	} {
		if status, body, _ := f.call(t, http.MethodPatch, "/users/"+id, patch); status != http.StatusNoContent {
			t.Fatalf("PATCH %v: %d %v", patch, status, body)
		}
	}
	if status, _, _ := f.call(t, http.MethodPost, "/users/"+id+"/revokeSignInSessions", nil); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	snap := f.Snapshot(tenant)
	want := devgraph.User{ID: id, UPN: "p.n@contoso.example", DisplayName: "p.n@contoso.example", Enabled: false,
		ForceChange: true, PasswordsSet: 2, SessionsRevoked: 1}
	if len(snap.Users) != 1 || snap.Users[0] != want {
		t.Fatalf("snapshot %+v, want %+v", snap.Users, want)
	}
	if s := fmt.Sprintf("%#v", snap); strings.Contains(s, "Passw0rd") {
		t.Fatalf("the snapshot shows a password: %s", s)
	}
}

func TestMembershipsAreAddedAndRemovedByRef(t *testing.T) {
	var id string
	f := newFake(t, func(d *devgraph.Directory) { id = d.AddUser(tenant, "own@contoso.example", "Own") })
	ref := map[string]string{"@odata.id": f.url + "/v1.0/directoryObjects/" + id}
	if status, body, _ := f.call(t, http.MethodPost, "/groups/"+group+"/members/$ref", ref); status != http.StatusNoContent {
		t.Fatalf("add: %d %v", status, body)
	}
	status, body, _ := f.call(t, http.MethodPost, "/groups/"+group+"/members/$ref", ref)
	if _, msg := odataError(body); status != http.StatusBadRequest ||
		msg != "One or more added object references already exist for the following modified properties: 'members'." {
		t.Fatalf("add again: %d %v", status, body)
	}
	for name, c := range map[string]struct {
		path string
		ref  any
	}{
		"unknown group": {"/groups/nope/members/$ref", ref},
		"unknown user":  {"/groups/" + group + "/members/$ref", map[string]string{"@odata.id": f.url + "/v1.0/directoryObjects/nope"}},
	} {
		status, body, _ := f.call(t, http.MethodPost, c.path, c.ref)
		if code, _ := odataError(body); status != http.StatusNotFound || code != "Request_ResourceNotFound" {
			t.Fatalf("%s: %d %v, want 404 Request_ResourceNotFound", name, status, body)
		}
	}
	if got := f.Snapshot(tenant).Groups[0].Members; len(got) != 1 || got[0] != "own@contoso.example" {
		t.Fatalf("members %v", got)
	}
	for _, want := range []int{http.StatusNoContent, http.StatusNotFound} {
		if status, body, _ := f.call(t, http.MethodDelete, "/groups/"+group+"/members/"+id+"/$ref", nil); status != want {
			t.Fatalf("remove: %d %v, want %d", status, body, want)
		}
	}
	if snap := f.Snapshot(tenant); len(snap.Groups[0].Members) != 0 || len(snap.Users) != 1 {
		t.Fatalf("after removal %+v, want no member and the user kept", snap)
	}
}

// Without /$ref, Graph deletes the member object itself: the fake does too,
// so a client that forgot /$ref is caught.
func TestDeletingAMemberWithoutRefDeletesTheUser(t *testing.T) {
	var id string
	f := newFake(t, func(d *devgraph.Directory) {
		id = d.AddUser(tenant, "own@contoso.example", "Own")
		d.AddToGroup(tenant, group, id)
	})
	if status, _, _ := f.call(t, http.MethodDelete, "/groups/"+group+"/members/"+id, nil); status != http.StatusNoContent {
		t.Fatalf("DELETE without /$ref: %d, want 204", status)
	}
	if snap := f.Snapshot(tenant); len(snap.Users) != 0 || len(snap.Groups[0].Members) != 0 {
		t.Fatalf("the fake kept %+v: it would not catch a DELETE without /$ref", snap)
	}
	reqs := f.Requests()
	if last := reqs[len(reqs)-1]; last != (devgraph.Request{Method: http.MethodDelete, Path: "/v1.0/groups/" + group + "/members/" + id, Status: 204}) {
		t.Fatalf("recorded %+v", last)
	}
}

func TestDeletingAUserIsAnsweredAndRecorded(t *testing.T) {
	var id string
	f := newFake(t, func(d *devgraph.Directory) { id = d.AddUser(tenant, "own@contoso.example", "Own") })
	if status, _, _ := f.call(t, http.MethodDelete, "/users/"+id, nil); status != http.StatusNoContent {
		t.Fatalf("DELETE /users: %d, want 204", status)
	}
	reqs := f.Requests()
	if len(f.Snapshot(tenant).Users) != 0 || reqs[len(reqs)-1].Path != "/v1.0/users/"+id {
		t.Fatalf("user kept or request not recorded: %+v", reqs)
	}
}

// A member removed between two pages moves no one across the boundary:
// the reader still sees every member that stayed.
func TestPagesFollowNextLinkAndSkipNoOne(t *testing.T) {
	var ids []string
	f := newFake(t, func(d *devgraph.Directory) {
		d.PageSize = 2
		for i := range 5 {
			id := d.AddUser(tenant, fmt.Sprintf("own%d@contoso.example", i), "Own")
			d.AddToGroup(tenant, group, id)
			ids = append(ids, id)
		}
	})
	var seen []string
	next := f.url + "/v1.0/groups/" + group + "/members?$select=id,userPrincipalName"
	for pages := 1; next != ""; pages++ {
		status, body, _ := f.callWith(t, f.token, http.MethodGet, next, nil)
		if status != http.StatusOK || pages > 3 {
			t.Fatalf("page %d: %d %v", pages, status, body)
		}
		for _, m := range body["value"].([]any) {
			seen = append(seen, m.(map[string]any)["id"].(string))
		}
		next, _ = body["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(next, f.url+"/v1.0/groups/"+group+"/members?") {
			t.Fatalf("nextLink %q is not absolute on the request's host", next)
		}
		if pages == 1 {
			f.RemoveFromGroup(tenant, group, ids[0])
		}
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("read %v, want %v", seen, ids)
	}
}

func TestFaultKnobs(t *testing.T) {
	f := newFake(t, nil)
	f.FailNext(2, http.StatusServiceUnavailable)
	for range 2 {
		if status, body, _ := f.call(t, http.MethodGet, "/groups/"+group+"/members", nil); status != http.StatusServiceUnavailable || body["error"] == nil {
			t.Fatalf("failing: %d %v, want 503 with an OData error", status, body)
		}
	}
	if status, _, _ := f.call(t, http.MethodGet, "/groups/"+group+"/members", nil); status != http.StatusOK {
		t.Fatalf("after the failures: %d", status)
	}

	f.Deny(tenant, true)
	status, body, _ := f.call(t, http.MethodGet, "/groups/"+group+"/members", nil)
	if code, msg := odataError(body); status != http.StatusForbidden || code != "Authorization_RequestDenied" ||
		msg != "Insufficient privileges to complete the operation." {
		t.Fatalf("denied: %d %v", status, body)
	}
	f.Deny(tenant, false)

	f.WriteRate(1)
	if status, _, _ := f.call(t, http.MethodPost, "/users", newUser("a@contoso.example")); status != http.StatusCreated {
		t.Fatalf("first write: %d", status)
	}
	status, body, hdr := f.call(t, http.MethodPost, "/users", newUser("b@contoso.example"))
	if code, _ := odataError(body); status != http.StatusTooManyRequests || code != "TooManyRequests" || hdr.Get("Retry-After") != "1" {
		t.Fatalf("second write within the second: %d %v %v, want 429 with Retry-After: 1", status, body, hdr)
	}
	if status, _, _ := f.call(t, http.MethodGet, "/users/a@contoso.example", nil); status != http.StatusOK {
		t.Fatalf("a read is not limited: %d", status)
	}
}

func TestLagHidesANewUserFromItsFirstReads(t *testing.T) {
	f := newFake(t, nil)
	f.Lag(2)
	_, u, _ := f.call(t, http.MethodPost, "/users", newUser("p.n@contoso.example"))
	id := u["id"].(string)
	ref := map[string]string{"@odata.id": f.url + "/v1.0/directoryObjects/" + id}
	if status, _, _ := f.call(t, http.MethodGet, "/users/p.n@contoso.example", nil); status != http.StatusNotFound {
		t.Fatalf("first read: %d, want 404", status)
	}
	if status, _, _ := f.call(t, http.MethodPost, "/groups/"+group+"/members/$ref", ref); status != http.StatusNotFound {
		t.Fatalf("second read (adding it): %d, want 404", status)
	}
	if status, _, _ := f.call(t, http.MethodPost, "/groups/"+group+"/members/$ref", ref); status != http.StatusNoContent {
		t.Fatalf("once replicated: %d, want 204", status)
	}
}

func TestSnapshotIsSorted(t *testing.T) {
	f := newFake(t, func(d *devgraph.Directory) {
		d.AddGroup(tenant, "g-2", "B group")
		d.AddGroup(tenant, "g-1", "A group")
		for _, upn := range []string{"c@x.example", "a@x.example", "b@x.example"} {
			d.AddToGroup(tenant, "g-1", d.AddUser(tenant, upn, upn))
		}
	})
	snap := f.Snapshot(tenant)
	var users, groups []string
	for _, u := range snap.Users {
		users = append(users, u.UPN)
	}
	for _, g := range snap.Groups {
		groups = append(groups, g.Name)
	}
	if got := fmt.Sprint(users, groups, snap.Groups[0].Members); got != "[a@x.example b@x.example c@x.example] [A group AVD users B group] [a@x.example b@x.example c@x.example]" {
		t.Fatalf("snapshot %s", got)
	}
	if empty := f.Snapshot("nope"); empty.Users != nil || empty.Groups != nil {
		t.Fatalf("an unknown tenant: %+v", empty)
	}
}

func TestChangedWakesAPageOnAChangeOnly(t *testing.T) {
	f := newFake(t, nil)
	ch, v := f.Changed()
	f.Deny(tenant, true) // not a change to what the page shows
	f.call(t, http.MethodGet, "/users/nobody@contoso.example", nil)
	select {
	case <-ch:
		t.Fatal("woken without a change")
	default:
	}
	f.Deny(tenant, false)
	f.call(t, http.MethodPost, "/users", newUser("p.n@contoso.example"))
	select {
	case <-ch:
	default:
		t.Fatal("not woken by a new user")
	}
	if _, now := f.Changed(); now != v+1 {
		t.Fatalf("version %d, want %d", now, v+1)
	}
}

// Many clients at once: each change lands once (run with -race).
func TestConcurrentClients(t *testing.T) {
	f := newFake(t, nil)
	// admit makes user i, adds it to the group and ends its sessions.
	admit := func(i int) error {
		_, u, _, err := f.do(f.token, http.MethodPost, f.url+"/v1.0/users", newUser(fmt.Sprintf("u%d@contoso.example", i)))
		if err != nil {
			return err
		}
		id, _ := u["id"].(string)
		ref := map[string]string{"@odata.id": f.url + "/v1.0/directoryObjects/" + id}
		if _, _, _, err := f.do(f.token, http.MethodPost, f.url+"/v1.0/groups/"+group+"/members/$ref", ref); err != nil {
			return err
		}
		_, _, _, err = f.do(f.token, http.MethodPost, f.url+"/v1.0/users/"+id+"/revokeSignInSessions", nil)
		return err
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := admit(i); err != nil {
				t.Error(err)
			}
			f.Snapshot(tenant)
		})
	}
	wg.Wait()
	snap := f.Snapshot(tenant)
	if len(snap.Users) != n || len(snap.Groups[0].Members) != n {
		t.Fatalf("%d users, %d members, want %d each", len(snap.Users), len(snap.Groups[0].Members), n)
	}
	for _, u := range snap.Users {
		if u.SessionsRevoked != 1 {
			t.Fatalf("%s: %d revocations", u.UPN, u.SessionsRevoked)
		}
	}
	if got := len(f.Requests()); got != 1+3*n {
		t.Fatalf("%d requests recorded, want %d", got, 1+3*n)
	}
}

// BenchmarkRevocations: 1,000 members of one group each revoked as the
// Entra target does it (membership removed by /$ref, account disabled,
// sessions ended), the group then read back, straight through ServeHTTP.
func BenchmarkRevocations(b *testing.B) {
	const n = 1000
	for b.Loop() {
		b.StopTimer()
		d := devgraph.New()
		d.AddTenant(tenant, app, secret)
		d.AddGroup(tenant, group, "AVD users")
		ids := make([]string, n)
		for i := range ids {
			ids[i] = d.AddUser(tenant, fmt.Sprintf("u%d@contoso.example", i), "U")
			d.AddToGroup(tenant, group, ids[i])
		}
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+tenant+"/oauth2/v2.0/token", strings.NewReader(url.Values{
			"grant_type": {"client_credentials"}, "client_id": {app}, "client_secret": {secret}, "scope": {scope}}.Encode())))
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(rec.Body).Decode(&tok)
		serve := func(method, path, body string) int {
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			rec := httptest.NewRecorder()
			d.ServeHTTP(rec, req)
			return rec.Code
		}
		b.StartTimer()
		for _, id := range ids {
			if serve(http.MethodDelete, "/v1.0/groups/"+group+"/members/"+id+"/$ref", "") != http.StatusNoContent ||
				serve(http.MethodPatch, "/v1.0/users/"+id, `{"accountEnabled":false}`) != http.StatusNoContent ||
				serve(http.MethodPost, "/v1.0/users/"+id+"/revokeSignInSessions", "") != http.StatusOK ||
				serve(http.MethodGet, "/v1.0/groups/"+group+"/members?$select=id,userPrincipalName", "") != http.StatusOK {
				b.Fatalf("revoking %s failed", id)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/revocation")
}
