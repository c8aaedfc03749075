package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/server"
)

// No caller grows /metrics: 2,000 requests, each with a made-up method and
// half of them at a made-up path, add a few series, not thousands.
func TestMadeUpMethodsAndPathsLeaveMetricsWithinAFewKB(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	before := send(t, "GET", e.HTTP.URL+"/metrics", "", "", nil).body
	client := &http.Client{}
	for i := range 2000 {
		path := "/api/v1/sites"
		if i%2 == 1 {
			path = fmt.Sprintf("/made-up/%d", i)
		}
		req, err := http.NewRequest(fmt.Sprintf("BREW%d", i), e.HTTP.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s %s: %d", req.Method, path, resp.StatusCode)
		}
	}
	after := send(t, "GET", e.HTTP.URL+"/metrics", "", "", nil).body
	t.Logf("/metrics: %d bytes before 2,000 made-up methods, %d after (+%d)", len(before), len(after), len(after)-len(before))
	if grew := len(after) - len(before); grew > 8<<10 {
		t.Fatalf("/metrics grew by %d bytes, want at most 8 KB", grew)
	}
	for _, want := range []string{`method="other",route="unmatched",status="404"`, `method="other",route="unmatched",status="405"`} {
		if !strings.Contains(after, want) {
			t.Errorf("/metrics has no series with %s", want)
		}
	}
	for _, leak := range []string{"BREW", "/made-up/"} {
		if strings.Contains(after, leak) {
			t.Errorf("/metrics names the caller's %q", leak)
		}
	}
}

