// Package teamstest stands in for Microsoft's side of a Teams bot on
// loopback: the Bot Framework's token issuer (OpenID metadata, its keys,
// and JWTs it signs with a key of its own), the bot's own token endpoint,
// and a Bot Connector that answers member reads and records the
// activities the bot sends and updates. Tests and the dev chat use it.
package teamstest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Member is a Teams member the connector answers for.
type Member struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	AADObjectID       string `json:"aadObjectId"`
	Email             string `json:"email"`
	UserPrincipalName string `json:"userPrincipalName"`
	TenantID          string `json:"tenantId"`
}

// Activity is one activity the bot sent (Posted) or updated.
type Activity struct {
	Conversation string
	ID           string
	Body         map[string]any
	Updates      []map[string]any // each PUT, in order
}

// Stub is the stand-in, served on a loopback address.
type Stub struct {
	URL       string // base of every endpoint; also the connector's serviceUrl
	AppID     string
	AppSecret string
	key       *rsa.PrivateKey
	kid       string
	server    *http.Server

	mu         sync.Mutex
	members    map[string]Member // by conversation + "/" + member ID
	activities []*Activity
	down       bool
	seq        int
}

const accessToken = "connector-token"

// Start serves the stand-in for a bot registered as appID with secret.
func Start(appID, secret string) (*Stub, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Stub{URL: "http://" + ln.Addr().String(), AppID: appID, AppSecret: secret, key: key, kid: "stub-key-1",
		members: map[string]Member{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openid", s.openID)
	mux.HandleFunc("GET /keys", s.keys)
	mux.HandleFunc("POST /botframework.com/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /v3/conversations/{conv}/members/{member}", s.member)
	mux.HandleFunc("POST /v3/conversations/{conv}/activities", s.post)
	mux.HandleFunc("PUT /v3/conversations/{conv}/activities/{id}", s.put)
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go s.server.Serve(ln)
	return s, nil
}

// Close stops serving.
func (s *Stub) Close() error { return s.server.Close() }

// OpenIDURL is BOTFRAMEWORK_OPENID_URL for the stand-in; LoginURL is
// ENTRA_LOGIN_URL.
func (s *Stub) OpenIDURL() string { return s.URL + "/openid" }
func (s *Stub) LoginURL() string  { return s.URL }

// AddMember lets the connector answer a read of m in conversation conv.
func (s *Stub) AddMember(conv string, m Member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[conv+"/"+m.ID] = m
}

// Down makes the connector answer 503 to the bot (true), or work again.
func (s *Stub) Down(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Activities are what the bot sent, oldest first.
func (s *Stub) Activities() []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Activity, len(s.activities))
	for i, a := range s.activities {
		out[i] = *a
		out[i].Updates = append([]map[string]any(nil), a.Updates...)
	}
	return out
}

// Claims are a token's claims; Token fills what is left out.
type Claims struct {
	Issuer     string
	Audience   string
	ServiceURL string
	Expiry     time.Time
}

// Token is a Bot Framework JWT for an activity to the bot, signed with the
// stand-in's key: issuer https://api.botframework.com, audience the app
// ID, the stand-in's serviceurl, an hour's life, unless c says otherwise.
func (s *Stub) Token(c Claims) string {
	return s.sign(c, s.key)
}

// Forged is a token like Token's signed with a key the metadata does not
// name.
func (s *Stub) Forged(c Claims) string {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return s.sign(c, other)
}

func (s *Stub) sign(c Claims, key *rsa.PrivateKey) string {
	if c.Issuer == "" {
		c.Issuer = "https://api.botframework.com"
	}
	if c.Audience == "" {
		c.Audience = s.AppID
	}
	if c.ServiceURL == "" {
		c.ServiceURL = s.URL
	}
	if c.Expiry.IsZero() {
		c.Expiry = time.Now().Add(time.Hour)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": c.Issuer, "aud": c.Audience, "serviceurl": c.ServiceURL,
		"exp": c.Expiry.Unix(), "nbf": time.Now().Add(-time.Minute).Unix(), "iat": time.Now().Unix(),
	})
	t.Header["kid"] = s.kid
	signed, err := t.SignedString(key)
	if err != nil {
		panic(err)
	}
	return signed
}

func (s *Stub) openID(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"issuer": "https://api.botframework.com", "jwks_uri": s.URL + "/keys",
		"id_token_signing_alg_values_supported": []string{"RS256"}})
}

func (s *Stub) keys(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: "RS256", Use: "sig"}}})
}

func (s *Stub) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if id != s.AppID || secret != s.AppSecret || r.PostFormValue("scope") != "https://api.botframework.com/.default" {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	writeJSON(w, map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 3600})
}

// connector admits the bot's token while the stand-in is up.
func (s *Stub) connector(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	switch {
	case down:
		http.Error(w, "down", http.StatusServiceUnavailable)
		return false
	case r.Header.Get("Authorization") != "Bearer "+accessToken:
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return false
	}
	return true
}

func (s *Stub) member(w http.ResponseWriter, r *http.Request) {
	if !s.connector(w, r) {
		return
	}
	s.mu.Lock()
	m, ok := s.members[r.PathValue("conv")+"/"+r.PathValue("member")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, m)
}

func (s *Stub) post(w http.ResponseWriter, r *http.Request) {
	if !s.connector(w, r) {
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.seq++
	a := &Activity{Conversation: r.PathValue("conv"), ID: fmt.Sprintf("activity-%d", s.seq), Body: body}
	s.activities = append(s.activities, a)
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, map[string]string{"id": a.ID})
}

func (s *Stub) put(w http.ResponseWriter, r *http.Request) {
	if !s.connector(w, r) {
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.activities {
		if a.Conversation == r.PathValue("conv") && a.ID == r.PathValue("id") {
			a.Updates = append(a.Updates, body)
			writeJSON(w, map[string]string{"id": a.ID})
			return
		}
	}
	http.NotFound(w, r)
}

func writeJSON(w http.ResponseWriter, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	json.NewEncoder(w).Encode(v)
}

// CardText is every text of an activity's Adaptive Card, joined, for
// tests and the dev chat to read.
func CardText(body map[string]any) string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range []string{"text", "title", "value"} {
				if s, ok := x[k].(string); ok {
					out = append(out, s)
				}
			}
			for k, c := range x {
				if k != "data" {
					walk(c)
				}
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(body)
	return strings.Join(out, "\n")
}
