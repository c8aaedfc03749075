package devgraph

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// scope is Graph's scope; a client-credentials token is given for it or
// for ARMScope, and works only for the one it was given for.
const scope = "https://graph.microsoft.com/.default"

// ARMScope is Azure Resource Manager's scope, for the AVD stand-in
// (internal/devarm), which asks ARMToken whether a token is one.
const ARMScope = "https://management.azure.com/.default"

// ARMToken reports whether access is a token this directory issued for
// ARM, unexpired.
func (d *Directory) ARMToken(access string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	tok, ok := d.tokens[access]
	return ok && tok.scope == ARMScope && time.Now().Before(tok.expires)
}

// maxBody bounds a request's body; the calls served send a few hundred
// bytes.
const maxBody = 1 << 20

// reply is an answer worked out under the lock and written after it, so
// that no client's reading or writing holds up another's.
type reply struct {
	status     int
	body       any    // sent as JSON; nil for none
	retryAfter string // the Retry-After header, if any
	lost       bool   // done, but the connection closes before the answer
}

// ServeHTTP answers the token endpoint (POST /{tenant}/oauth2/v2.0/token)
// and Graph (/v1.0/...), and records the request.
func (d *Directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	d.mu.Lock()
	var rep reply
	switch {
	case err != nil:
		rep = odata(http.StatusBadRequest, "Request_BadRequest", "The request body could not be read.")
	case strings.HasPrefix(r.URL.Path, "/v1.0/"):
		rep = d.graph(r, body)
	default:
		rep = d.token(r, body)
	}
	d.requests = append(d.requests, Request{Method: r.Method, Path: r.URL.Path, Status: rep.status, Lost: rep.lost})
	d.mu.Unlock()
	if rep.lost {
		panic(http.ErrAbortHandler) // the server closes the connection without an answer
	}
	rep.write(w)
}