// doorServer serves the real handler over the environment's service with
// cfg, and the codec endpoint, the dev mailbox and a dev directory on; it
// returns the base URL (on loopback, like a laptop's demo).
func doorServer(t *testing.T, e *testenv.Env, cfg server.Config) string {
	t.Helper()
	cfg.Codec, cfg.DevMailbox, cfg.DevDirectory = e.Codec, true, devgraph.New()
	ts := httptest.NewServer(server.New(cfg, e.Service, slog.New(slog.DiscardHandler)).Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// encrypted is "Case 4711" as the codec endpoint encodes it.
func encrypted(t *testing.T, base string) string {
	t.Helper()
	plain := `{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"IkNhc2UgNDcxMSI="}]}`
	res, enc := codecCall(t, base, "/codec/encode", plain, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("encode: %d %s", res.StatusCode, enc)
	}
	return enc
}

// Behind a same-host proxy (TRUSTED_PROXIES=127.0.0.1) every request comes
// from loopback, and the client the proxy names decides: a remote one gets
// the codec endpoint, the mailbox and the dev directory as beyond loopback,
// though the server listens on loopback only.
func TestTheCallerAfterTrustedProxiesOpensTheDoorsNotTheListenAddress(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	const operator = "Bearer operator-secret"
	base := doorServer(t, e, server.Config{PublicURL: "http://127.0.0.1", CodecOpen: true, OperatorToken: "operator-secret",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	enc := encrypted(t, base)
	for _, tc := range []struct {
		name, method, path, forwardedFor, auth string
		want                                   int
	}{
		{"codec, a caller on loopback", "POST", "/codec/decode", "", "", http.StatusOK},
		{"codec, the client the proxy names on loopback", "POST", "/codec/decode", "127.0.0.1", "", http.StatusOK},
		{"codec, a remote client", "POST", "/codec/decode", "203.0.113.7", "", http.StatusUnauthorized},
		{"codec, a remote client claiming loopback first", "POST", "/codec/decode", "127.0.0.1, 203.0.113.7", "", http.StatusUnauthorized},
		{"codec, a remote client with a wrong token", "POST", "/codec/decode", "203.0.113.7", "Bearer wrong", http.StatusUnauthorized},
		{"codec, a remote client with the operator's token", "POST", "/codec/decode", "203.0.113.7", operator, http.StatusOK},
		{"mailbox API, a caller on loopback", "GET", "/api/v1/dev/mail", "", "", http.StatusOK},
		{"mailbox API, a remote client", "GET", "/api/v1/dev/mail", "203.0.113.7", "", http.StatusUnauthorized},
		{"mailbox API, a remote client with the operator's token", "GET", "/api/v1/dev/mail", "203.0.113.7", operator, http.StatusOK},
		{"mailbox page, a caller on loopback", "GET", "/dev/mail", "", "", http.StatusOK},
		{"mailbox page, a remote client", "GET", "/dev/mail", "203.0.113.7", "", http.StatusSeeOther},
		{"dev directory, a caller on loopback", "GET", "/dev/directory", "", "", http.StatusOK},
		{"dev directory, a remote client", "GET", "/dev/directory", "203.0.113.7", "", http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = enc
			}
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tc.forwardedFor != "" {
				req.Header.Set("X-Forwarded-For", tc.forwardedFor)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			status, got := e.Anonymous().Send(req)
			if status != tc.want {
				t.Fatalf("%s %s from %q: %d, want %d: %.300s", tc.method, tc.path, tc.forwardedFor, status, tc.want, got)
			}
			if tc.path == "/codec/decode" && status == http.StatusOK && !strings.Contains(string(got), "IkNhc2UgNDcxMSI=") {
				t.Fatalf("decoded: %s", got)
			}
		})
	}
}

// A request for a host that is neither PUBLIC_URL's nor a loopback name is
// answered 421 before any route, so a page that rebinds its own name to
// this machine reaches none of the doors; a load balancer's health check
// at the listen address still gets its answer.
func TestAForeignHostIsAnswered421BeforeAnyRoute(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	base := doorServer(t, e, server.Config{PublicURL: "https://access.example.com", CodecOpen: true})
	enc := encrypted(t, base)
	const rebound = "rebind.attacker.example:8080"
	for _, tc := range []struct {
		host, method, path string
		want               int
	}{
		{rebound, "POST", "/codec/decode", http.StatusMisdirectedRequest},
		{rebound, "POST", "/codec/encode", http.StatusMisdirectedRequest},
		{rebound, "GET", "/dev/mail", http.StatusMisdirectedRequest},
		{rebound, "GET", "/api/v1/dev/mail", http.StatusMisdirectedRequest},
		{rebound, "GET", "/dev/directory", http.StatusMisdirectedRequest},
		{rebound, "GET", "/api/v1/sites", http.StatusMisdirectedRequest},
		{rebound, "GET", "/made-up", http.StatusMisdirectedRequest},
		{"access.example.com:8443", "GET", "/api/v1/dev/mail", http.StatusMisdirectedRequest},
		{"access.example.com.attacker.example", "GET", "/api/v1/dev/mail", http.StatusMisdirectedRequest},
		{"127.0.0.1.nip.io", "GET", "/api/v1/dev/mail", http.StatusMisdirectedRequest},
		{rebound, "GET", "/readyz", http.StatusOK},
		{rebound, "GET", "/healthz", http.StatusOK},
		{rebound, "GET", "/metrics", http.StatusOK},
		{"access.example.com", "GET", "/api/v1/dev/mail", http.StatusOK},
		{"ACCESS.example.com", "GET", "/dev/mail", http.StatusOK},
		{"access.example.com", "POST", "/codec/decode", http.StatusOK},
		{"127.0.0.1", "GET", "/api/v1/dev/mail", http.StatusOK},
		{"127.0.0.1:9999", "POST", "/codec/decode", http.StatusOK},
		{"localhost", "GET", "/dev/directory", http.StatusOK},
		{"localhost:8080", "GET", "/api/v1/dev/mail", http.StatusOK},
		{"[::1]:8080", "GET", "/api/v1/dev/mail", http.StatusOK},
	} {
		t.Run(tc.host+tc.path, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = enc
			}
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(body))
			req.Host = tc.host
			req.Header.Set("Content-Type", "application/json")
			status, got := e.Anonymous().Send(req)
			if status != tc.want {
				t.Fatalf("%s %s for Host %s: %d, want %d: %.300s", tc.method, tc.path, tc.host, status, tc.want, got)
			}
			if status != http.StatusMisdirectedRequest {
				return
			}
			if !strings.Contains(string(got), "access.example.com (PUBLIC_URL)") {
				t.Fatalf("the refusal does not name the expected host: %.300s", got)
			}
			if strings.HasPrefix(string(got), "<") {
				return // a page's refusal is the error page
			}
			var p struct {
				Type   string
				Status int
			}
			if err := json.Unmarshal(got, &p); err != nil || p.Type != "about:blank" || p.Status != http.StatusMisdirectedRequest {
				t.Fatalf("not a problem document: %v %s", err, got)
			}
		})
	}
}
