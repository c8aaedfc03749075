// Package devarm is an in-process stand-in for the part of Azure Resource
// Manager that Azure Virtual Desktop's userSessions API is: the dev
// directory's desktop sessions, and the tests' fake of ARM. It answers the
// calls internal/avd makes through the SDK as ARM documents them: sessions
// listed by host pool with $filter and nextLink paging, logged off with
// DELETE …?force=true, messaged with sendMessage; ARM's error body; 429
// with Retry-After; 403 AuthorizationFailed. It records every request.
package devarm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the stand-in, an http.Handler safe for concurrent use.
type Server struct {
	// Authorized says whether a bearer token is one issued for ARM; nil:
	// any non-empty token.
	Authorized func(token string) bool
	// PageSize is how many sessions one page lists (default 2, to page).
	PageSize int
	// OnChange, when set, is called at each change of the sessions (under
	// the server's lock: it must not call back).
	OnChange func()

	mu       sync.Mutex
	sessions []*session
	requests []Request
	messages []Message
	denied   bool
	faults   []fault
	reappear map[string]int // by lower-case UPN: logoffs that leave a new session behind
	changed  chan struct{}
	next     int
}

type session struct {
	sub, rg, pool, host, id, upn string
	created                      time.Time
}

type fault struct{ n, status int }

// Request is one request answered.
type Request struct {
	Method, Path string
	Status       int
}

// Message is one message shown in a session.
type Message struct {
	SessionID, UPN, Title, Body string
}

// Pool names a host pool: where the dev page's "connect" opens sessions.
type Pool struct{ Subscription, ResourceGroup, Name string }

// Session is an open session, for tests and the dev page.
type Session struct {
	Pool, Host, ID, UPN string
	Since               time.Time
}

// New returns a stand-in with no sessions.
func New() *Server {
	return &Server{PageSize: 2, reappear: map[string]int{}, changed: make(chan struct{})}
}

// Connect opens a session of upn on a session host of the pool, as the
// partner user connecting with the Remote Desktop client does, and returns
// its ID.
func (s *Server) Connect(subscription, resourceGroup, pool, host, upn string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open(subscription, resourceGroup, pool, host, upn)
}

func (s *Server) open(sub, rg, pool, host, upn string) string {
	s.next++
	id := strconv.Itoa(s.next)
	s.sessions = append(s.sessions, &session{sub: strings.ToLower(sub), rg: strings.ToLower(rg), pool: strings.ToLower(pool),
		host: host, id: id, upn: upn, created: time.Now().UTC()})
	s.touch()
	return id
}

// Sessions are the open sessions of upn ("": every one).
func (s *Server) Sessions(upn string) []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Session
	for _, x := range s.sessions {
		if upn == "" || strings.EqualFold(x.upn, upn) {
			out = append(out, Session{Pool: x.pool, Host: x.host, ID: x.id, UPN: x.upn, Since: x.created})
		}
	}
	return out
}

// Messages are the messages shown so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Requests are the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Deny makes every call answer 403 AuthorizationFailed, as a missing role
// assignment does.
func (s *Server) Deny(denied bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied = denied
}

// FailNext makes the next n calls answer status (429 with Retry-After: 1,
// or a 5xx).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{n, status})
}

// Reappear makes the next n logoffs of upn's sessions leave a new session
// of upn on the same host, as a user who reconnects at once.
func (s *Server) Reappear(upn string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reappear[strings.ToLower(upn)] += n
}

// Changed returns a channel closed at the next change of the sessions.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Server) touch() {
	close(s.changed)
	s.changed = make(chan struct{})
	if s.OnChange != nil {
		s.OnChange()
	}
}