func (rep reply) write(w http.ResponseWriter) {
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	if rep.body == nil {
		w.WriteHeader(rep.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(rep.body)
}

// token issues a bearer token for the tenant's app registration, bound to
// the tenant, or refuses as Entra does.
func (d *Directory) token(r *http.Request, body []byte) reply {
	tenantID, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	if r.Method != http.MethodPost || !ok || strings.Contains(tenantID, "/") {
		return reply{status: http.StatusNotFound}
	}
	form, _ := url.ParseQuery(string(body))
	t := d.tenants[tenantID]
	switch {
	case t == nil:
		return oauthError(http.StatusBadRequest, "invalid_request", "AADSTS90002: Tenant '"+tenantID+"' not found.")
	case form.Get("grant_type") != "client_credentials":
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case form.Get("scope") != scope && form.Get("scope") != ARMScope:
		return oauthError(http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope "+form.Get("scope")+
			" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
	case form.Get("client_id") != t.clientID:
		return oauthError(http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application with identifier '"+
			form.Get("client_id")+"' was not found in the directory '"+tenantID+"'.")
	case form.Get("client_secret") != t.secret:
		return oauthError(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. "+
			"Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+
			t.clientID+"'.")
	}
	now := time.Now()
	maps.DeleteFunc(d.tokens, func(_ string, tok token) bool { return now.After(tok.expires) })
	d.tokenN++
	access := rand.Text()
	d.tokens[access] = token{tenant: tenantID, expires: now.Add(d.TokenTTL), scope: form.Get("scope")}
	ttl := max(1, int(d.TokenTTL/time.Second)) // 0 would mean "does not expire" to a client
	return reply{status: http.StatusOK, body: map[string]any{
		"token_type": "Bearer", "access_token": access, "expires_in": ttl, "ext_expires_in": ttl}}
}

// oauthError is Entra's token error, whose description goes on with the
// trace and correlation IDs.
func oauthError(status int, code, desc string) reply {
	trace, corr, at := newID(), newID(), time.Now().UTC().Format("2006-01-02 15:04:05Z")
	return reply{status: status, body: map[string]any{
		"error":             code,
		"error_description": desc + "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + corr + "\r\nTimestamp: " + at,
		"trace_id":          trace, "correlation_id": corr, "timestamp": at,
	}}
}

// graph answers one Graph call: the token first, then the faults set,
// then the call.
func (d *Directory) graph(r *http.Request, body []byte) reply {
	access := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok, ok := d.tokens[access]
	if !ok || tok.scope != scope {
		return odata(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
	}
	if time.Now().After(tok.expires) {
		delete(d.tokens, access)
		return odata(http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	}
	if len(d.faults) > 0 {
		f := &d.faults[0]
		status := f.status
		if f.n--; f.n == 0 {
			d.faults = d.faults[1:]
		}
		code := "generalException"
		if status == http.StatusServiceUnavailable {
			code = "serviceNotAvailable"
		}
		return odata(status, code, http.StatusText(status))
	}
	t := d.tenants[tok.tenant]
	if t.denied {
		return odata(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	write := r.Method != http.MethodGet
	if write && d.writeRate > 0 {
		if t.writes == nil {
			t.writes = rate.NewLimiter(rate.Limit(d.writeRate), max(1, int(d.writeRate)))
		}
		if !t.writes.Allow() {
			rep := odata(http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
			rep.retryAfter = "1"
			return rep
		}
	}
	rep := d.call(r, t, body)
	if write && d.lose > 0 && rep.status < 300 {
		d.lose--
		rep.lost = true
	}
	return rep
}

// call is the Graph call itself.
func (d *Directory) call(r *http.Request, t *tenant, body []byte) reply {
	p := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1.0/"), "/")
	switch m := r.Method; {
	case m == http.MethodPost && match(p, "users"):
		return d.createUser(t, body)
	case m == http.MethodGet && match(p, "users", "*"):
		return getUser(t, p[1])
	case m == http.MethodPatch && match(p, "users", "*"):
		return d.patchUser(t, p[1], body)
	case m == http.MethodDelete && match(p, "users", "*"):
		return d.deleteUser(t, p[1])
	case m == http.MethodPost && match(p, "users", "*", "revokeSignInSessions"):
		return d.revokeSessions(r, t, p[1])
	case m == http.MethodGet && match(p, "groups", "*", "members"):
		return d.listMembers(r, t, p[1])
	case m == http.MethodPost && match(p, "groups", "*", "members", "$ref"):
		return d.addMember(t, p[1], body)
	case m == http.MethodDelete && match(p, "groups", "*", "members", "*", "$ref"):
		return d.removeMember(t, p[1], p[3])
	case m == http.MethodDelete && match(p, "groups", "*", "members", "*"):
		return d.deleteMemberObject(t, p[1], p[3])
	}
	return odata(http.StatusBadRequest, "BadRequest", "Unsupported request: "+r.Method+" "+r.URL.Path)
}

// match reports whether the path's segments are pattern's, "*" matching
// any one.
func match(segments []string, pattern ...string) bool {
	if len(segments) != len(pattern) {
		return false
	}
	for i, s := range pattern {
		if segments[i] == "" || (s != "*" && s != segments[i]) {
			return false
		}
	}
	return true
}

type passwordProfile struct {
	Password    string `json:"password"`
	ForceChange bool   `json:"forceChangePasswordNextSignIn"`
}

func (d *Directory) createUser(t *tenant, body []byte) reply {
	var in struct {
		AccountEnabled    *bool            `json:"accountEnabled"`
		DisplayName       string           `json:"displayName"`
		MailNickname      string           `json:"mailNickname"`
		UserPrincipalName string           `json:"userPrincipalName"`
		PasswordProfile   *passwordProfile `json:"passwordProfile"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return odata(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
	}
	for _, p := range []struct {
		name    string
		missing bool
	}{
		{"accountEnabled", in.AccountEnabled == nil},
		{"displayName", in.DisplayName == ""},
		{"mailNickname", in.MailNickname == ""},
		{"userPrincipalName", in.UserPrincipalName == ""},
		{"passwordProfile", in.PasswordProfile == nil || in.PasswordProfile.Password == ""},
	} {
		if p.missing {
			return odata(http.StatusBadRequest, "Request_BadRequest", "A value is required for property '"+p.name+"' of resource 'User'.")
		}
	}
	if t.upns[strings.ToLower(in.UserPrincipalName)] != nil {
		const msg = "Another object with the same value for property userPrincipalName already exists."
		return odata(http.StatusBadRequest, "Request_BadRequest", msg,
			map[string]string{"code": "ObjectConflict", "message": msg, "target": "userPrincipalName"})
	}
	u := &user{id: newID(), upn: in.UserPrincipalName, name: in.DisplayName, enabled: *in.AccountEnabled,
		forceChange: in.PasswordProfile.ForceChange, passwordsSet: 1, lag: d.lag}
	t.add(u)
	d.touch()
	return reply{status: http.StatusCreated, body: asJSON(u)}
}

func getUser(t *tenant, key string) reply {
	u := t.user(key)
	if u == nil || u.replicating() {
		return notFound(key)
	}
	return reply{status: http.StatusOK, body: asJSON(u)}
}

// patchUser sets accountEnabled or passwordProfile. The password is not
// kept: only that it was reset, and whether it must be changed.
func (d *Directory) patchUser(t *tenant, key string, body []byte) reply {
	u := t.user(key)
	if u == nil {
		return notFound(key)
	}
	var in struct {
		AccountEnabled  *bool            `json:"accountEnabled"`
		PasswordProfile *passwordProfile `json:"passwordProfile"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.AccountEnabled == nil && in.PasswordProfile == nil {
		return odata(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property of resource 'User'.")
	}
	if p := in.PasswordProfile; p != nil {
		if p.Password == "" {
			return odata(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'passwordProfile' of resource 'User'.")
		}
		u.passwordsSet++
		u.forceChange = p.ForceChange
	}
	if in.AccountEnabled != nil {
		u.enabled = *in.AccountEnabled
	}
	d.touch()
	return reply{status: http.StatusNoContent}
}

// deleteUser deletes the user, as Graph would. The client never asks it;
// a test reads Requests to prove so.
func (d *Directory) deleteUser(t *tenant, key string) reply {
	u := t.user(key)
	if u == nil {
		return notFound(key)
	}
	t.deleteUser(u)
	d.touch()
	return reply{status: http.StatusNoContent}
}

func (d *Directory) revokeSessions(r *http.Request, t *tenant, key string) reply {
	u := t.user(key)
	if u == nil {
		return notFound(key)
	}
	u.sessionsRevoked++
	d.touch()
	return reply{status: http.StatusOK, body: map[string]any{
		"@odata.context": baseURL(r) + "/v1.0/$metadata#Edm.Boolean", "value": true}}
}

// listMembers answers one page of the group's members, with an absolute
// @odata.nextLink to the next while there is one.
func (d *Directory) listMembers(r *http.Request, t *tenant, groupID string) reply {
	g := t.groups[groupID]
	if g == nil {
		return notFound(groupID)
	}
	q := r.URL.Query()
	var after uint64
	if s := q.Get("$skiptoken"); s != "" {
		var err error
		if after, err = strconv.ParseUint(s, 10, 64); err != nil {
			return odata(http.StatusBadRequest, "Request_BadRequest", "Invalid paging token.")
		}
	}
	size := 100 // Graph's default
	if s := q.Get("$top"); s != "" {
		var err error
		if size, err = strconv.Atoi(s); err != nil || size < 1 || size > 999 {
			return odata(http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '"+s+"'. Must be between 1 and 999 inclusive.")
		}
	}
	size = min(size, max(1, d.PageSize))
	idOnly := q.Get("$select") == "id"
	from := sort.Search(len(g.members), func(i int) bool { return g.members[i].seq > after })
	to := min(from+size, len(g.members))
	page := make([]memberJSON, 0, to-from)
	for _, m := range g.members[from:to] {
		mj := memberJSON{Type: "#microsoft.graph.user", ID: m.userID}
		if !idOnly {
			mj.UPN = t.users[m.userID].upn
		}
		page = append(page, mj)
	}
	out := map[string]any{"value": page}
	if to < len(g.members) {
		q.Set("$skiptoken", strconv.FormatUint(g.members[to-1].seq, 10))
		out["@odata.nextLink"] = baseURL(r) + r.URL.Path + "?" + q.Encode()
	}
	return reply{status: http.StatusOK, body: out}
}

// addMember adds the directory object that the body's @odata.id names.
func (d *Directory) addMember(t *tenant, groupID string, body []byte) reply {
	g := t.groups[groupID]
	if g == nil {
		return notFound(groupID)
	}
	var in struct {
		Ref string `json:"@odata.id"`
	}
	_ = json.Unmarshal(body, &in)
	_, id, ok := strings.Cut(in.Ref, "/directoryObjects/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return odata(http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '"+in.Ref+"'.")
	}
	u := t.users[id]
	if u == nil || u.replicating() {
		return notFound(id)
	}
	if g.has(u.id) {
		return odata(http.StatusBadRequest, "Request_BadRequest",
			"One or more added object references already exist for the following modified properties: 'members'.")
	}
	g.add(u.id)
	d.touch()
	return reply{status: http.StatusNoContent}
}

// removeMember removes a membership, and only that.
func (d *Directory) removeMember(t *tenant, groupID, userID string) reply {
	g := t.groups[groupID]
	if g == nil {
		return notFound(groupID)
	}
	if !g.has(userID) {
		return notFound(userID)
	}
	g.remove(userID)
	d.touch()
	return reply{status: http.StatusNoContent}
}

// deleteMemberObject is a DELETE of a member without /$ref: Graph deletes
// the member object itself, and so does this, so that a test notices.
func (d *Directory) deleteMemberObject(t *tenant, groupID, userID string) reply {
	g := t.groups[groupID]
	if g == nil {
		return notFound(groupID)
	}
	if !g.has(userID) {
		return notFound(userID)
	}
	t.deleteUser(t.users[userID])
	d.touch()
	return reply{status: http.StatusNoContent}
}

// replicating counts a read of a new user: true while it is not visible
// yet.
func (u *user) replicating() bool {
	if u.lag > 0 {
		u.lag--
		return true
	}
	return false
}

// memberJSON is a member as a page lists it.
type memberJSON struct {
	Type string `json:"@odata.type"`
	ID   string `json:"id"`
	UPN  string `json:"userPrincipalName,omitempty"`
}

// userJSON is a user as Graph answers it.
type userJSON struct {
	ID             string `json:"id"`
	UPN            string `json:"userPrincipalName"`
	DisplayName    string `json:"displayName"`
	AccountEnabled bool   `json:"accountEnabled"`
}

func asJSON(u *user) userJSON {
	return userJSON{ID: u.id, UPN: u.upn, DisplayName: u.name, AccountEnabled: u.enabled}
}

// baseURL is the scheme and host the request came to, for absolute links.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func notFound(id string) reply {
	return odata(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

// odata is Graph's error answer.
func odata(status int, code, msg string, details ...map[string]string) reply {
	e := map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": newID(), "client-request-id": newID()},
	}
	if details != nil {
		e["details"] = details
	}
	return reply{status: status, body: map[string]any{"error": e}}
}
