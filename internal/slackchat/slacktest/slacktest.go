// Package slacktest is a stand-in for Slack on loopback, for tests: the
// Web API methods the approvals use (users.lookupByEmail,
// conversations.open, chat.postMessage, chat.update) for workspaces of its
// own, every call recorded; it can be taken down and brought back on the
// same address, and it signs interaction payloads as Slack does.
package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Workspace is one Slack workspace the stand-in serves.
type Workspace struct {
	TeamID        string
	BotToken      string
	SigningSecret string
	// Users by email: the Slack user ID of each member.
	Users map[string]string
}

// Call is one Web API call the stand-in answered.
type Call struct {
	Method string // "chat.postMessage"
	TeamID string // the workspace whose token was sent; "" for none
	Form   url.Values
}

// Message is a message as last posted or updated.
type Message struct {
	TeamID, Channel, TS string
	Text                string
	Blocks              json.RawMessage
	Updates             int
}

// Server is the stand-in.
type Server struct {
	t     testing.TB
	addr  string
	mu    sync.Mutex
	srv   *http.Server
	teams map[string]*Workspace // by bot token
	calls []Call
	msgs  map[string]*Message // by channel + "/" + ts
	seq   int
}

// New starts the stand-in on 127.0.0.1 serving the workspaces; it stops
// at the test's end.
func New(t testing.TB, workspaces ...Workspace) *Server {
	t.Helper()
	s := &Server{t: t, teams: map[string]*Workspace{}, msgs: map[string]*Message{}}
	for i := range workspaces {
		w := workspaces[i]
		s.teams[w.BotToken] = &w
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	s.serve(l)
	t.Cleanup(s.Down)
	return s
}

// URL is the Web API's base, for SLACK_API_URL.
func (s *Server) URL() string { return "http://" + s.addr + "/api/" }

func (s *Server) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(l)
}

// Down stops answering: connections to the address are refused.
func (s *Server) Down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Up answers again on the same address.
func (s *Server) Up() {
	s.t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the closed listener's port may take a moment to free
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("slack stand-in back on %s: %v", s.addr, err)
	}
	s.serve(l)
}

// Calls lists the calls answered of method ("" for all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cs []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			cs = append(cs, c)
		}
	}
	return cs
}

// Messages lists the messages posted in a channel, oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms []Message
	for i := 1; i <= s.seq; i++ {
		if m, ok := s.msgs[channel+"/"+ts(i)]; ok {
			ms = append(ms, *m)
		}
	}
	return ms
}

// DM is the direct message channel of a Slack user (conversations.open
// answers it).
func DM(userID string) string { return "D" + userID }

func ts(n int) string { return fmt.Sprintf("1700000000.%06d", n) }

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok || r.ParseForm() != nil {
		http.NotFound(w, r)
		return
	}
	token := r.Form.Get("token")
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	team := s.teams[token]
	c := Call{Method: method, Form: r.Form}
	if team != nil {
		c.TeamID = team.TeamID
	}
	s.calls = append(s.calls, c)
	if team == nil {
		answer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch method {
	case "users.lookupByEmail":
		id, ok := team.Users[strings.ToLower(r.Form.Get("email"))]
		if !ok {
			answer(w, map[string]any{"ok": false, "error": "users_not_found"})
			return
		}
		answer(w, map[string]any{"ok": true, "user": map[string]any{"id": id, "team_id": team.TeamID,
			"profile": map[string]any{"email": r.Form.Get("email")}}})
	case "conversations.open":
		users := r.Form.Get("users")
		if users == "" || strings.Contains(users, ",") || !s.member(team, users) {
			answer(w, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		answer(w, map[string]any{"ok": true, "channel": map[string]any{"id": DM(users)}})
	case "chat.postMessage":
		ch := r.Form.Get("channel")
		if !strings.HasPrefix(ch, "D") || !s.member(team, ch[1:]) {
			answer(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		s.seq++
		m := &Message{TeamID: team.TeamID, Channel: ch, TS: ts(s.seq), Text: r.Form.Get("text"), Blocks: json.RawMessage(r.Form.Get("blocks"))}
		s.msgs[ch+"/"+m.TS] = m
		answer(w, map[string]any{"ok": true, "channel": ch, "ts": m.TS})
	case "chat.update":
		m, ok := s.msgs[r.Form.Get("channel")+"/"+r.Form.Get("ts")]
		if !ok || m.TeamID != team.TeamID {
			answer(w, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
		m.Text, m.Blocks = r.Form.Get("text"), json.RawMessage(r.Form.Get("blocks"))
		m.Updates++
		answer(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
	default:
		answer(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (s *Server) member(team *Workspace, userID string) bool {
	for _, id := range team.Users {
		if id == userID {
			return true
		}
	}
	return false
}

func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Click is a button pressed on a message, as Slack reports it.
type Click struct {
	TeamID, UserID  string
	Channel, TS     string
	ActionID, Value string
}

// Payload is the click's interaction payload (block_actions), as the form
// Slack posts to the interactivity URL.
func (c Click) Payload() []byte {
	p, _ := json.Marshal(map[string]any{
		"type":       "block_actions",
		"team":       map[string]any{"id": c.TeamID},
		"user":       map[string]any{"id": c.UserID, "team_id": c.TeamID},
		"api_app_id": "A0STANDIN",
		"trigger_id": "trigger-" + c.TS + "-" + c.ActionID,
		"container":  map[string]any{"type": "message", "message_ts": c.TS, "channel_id": c.Channel, "is_ephemeral": false},
		"channel":    map[string]any{"id": c.Channel},
		"message":    map[string]any{"ts": c.TS},
		"actions": []map[string]any{{"type": "button", "action_id": c.ActionID, "block_id": "decide", "value": c.Value,
			"action_ts": c.TS}},
	})
	return []byte(url.Values{"payload": {string(p)}}.Encode())
}

// Sign is the headers Slack sends with body at time at, signed with the
// signing secret (v0: HMAC-SHA256 over "v0:timestamp:body").
func Sign(secret string, at time.Time, body []byte) http.Header {
	stamp := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:%s", stamp, body)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	return h
}

// Post sends a signed interaction to url (the interactivity URL), as
// Slack does, and returns the status.
func Post(url string, header http.Header, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	req.Header = header.Clone()
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// ErrNoMessage: no message was posted to the channel.
var ErrNoMessage = errors.New("no message posted there")

// Last is the last message posted in channel.
func (s *Server) Last(channel string) (Message, error) {
	ms := s.Messages(channel)
	if len(ms) == 0 {
		return Message{}, ErrNoMessage
	}
	return ms[len(ms)-1], nil
}
