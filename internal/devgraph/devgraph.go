// Package devgraph is an in-process stand-in for Microsoft Graph and Entra
// ID's token endpoint: the dev directory that one-process mode with demo
// data wires Contoso and Fabrikam to, and the tests' fake of Graph. It
// answers the calls internal/graph makes as Graph documents them: OData
// errors, @odata.nextLink paging, 429 with Retry-After, replication lag
// after a create, and 403 Authorization_RequestDenied. It records every
// request, so a test can show that no user was deleted and that a member
// was only ever removed through its /$ref.
package devgraph

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Directory is the stand-in: tenants with their users and groups.
type Directory struct {
	// PageSize is how many members one page lists (Graph's default is 100).
	PageSize int
	// TokenTTL is how long a token works (an hour, as Entra's).
	TokenTTL time.Duration

	mu       sync.Mutex
	tenants  map[string]*tenant
	tokens   map[string]token
	requests []Request
	writes   *rate.Limiter
	lag      int
	failNext []int
	version  uint64
	changed  chan struct{}
	tokenN   int
}

type tenant struct {
	id, clientID, secret string
	denied               bool
	users                map[string]*user // by object ID
	groups               map[string]*group
}

type user struct {
	id, upn, name   string
	enabled         bool
	forceChange     bool
	passwordResets  int
	sessionsRevoked int
	lagReads        int // reads that still answer 404
}

type group struct {
	id, name string
	members  []string // object IDs, in the order added
}

type token struct {
	tenant  string
	expires time.Time
}

// Request is one request the stand-in answered.
type Request struct {
	Method, Path string // Path without the query
	Status       int
}

// New returns an empty directory.
func New() *Directory {
	return &Directory{PageSize: 100, TokenTTL: time.Hour, tenants: map[string]*tenant{}, tokens: map[string]token{},
		changed: make(chan struct{})}
}

// AddTenant adds a tenant whose app registration is clientID with secret.
func (d *Directory) AddTenant(tenantID, clientID, secret string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tenants[tenantID] = &tenant{id: tenantID, clientID: clientID, secret: secret,
		users: map[string]*user{}, groups: map[string]*group{}}
	d.touch()
}

// AddGroup adds a security group to a tenant.
func (d *Directory) AddGroup(tenantID, groupID, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tenants[tenantID].groups[groupID] = &group{id: groupID, name: name}
	d.touch()
}

// AddUser adds one of the customer's own users and returns its object ID.
func (d *Directory) AddUser(tenantID, upn, name string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := &user{id: newID(), upn: upn, name: name, enabled: true}
	d.tenants[tenantID].users[u.id] = u
	d.touch()
	return u.id
}

// RestoreUser puts back an account known by its object ID (the dev
// directory, rebuilt from the store when the process starts again).
func (d *Directory) RestoreUser(tenantID, id, upn, name string, enabled bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tenants[tenantID].users[id] = &user{id: id, upn: upn, name: name, enabled: enabled}
	d.touch()
}

// AddToGroup makes a user a member of a group, as the customer might.
func (d *Directory) AddToGroup(tenantID, groupID, userID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.tenants[tenantID].groups[groupID]
	if !contains(g.members, userID) {
		g.members = append(g.members, userID)
	}
	d.touch()
}

// RemoveFromGroup takes a user out of a group, as the customer might.
func (d *Directory) RemoveFromGroup(tenantID, groupID, userID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.tenants[tenantID].groups[groupID]
	g.members = without(g.members, userID)
	d.touch()
}

// Deny makes every Graph call of the tenant answer 403
// Authorization_RequestDenied, as a missing permission or consent does.
func (d *Directory) Deny(tenantID string, denied bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tenants[tenantID].denied = denied
}

// WriteRate limits writes to perSecond (0: no limit); beyond it they answer
// 429 TooManyRequests with Retry-After: 1.
func (d *Directory) WriteRate(perSecond float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes = nil
	if perSecond > 0 {
		d.writes = rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond)))
	}
}

// Lag makes the next n reads of each user made from now on answer 404, as
// Graph does while a new object replicates.
func (d *Directory) Lag(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lag = n
}