// ServeHTTP answers the userSessions calls under
// /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DesktopVirtualization/hostPools/{pool}.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	status, body, retry := s.serve(r, in)
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: status})
	s.mu.Unlock()
	if retry != "" {
		w.Header().Set("Retry-After", retry)
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func armError(status int, code, msg string) (int, any, string) {
	return status, map[string]any{"error": map[string]string{"code": code, "message": msg}}, ""
}

func (s *Server) serve(r *http.Request, in []byte) (int, any, string) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" || (s.Authorized != nil && !s.Authorized(tok)) {
		return armError(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
	}
	if r.URL.Query().Get("api-version") == "" {
		return armError(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
	}
	if len(s.faults) > 0 {
		f := &s.faults[0]
		status := f.status
		if f.n--; f.n == 0 {
			s.faults = s.faults[1:]
		}
		st, body, _ := armError(status, http.StatusText(status), "Injected failure.")
		retry := ""
		if status == http.StatusTooManyRequests {
			retry = "1"
		}
		return st, body, retry
	}
	if s.denied {
		return armError(http.StatusForbidden, "AuthorizationFailed", "The client does not have authorization to perform action "+
			"'Microsoft.DesktopVirtualization/hostpools/sessionhosts/usersessions/delete' over scope '"+r.URL.Path+"'.")
	}
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.DesktopVirtualization/hostPools/{pool}/...
	if len(p) < 8 || !strings.EqualFold(p[0], "subscriptions") || !strings.EqualFold(p[2], "resourceGroups") ||
		!strings.EqualFold(p[4], "providers") || !strings.EqualFold(p[5], "Microsoft.DesktopVirtualization") || !strings.EqualFold(p[6], "hostPools") {
		return armError(http.StatusNotFound, "InvalidResourceType", "The resource type could not be found.")
	}
	sub, rg, pool, rest := strings.ToLower(p[1]), strings.ToLower(p[3]), strings.ToLower(p[7]), p[8:]
	switch {
	case r.Method == http.MethodGet && len(rest) == 1 && strings.EqualFold(rest[0], "userSessions"):
		return s.list(r, sub, rg, pool)
	case r.Method == http.MethodDelete && len(rest) == 4 && strings.EqualFold(rest[0], "sessionHosts") && strings.EqualFold(rest[2], "userSessions"):
		return s.logOff(r, sub, rg, pool, rest[1], rest[3])
	case r.Method == http.MethodPost && len(rest) == 5 && strings.EqualFold(rest[4], "sendMessage"):
		return s.message(in, sub, rg, pool, rest[1], rest[3])
	}
	return armError(http.StatusBadRequest, "UnsupportedRequest", "Unsupported request: "+r.Method+" "+r.URL.Path)
}

func (s *Server) find(sub, rg, pool, host, id string) *session {
	for _, x := range s.sessions {
		if x.sub == sub && x.rg == rg && x.pool == pool && strings.EqualFold(x.host, host) && x.id == id {
			return x
		}
	}
	return nil
}

// list answers one page of the pool's sessions, filtered by
// "userprincipalname eq '…'" when asked.
func (s *Server) list(r *http.Request, sub, rg, pool string) (int, any, string) {
	q := r.URL.Query()
	upn := ""
	if f := q.Get("$filter"); f != "" {
		v, ok := strings.CutPrefix(strings.ToLower(f), "userprincipalname eq '")
		if !ok || !strings.HasSuffix(v, "'") {
			return armError(http.StatusBadRequest, "InvalidFilter", "The filter "+f+" is not supported.")
		}
		upn = strings.ReplaceAll(strings.TrimSuffix(v, "'"), "''", "'")
	}
	var match []*session
	for _, x := range s.sessions {
		if x.sub == sub && x.rg == rg && x.pool == pool && (upn == "" || strings.EqualFold(x.upn, upn)) {
			match = append(match, x)
		}
	}
	skip, _ := strconv.Atoi(q.Get("initialSkip"))
	size := max(1, s.PageSize)
	from := min(skip, len(match))
	to := min(from+size, len(match))
	value := []any{}
	for _, x := range match[from:to] {
		value = append(value, map[string]any{
			"id":   fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.DesktopVirtualization/hostPools/%s/sessionHosts/%s/userSessions/%s", x.sub, x.rg, x.pool, x.host, x.id),
			"name": x.pool + "/" + x.host + "/" + x.id,
			"type": "Microsoft.DesktopVirtualization/hostPools/sessionHosts/userSessions",
			"properties": map[string]any{"userPrincipalName": x.upn, "activeDirectoryUserName": x.upn, "sessionState": "Active",
				"applicationType": "Desktop", "createTime": x.created.Format(time.RFC3339)},
		})
	}
	out := map[string]any{"value": value}
	if to < len(match) {
		q.Set("initialSkip", strconv.Itoa(to))
		out["nextLink"] = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	return http.StatusOK, out, ""
}

// logOff ends a session; without force=true an active session is not
// ended, as ARM answers.
func (s *Server) logOff(r *http.Request, sub, rg, pool, host, id string) (int, any, string) {
	x := s.find(sub, rg, pool, host, id)
	if x == nil {
		return armError(http.StatusNotFound, "ResourceNotFound", "User session "+id+" was not found.")
	}
	if r.URL.Query().Get("force") != "true" {
		return armError(http.StatusConflict, "SessionActive", "The user session is active: log it off with force=true.")
	}
	s.sessions = slices.DeleteFunc(s.sessions, func(y *session) bool { return y == x })
	if k := strings.ToLower(x.upn); s.reappear[k] > 0 {
		s.reappear[k]--
		s.open(x.sub, x.rg, x.pool, x.host, x.upn)
	}
	s.touch()
	return http.StatusOK, nil, ""
}

func (s *Server) message(body []byte, sub, rg, pool, host, id string) (int, any, string) {
	x := s.find(sub, rg, pool, host, id)
	if x == nil {
		return armError(http.StatusNotFound, "ResourceNotFound", "User session "+id+" was not found.")
	}
	var in struct {
		Title string `json:"messageTitle"`
		Body  string `json:"messageBody"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Body == "" {
		return armError(http.StatusBadRequest, "InvalidRequestContent", "The message body is required.")
	}
	s.messages = append(s.messages, Message{SessionID: x.id, UPN: x.upn, Title: in.Title, Body: in.Body})
	return http.StatusOK, nil, ""
}