// FailNext makes the next n Graph calls answer status (e.g. 503).
func (d *Directory) FailNext(n, status int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for range n {
		d.failNext = append(d.failNext, status)
	}
}

// Requests lists the requests answered so far.
func (d *Directory) Requests() []Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Request(nil), d.requests...)
}

// TokenRequests counts the tokens issued.
func (d *Directory) TokenRequests() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tokenN
}

// Changed returns a channel closed at the next change of any tenant, and
// the version it follows: a page waits on it to show the directory live.
func (d *Directory) Changed() (<-chan struct{}, uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed, d.version
}

func (d *Directory) touch() {
	d.version++
	close(d.changed)
	d.changed = make(chan struct{})
}

// Tenant is what a tenant holds, for tests and the dev page.
type Tenant struct {
	ID     string
	Users  []User
	Groups []Group
}

// User is an account, without its password.
type User struct {
	ID, UPN, DisplayName string
	Enabled              bool
	ForceChange          bool // must change the password at the next sign-in
	PasswordResets       int
	SessionsRevoked      int
}

// Group is a group and its members' UPNs.
type Group struct {
	ID, Name string
	Members  []string
}

// Snapshot is the tenant now, sorted.
func (d *Directory) Snapshot(tenantID string) Tenant {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tenants[tenantID]
	out := Tenant{ID: tenantID}
	if t == nil {
		return out
	}
	for _, u := range t.users {
		out.Users = append(out.Users, User{ID: u.id, UPN: u.upn, DisplayName: u.name, Enabled: u.enabled,
			ForceChange: u.forceChange, PasswordResets: u.passwordResets, SessionsRevoked: u.sessionsRevoked})
	}
	sort.Slice(out.Users, func(i, j int) bool { return out.Users[i].UPN < out.Users[j].UPN })
	for _, g := range t.groups {
		og := Group{ID: g.id, Name: g.name}
		for _, id := range g.members {
			if u := t.users[id]; u != nil {
				og.Members = append(og.Members, u.upn)
			}
		}
		sort.Strings(og.Members)
		out.Groups = append(out.Groups, og)
	}
	sort.Slice(out.Groups, func(i, j int) bool { return out.Groups[i].Name < out.Groups[j].Name })
	return out
}

// Tenants lists the tenants' IDs, sorted.
func (d *Directory) Tenants() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for id := range d.tenants {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// ServeHTTP answers the token endpoint (POST /{tenant}/oauth2/v2.0/token)
// and Graph (/v1.0/...).
func (d *Directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	if strings.HasPrefix(r.URL.Path, "/v1.0/") {
		d.graph(rec, r)
	} else {
		d.token(rec, r)
	}
	d.mu.Lock()
	d.requests = append(d.requests, Request{Method: r.Method, Path: r.URL.Path, Status: rec.status})
	d.mu.Unlock()
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// token issues a bearer token for the tenant's app registration, or
// answers as Entra does to a wrong client or secret.
func (d *Directory) token(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method != http.MethodPost || len(parts) != 4 || parts[1] != "oauth2" || parts[3] != "token" {
		http.NotFound(w, r)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tenants[parts[0]]
	if t == nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS90002: Tenant '"+parts[0]+"' not found.")
		return
	}
	if r.PostFormValue("grant_type") != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The grant type is not supported.")
		return
	}
	if r.PostFormValue("client_id") != t.clientID {
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application with identifier '"+
			r.PostFormValue("client_id")+"' was not found in the directory.")
		return
	}
	if r.PostFormValue("client_secret") != t.secret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. "+
			"Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}
	d.tokenN++
	tok := newID()
	d.tokens[tok] = token{tenant: t.id, expires: time.Now().Add(d.TokenTTL)}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "access_token": tok, "expires_in": int(d.TokenTTL.Seconds())})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

// graph answers one Graph call.
func (d *Directory) graph(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	tok, ok := d.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok || time.Now().After(tok.expires) {
		odata(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or has expired.")
		return
	}
	t := d.tenants[tok.tenant]
	if len(d.failNext) > 0 {
		status := d.failNext[0]
		d.failNext = d.failNext[1:]
		odata(w, status, "serviceUnavailable", "The service is temporarily unavailable.")
		return
	}
	if t.denied {
		odata(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	if r.Method != http.MethodGet && d.writes != nil && !d.writes.Allow() {
		w.Header().Set("Retry-After", "1")
		odata(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
		return
	}
	path := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1.0/"), "/")
	switch {
	case path[0] == "users" && len(path) == 1 && r.Method == http.MethodPost:
		d.createUser(w, r, t)
	case path[0] == "users" && len(path) == 2 && r.Method == http.MethodGet:
		if u := d.findUser(w, t, path[1]); u != nil {
			writeJSON(w, http.StatusOK, userJSON(u))
		}
	case path[0] == "users" && len(path) == 2 && r.Method == http.MethodPatch:
		d.patchUser(w, r, t, path[1])
	case path[0] == "users" && len(path) == 2 && r.Method == http.MethodDelete:
		// The client never does this; answered as Graph would, and recorded.
		if u := d.findUser(w, t, path[1]); u != nil {
			d.deleteUser(t, u.id)
			w.WriteHeader(http.StatusNoContent)
		}
	case path[0] == "users" && len(path) == 3 && path[2] == "revokeSignInSessions" && r.Method == http.MethodPost:
		if u := d.findUser(w, t, path[1]); u != nil {
			u.sessionsRevoked++
			d.touch()
			writeJSON(w, http.StatusOK, map[string]any{"value": true})
		}
	case path[0] == "groups" && len(path) == 3 && path[2] == "members" && r.Method == http.MethodGet:
		d.listMembers(w, r, t, path[1])
	case path[0] == "groups" && len(path) == 4 && path[2] == "members" && path[3] == "$ref" && r.Method == http.MethodPost:
		d.addMember(w, r, t, path[1])
	case path[0] == "groups" && len(path) == 5 && path[2] == "members" && path[4] == "$ref" && r.Method == http.MethodDelete:
		d.removeMember(w, t, path[1], path[3])
	case path[0] == "groups" && len(path) == 4 && path[2] == "members" && r.Method == http.MethodDelete:
		// Without /$ref Graph deletes the member object itself: answered
		// as Graph would, so a test sees it.
		if u := d.findUser(w, t, path[3]); u != nil {
			d.deleteUser(t, u.id)
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		odata(w, http.StatusBadRequest, "BadRequest", "Unsupported request "+r.Method+" "+r.URL.Path)
	}
}

func (d *Directory) createUser(w http.ResponseWriter, r *http.Request, t *tenant) {
	var in struct {
		AccountEnabled    bool   `json:"accountEnabled"`
		DisplayName       string `json:"displayName"`
		MailNickname      string `json:"mailNickname"`
		UserPrincipalName string `json:"userPrincipalName"`
		PasswordProfile   struct {
			Password    string `json:"password"`
			ForceChange bool   `json:"forceChangePasswordNextSignIn"`
		} `json:"passwordProfile"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.UserPrincipalName == "" || in.MailNickname == "" ||
		in.DisplayName == "" || in.PasswordProfile.Password == "" {
		odata(w, http.StatusBadRequest, "Request_BadRequest", "A required property is missing or invalid.")
		return
	}
	for _, u := range t.users {
		if strings.EqualFold(u.upn, in.UserPrincipalName) {
			odata(w, http.StatusBadRequest, "Request_BadRequest",
				"Another object with the same value for property userPrincipalName already exists.")
			return
		}
	}
	u := &user{id: newID(), upn: in.UserPrincipalName, name: in.DisplayName, enabled: in.AccountEnabled,
		forceChange: in.PasswordProfile.ForceChange, lagReads: d.lag}
	t.users[u.id] = u
	d.touch()
	writeJSON(w, http.StatusCreated, userJSON(u))
}

func (d *Directory) patchUser(w http.ResponseWriter, r *http.Request, t *tenant, key string) {
	u := d.findUser(w, t, key)
	if u == nil {
		return
	}
	var in struct {
		AccountEnabled  *bool `json:"accountEnabled"`
		PasswordProfile *struct {
			Password    string `json:"password"`
			ForceChange bool   `json:"forceChangePasswordNextSignIn"`
		} `json:"passwordProfile"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || (in.AccountEnabled == nil && in.PasswordProfile == nil) {
		odata(w, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property.")
		return
	}
	if in.AccountEnabled != nil {
		u.enabled = *in.AccountEnabled
	}
	if p := in.PasswordProfile; p != nil {
		if p.Password == "" {
			odata(w, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'passwordProfile'.")
			return
		}
		u.passwordResets++
		u.forceChange = p.ForceChange
	}
	d.touch()
	w.WriteHeader(http.StatusNoContent)
}

// findUser finds a user by object ID or UPN, answering 404 (also while a
// new user still replicates) when it cannot.
func (d *Directory) findUser(w http.ResponseWriter, t *tenant, key string) *user {
	key, _ = url.PathUnescape(key)
	for _, u := range t.users {
		if u.id == key || strings.EqualFold(u.upn, key) {
			if u.lagReads > 0 {
				u.lagReads--
				break
			}
			return u
		}
	}
	odata(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key))
	return nil
}

func (d *Directory) deleteUser(t *tenant, id string) {
	delete(t.users, id)
	for _, g := range t.groups {
		g.members = without(g.members, id)
	}
	d.touch()
}

func (d *Directory) findGroup(w http.ResponseWriter, t *tenant, id string) *group {
	if g := t.groups[id]; g != nil {
		return g
	}
	odata(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
	return nil
}

func (d *Directory) addMember(w http.ResponseWriter, r *http.Request, t *tenant, groupID string) {
	g := d.findGroup(w, t, groupID)
	if g == nil {
		return
	}
	var in struct {
		Ref string `json:"@odata.id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !strings.Contains(in.Ref, "/directoryObjects/") {
		odata(w, http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier.")
		return
	}
	u := d.findUser(w, t, in.Ref[strings.LastIndex(in.Ref, "/")+1:])
	if u == nil {
		return
	}
	if contains(g.members, u.id) {
		odata(w, http.StatusBadRequest, "Request_BadRequest",
			"One or more added object references already exist for the following modified properties: 'members'.")
		return
	}
	g.members = append(g.members, u.id)
	d.touch()
	w.WriteHeader(http.StatusNoContent)
}

func (d *Directory) removeMember(w http.ResponseWriter, t *tenant, groupID, userID string) {
	g := d.findGroup(w, t, groupID)
	if g == nil {
		return
	}
	if !contains(g.members, userID) {
		odata(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+userID+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	g.members = without(g.members, userID)
	d.touch()
	w.WriteHeader(http.StatusNoContent)
}

// listMembers answers one page, with @odata.nextLink to the next.
func (d *Directory) listMembers(w http.ResponseWriter, r *http.Request, t *tenant, groupID string) {
	g := d.findGroup(w, t, groupID)
	if g == nil {
		return
	}
	skip := 0
	if s := r.URL.Query().Get("$skiptoken"); s != "" {
		fmt.Sscanf(s, "%d", &skip)
	}
	size := max(1, d.PageSize)
	var page []map[string]any
	for i := skip; i < len(g.members) && len(page) < size; i++ {
		if u := t.users[g.members[i]]; u != nil {
			page = append(page, map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.id, "userPrincipalName": u.upn})
		}
	}
	out := map[string]any{"value": page}
	if next := skip + size; next < len(g.members) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		q := url.Values{"$select": {"id,userPrincipalName"}, "$skiptoken": {fmt.Sprint(next)}}
		out["@odata.nextLink"] = scheme + "://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

func userJSON(u *user) map[string]any {
	return map[string]any{"id": u.id, "userPrincipalName": u.upn, "displayName": u.name, "accountEnabled": u.enabled}
}

func odata(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": newID()}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func without(ids []string, id string) []string {
	out := ids[:0:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
