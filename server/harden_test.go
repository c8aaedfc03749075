package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/ratelimit"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/internal/wire"
	"github.com/partneraccess/partneraccess/server"
)

// another serves a second handler over the environment's store and
// Temporal, with its own server configuration, limits and metrics.
func another(t *testing.T, e *testenv.Env, cfg server.Config, limits service.Limits) string {
	t.Helper()
	return e.Another(func(h *wire.HTTP) {
		cfg.GatewayToken = testenv.GatewayToken
		h.Server, h.Service.Limits = cfg, limits
	})
}

type reply struct {
	status int
	header http.Header
	body   string
}

// send makes one request without following redirects. header values
// "Bearer x" go to Authorization; a "Cookie" entry sends the session cookie.
func send(t *testing.T, method, rawURL, ctype, body string, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func jsonLogin(email, password string) string {
	return fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
}

func formOf(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

const formType = "application/x-www-form-urlencoded"

func auditCount(t *testing.T, e *testenv.Env) int {
	t.Helper()
	es, err := e.Store.AuditLog(context.Background(), store.AuditFilter{Limit: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	r := send(t, "GET", base+"/metrics", "", "", nil)
	for _, line := range strings.Split(r.body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return 0
}

func TestRateLimitsAnswer429WithRetryAfterAndWriteNoAuditRow(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	d := service.DefaultLimits
	loginAPI := func(email, pw, client string) func(base string) reply {
		return func(base string) reply {
			return send(t, "POST", base+"/api/v1/session", "application/json", jsonLogin(email, pw), map[string]string{"X-Forwarded-For": client})
		}
	}
	loginForm := func(email, pw, client string) func(base string) reply {
		return func(base string) reply {
			return send(t, "POST", base+"/login", formType, formOf("email", email, "password", pw), map[string]string{"X-Forwarded-For": client})
		}
	}
	n := 0
	fresh := func(client string) func(base string) reply { // a new account on each call
		return func(base string) reply {
			n++
			return loginAPI(fmt.Sprintf("nobody%d@partner.example", n), "guess", client)(base)
		}
	}
	approval := func(client string) func(base string) reply {
		return func(base string) reply {
			return send(t, "POST", base+"/approvals/"+strings.Repeat("Q", 43), formType, "decision=approve", map[string]string{"X-Forwarded-For": client})
		}
	}
	cases := []struct {
		name    string
		limit   string
		n       int                     // failures allowed before the limit
		fail    func(base string) reply // one failed attempt
		failed  int                     // its status within the limit
		after   func(base string) reply // the attempt beyond the limit
		success func(base string) reply // a successful attempt, repeated first: must not count
	}{
		{"login per account (API)", "login_account", d.LoginPerAccount.Burst,
			loginAPI("admin@contoso.example", "wrong", "192.0.2.1"), 401,
			loginAPI("admin@contoso.example", demo.Password, "192.0.2.2"),
			loginAPI("admin@contoso.example", demo.Password, "192.0.2.1")},
		{"login per account, case and spaces ignored", "login_account", d.LoginPerAccount.Burst,
			loginAPI(" Admin@Contoso.example", "wrong", "192.0.2.3"), 401,
			loginAPI("admin@contoso.EXAMPLE", "wrong", "192.0.2.4"), nil},
		{"login per account (form)", "login_account", d.LoginPerAccount.Burst,
			loginForm("ops@contoso.example", "wrong", "192.0.2.5"), 401,
			loginForm("ops@contoso.example", "wrong", "192.0.2.6"),
			loginForm("ops@contoso.example", demo.Password, "192.0.2.5")},
		{"login per client address", "login_client", d.LoginPerClient.Burst,
			fresh("198.51.100.7"), 401, fresh("198.51.100.7"),
			loginAPI("solo@partner.example", demo.Password, "198.51.100.7")},
		{"approval-link POSTs per client address", "approval_client", d.ApprovalPerClient.Burst,
			approval("203.0.113.9"), 404, approval("203.0.113.9"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := another(t, e, server.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, service.Limits{})
			if tc.success != nil {
				for i := range 2 * tc.n {
					if r := tc.success(base); r.status >= 400 {
						t.Fatalf("successful attempt %d: %d %s", i+1, r.status, r.body)
					}
				}
			}
			for i := range tc.n {
				if r := tc.fail(base); r.status != tc.failed {
					t.Fatalf("failure %d of %d: %d, want %d (successes must not count)", i+1, tc.n, r.status, tc.failed)
				}
			}
			rows := auditCount(t, e)
			for range 3 {
				r := tc.after(base)
				secs, err := strconv.Atoi(r.header.Get("Retry-After"))
				if r.status != http.StatusTooManyRequests || err != nil || secs < 1 {
					t.Fatalf("beyond the limit: %d Retry-After %q, want 429 with seconds\n%s", r.status, r.header.Get("Retry-After"), r.body)
				}
			}
			if got := auditCount(t, e); got != rows {
				t.Fatalf("refusals beyond the limit wrote %d audit rows, want none", got-rows)
			}
			if v := metricValue(t, base, `partner_access_rate_limited_total{limit="`+tc.limit+`"}`); v != 3 {
				t.Fatalf("metric counts %v refusals of %s, want 3", v, tc.limit)
			}
		})
	}

	// Without a trusted proxy, X-Forwarded-For cannot pick a new address.
	for i := range d.LoginPerClient.Burst {
		send(t, "POST", e.HTTP.URL+"/api/v1/session", "application/json", jsonLogin(fmt.Sprintf("x%d@partner.example", i), "guess"),
			map[string]string{"X-Forwarded-For": fmt.Sprintf("10.0.0.%d", i)})
	}
	if r := send(t, "POST", e.HTTP.URL+"/api/v1/session", "application/json", jsonLogin("y@partner.example", "guess"),
		map[string]string{"X-Forwarded-For": "10.9.9.9"}); r.status != http.StatusTooManyRequests {
		t.Fatalf("spoofed X-Forwarded-For: %d, want 429", r.status)
	}
}

func TestAnonymousRefusalFloodIsAggregatedNotWrittenRowByRow(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	base := another(t, e, server.Config{}, service.Limits{ApprovalPerClient: ratelimit.Rule{Burst: 1000, Every: time.Second}})
	rows := auditCount(t, e)
	const flood = 300
	for i := range flood {
		tok := fmt.Sprintf("%043d", i)
		if r := send(t, "POST", base+"/approvals/"+tok, formType, "decision=approve", nil); r.status != http.StatusNotFound {
			t.Fatalf("forged token %d: %d", i, r.status)
		}
	}
	if added := auditCount(t, e) - rows; added < 1 || added > 2 {
		t.Fatalf("%d forged approval links added %d audit rows, want one or two (sampled)", flood, added)
	}
	if v := metricValue(t, base, `partner_access_refusals_total{rule="none"}`); v != flood {
		t.Fatalf("refusal metric %v, want %d: every refusal is counted", v, flood)
	}
}

// rawPost sends headers and the first part of a body on a bare
// connection, then reads the answer: it proves the server answered before
// the body was all sent.
func rawPost(t *testing.T, base, path, ctype string, declared, sent int, chunked bool) int {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n", path, u.Host, ctype)
	if chunked {
		fmt.Fprintf(w, "Transfer-Encoding: chunked\r\n\r\n")
	} else {
		fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", declared)
	}
	chunk := "email=a%40b.example&password=" + strings.Repeat("x", 8<<10)
	for written := 0; written < sent; written += len(chunk) {
		if chunked {
			fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk)
		} else {
			w.WriteString(chunk)
		}
		if err := w.Flush(); err != nil {
			break // the server may close once it has answered
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent in full: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBodiesOverTheLimitAre413BeforeBeingRead(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	agent := e.Login("agent@partner.example")
	cookie := map[string]string{"Cookie": "pa_session=" + agent.Token}
	cases := []struct {
		name   string
		send   func() int
		status int
	}{
		{"login form declaring 120 MB", func() int { return rawPost(t, e.HTTP.URL, "/login", formType, 120<<20, 16<<10, false) }, 413},
		{"approval link declaring 30 MB", func() int {
			return rawPost(t, e.HTTP.URL, "/approvals/"+strings.Repeat("A", 43), formType, 30<<20, 16<<10, false)
		}, 413},
		{"login form chunked past 64 KiB", func() int { return rawPost(t, e.HTTP.URL, "/login", formType, 0, 80<<10, true) }, 413},
		{"API login declaring 1 MB", func() int { return rawPost(t, e.HTTP.URL, "/api/v1/session", "application/json", 1<<20, 16<<10, false) }, 413},
		{"logged-in form past 64 KiB", func() int {
			return send(t, "POST", e.HTTP.URL+"/sites/"+demo.ContosoSite+"/assignments", formType,
				formOf("user_id", demo.Solo, "reason", strings.Repeat("r", 70<<10)), cookie).status
		}, 413},
		{"multipart login refused unread", func() int {
			return send(t, "POST", e.HTTP.URL+"/login", "multipart/form-data; boundary=X",
				"--X\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.c\r\n--X--\r\n", nil).status
		}, 415},
		{"login form just under 64 KiB is read", func() int {
			return send(t, "POST", e.HTTP.URL+"/login", formType, formOf("email", "agent@partner.example", "password", strings.Repeat("p", 60<<10)), nil).status
		}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.Counts()
			if got := tc.send(); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			if after := e.Counts(); after != before {
				t.Fatalf("state changed: %+v -> %+v", before, after)
			}
		})
	}
}

func TestDevMailboxBeyondLoopbackIsOffOrForAdministrators(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	agent := e.Login("agent@partner.example") // not an administrator
	admin := e.Login("admin@contoso.example") // Customer Administrator
	ops := e.Login("ops@contoso.example")     // approver, not an administrator
	loopback := another(t, e, server.Config{DevMailbox: true}, service.Limits{})
	off := another(t, e, server.Config{DevMailbox: false}, service.Limits{})
	admins := another(t, e, server.Config{DevMailbox: true, DevMailboxAdminsOnly: true}, service.Limits{})
	bearer := func(s *testenv.Session) map[string]string {
		if s == nil {
			return nil
		}
		return map[string]string{"Authorization": "Bearer " + s.Token, "Cookie": "pa_session=" + s.Token}
	}
	cases := []struct {
		name   string
		base   string
		path   string
		as     *testenv.Session
		status int
	}{
		{"loopback: anyone (API)", loopback, "/api/v1/dev/mail", nil, 200},
		{"loopback: anyone (page)", loopback, "/dev/mail", nil, 200},
		{"beyond loopback, off: API", off, "/api/v1/dev/mail", admin, 404},
		{"beyond loopback, off: page", off, "/dev/mail", admin, 404},
		{"admins only: anonymous API", admins, "/api/v1/dev/mail", nil, 401},
		{"admins only: anonymous page goes to login", admins, "/dev/mail", nil, 303},
		{"admins only: partner agent", admins, "/api/v1/dev/mail", agent, 403},
		{"admins only: approver", admins, "/dev/mail", ops, 403},
		{"admins only: administrator (API)", admins, "/api/v1/dev/mail", admin, 200},
		{"admins only: administrator (page)", admins, "/dev/mail", admin, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, "GET", tc.base+tc.path, "", "", bearer(tc.as))
			if r.status != tc.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tc.status, r.body)
			}
		})
	}
}

func TestLoginNextRedirectsOnlyToThisSite(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	cases := []struct {
		next, want string
	}{
		{"/\t/evil.example", "/sites"},
		{"/\n/evil.example", "/sites"},
		{"/\r/evil.example", "/sites"},
		{"//evil.example", "/sites"},
		{"///evil.example", "/sites"},
		{"/\\evil.example", "/sites"},
		{"\\\\evil.example", "/sites"},
		{"/\\/evil.example", "/sites"},
		{" //evil.example", "/sites"},
		{"\t//evil.example", "/sites"},
		{"https://evil.example/", "/sites"},
		{"https:evil.example", "/sites"},
		{"javascript:alert(document.domain)", "/sites"},
		{"evil.example", "/sites"},
		{"/%2F/evil.example", "/sites"},
		{"/%5Cevil.example", "/sites"},
		{"/\u202e/evil.example", "/sites"},
		{"/\x00/evil.example", "/sites"},
		{"", "/sites"},
		{"/sites/" + demo.ContosoSite, "/sites/" + demo.ContosoSite},
		{"/assignments/abc?notice=created", "/assignments/abc?notice=created"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.next), func(t *testing.T) {
			r := send(t, "POST", e.HTTP.URL+"/login", formType,
				formOf("email", "agent@partner.example", "password", demo.Password, "next", tc.next), nil)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != tc.want {
				t.Fatalf("login: %d Location %q, want 303 to %q", r.status, r.header.Get("Location"), tc.want)
			}
			page := send(t, "GET", e.HTTP.URL+"/login?next="+url.QueryEscape(tc.next), "", "", nil)
			if !strings.Contains(page.body, `name="next" value="`+tc.want+`"`) && !strings.Contains(page.body, `value="`+strings.ReplaceAll(tc.want, "&", "&amp;")+`"`) {
				t.Fatalf("login page keeps next %q, want %q", tc.next, tc.want)
			}
		})
	}
}

var quotedID = regexp.MustCompile(`"[^"]*"`)

func TestHiddenAndMissingObjectsGetTheSameAnswer(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, body := agent.Assign(demo.ContosoSite, demo.Solo, "", "hidden from others")
	if a.ID == "" {
		t.Fatalf("assign: %s", body)
	}
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	tailspin := e.Login("agent@tailspin.example")
	fabrikam := e.Login("admin@fabrikam.example")
	adatumAssign := "/api/v1/sites/" + demo.AdatumSite + "/assignments"
	cases := []struct {
		name           string
		as             *testenv.Session
		method         string
		hidden, absent string
		body           func(id string) any
	}{
		{"customer permission (partner)", tailspin, "PUT", "/api/v1/customers/" + demo.Contoso + "/partner-permission", "/api/v1/customers/nobody/partner-permission", nil},
		{"customer permission (customer)", fabrikam, "DELETE", "/api/v1/customers/" + demo.Contoso + "/partner-permission", "/api/v1/customers/nobody/partner-permission", nil},
		{"customer users (partner)", tailspin, "POST", "/api/v1/customers/" + demo.Contoso + "/users", "/api/v1/customers/nobody/users",
			func(string) any { return map[string]any{"email": "x@contoso.example", "name": "X"} }},
		{"customer users (customer)", fabrikam, "POST", "/api/v1/customers/" + demo.Contoso + "/users", "/api/v1/customers/nobody/users",
			func(string) any { return map[string]any{"email": "x@contoso.example", "name": "X"} }},
		{"site", tailspin, "GET", "/api/v1/sites/" + demo.ContosoSite, "/api/v1/sites/nowhere", nil},
		{"site assignments", tailspin, "POST", "/api/v1/sites/" + demo.ContosoSite + "/assignments", "/api/v1/sites/nowhere/assignments",
			func(string) any { return map[string]string{"user_id": demo.TailspinAgent, "reason": "x"} }},
		{"site access", fabrikam, "GET", "/api/v1/access?site=" + demo.ContosoSite + "&user=x", "/api/v1/access?site=nowhere&user=x", nil},
		{"user of another partner", tailspin, "POST", adatumAssign + "#" + demo.Solo, adatumAssign + "#nobody",
			func(id string) any { return map[string]string{"user_id": id, "reason": "x"} }},
		{"customer user of a hidden customer", tailspin, "POST", adatumAssign + "#" + demo.ContosoAdmin, adatumAssign + "#nobody",
			func(id string) any { return map[string]string{"user_id": id, "reason": "x"} }},
		{"assignment", fabrikam, "GET", "/api/v1/assignments/" + a.ID, "/api/v1/assignments/" + strings.ToUpper(a.ID) + "x", nil},
		{"assignment unassign", tailspin, "DELETE", "/api/v1/assignments/" + a.ID, "/api/v1/assignments/nope", nil},
		{"assignment decision", fabrikam, "POST", "/api/v1/assignments/" + a.ID + "/decision", "/api/v1/assignments/nope/decision",
			func(string) any { return map[string]string{"decision": "approve"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answer := func(path string) (int, map[string]any) {
				path, id, _ := strings.Cut(path, "#")
				var body any
				if tc.body != nil {
					body = tc.body(id)
				}
				status, b := tc.as.Do(tc.method, path, body)
				return status, problemOf(t, b)
			}
			hs, hp := answer(tc.hidden)
			ms, mp := answer(tc.absent)
			if hs != http.StatusNotFound || hs != ms || hp["field"] != mp["field"] ||
				quotedID.ReplaceAllString(hp["detail"].(string), "ID") != quotedID.ReplaceAllString(mp["detail"].(string), "ID") {
				t.Fatalf("hidden %d %v\nmissing %d %v\nwant the same 404", hs, hp, ms, mp)
			}
		})
	}
	if got, _ := e.Store.AssignmentByID(context.Background(), a.ID); got.State != domain.StatePendingApproval {
		t.Fatalf("state %s, want untouched", got.State)
	}
}

func TestLogoutEndsTheSessionThatAuthenticatedTheRequest(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	me := func(token string) int {
		return send(t, "GET", e.HTTP.URL+"/api/v1/me", "", "", map[string]string{"Authorization": "Bearer " + token}).status
	}
	cases := []struct {
		name          string
		method, path  string
		bearer        bool
		cookie        bool
		bearerEnds    bool
		cookieEnds    bool
		clearsCookies bool
	}{
		{"API: bearer and cookie ends the bearer", "DELETE", "/api/v1/session", true, true, true, false, false},
		{"API: cookie only ends the cookie", "DELETE", "/api/v1/session", false, true, false, true, true},
		{"API: bearer only ends the bearer", "DELETE", "/api/v1/session", true, false, true, false, false},
		{"page: cookie ends the cookie", "POST", "/logout", false, true, false, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.Login("admin@contoso.example").Token // the bearer
			b := e.Login("admin@contoso.example").Token // the cookie
			h := map[string]string{}
			if tc.bearer {
				h["Authorization"] = "Bearer " + a
			}
			if tc.cookie {
				h["Cookie"] = "pa_session=" + b
			}
			ctype := ""
			if tc.method == "POST" {
				ctype = formType
			}
			r := send(t, tc.method, e.HTTP.URL+tc.path, ctype, "", h)
			if r.status >= 400 {
				t.Fatalf("logout: %d %s", r.status, r.body)
			}
			if ended := me(a) == http.StatusUnauthorized; ended != tc.bearerEnds {
				t.Fatalf("bearer session ended: %v, want %v", ended, tc.bearerEnds)
			}
			if ended := me(b) == http.StatusUnauthorized; ended != tc.cookieEnds {
				t.Fatalf("cookie session ended: %v, want %v", ended, tc.cookieEnds)
			}
			if cleared := strings.Contains(r.header.Get("Set-Cookie"), "pa_session=;"); cleared != tc.clearsCookies {
				t.Fatalf("cookie cleared: %v (%q), want %v", cleared, r.header.Get("Set-Cookie"), tc.clearsCookies)
			}
		})
	}
}

func TestBidiAndFormatCharactersAreRefusedNamingTheField(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	admin := e.Login("admin@contoso.example")
	_, open, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "open one")
	e.ApprovalPath(open.ID, "admin@contoso.example") // its emails are out: counts settle
	e.ApprovalPath(open.ID, "ops@contoso.example")
	assign := "/api/v1/sites/" + demo.ContosoSite + "/assignments"
	bad := map[string]string{
		"RLO U+202E": "Case 1\u202Egpj.exe", "LRI U+2066": "a\u2066b", "zero width space U+200B": "a\u200Bb",
		"BOM U+FEFF": "\uFEFFcase", "line separator U+2028": "a\u2028b", "paragraph separator U+2029": "a\u2029b",
		"next line U+0085": "a\u0085b",
	}
	for name, text := range bad {
		cases := []struct {
			route  string
			as     *testenv.Session
			method string
			path   string
			body   any
			field  string
		}{
			{"assign reason", agent, "POST", assign, map[string]string{"user_id": demo.Agent, "role": store.RolePartnerConsultant, "reason": text}, "reason"},
			{"unassign reason", agent, "DELETE", "/api/v1/assignments/" + open.ID, map[string]string{"reason": text}, "reason"},
			{"customer user name", admin, "POST", "/api/v1/customers/" + demo.Contoso + "/users", map[string]any{"email": "new@contoso.example", "name": text}, "name"},
		}
		for _, tc := range cases {
			t.Run(tc.route+" with "+name, func(t *testing.T) {
				before := e.Counts()
				status, body := tc.as.Do(tc.method, tc.path, tc.body)
				p := problemOf(t, body)
				if status != http.StatusUnprocessableEntity || p["field"] != tc.field || !strings.Contains(p["detail"].(string), "U+") {
					t.Fatalf("%d %s, want 422 naming %s and the character", status, body, tc.field)
				}
				if after := e.Counts(); after != before {
					t.Fatalf("state changed: %+v -> %+v", before, after)
				}
			})
		}
	}
	t.Run("assign form", func(t *testing.T) {
		code, page, _ := agent.Form("/sites/"+demo.ContosoSite+"/assignments", map[string]string{"user_id": demo.Agent, "role": store.RolePartnerConsultant, "reason": "x\u202Ey"})
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(page), "202E") {
			t.Fatalf("form: %d\n%s", code, page)
		}
	})
}

func TestRefusalsOfLoggedInUsersAreAuditedWithTheirTenant(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "audit tenant")
	e.WaitState(a.ID, domain.StatePendingApproval, 10*time.Second)
	fabrikam := e.Login("admin@fabrikam.example")
	tailspin := e.Login("agent@tailspin.example")
	contoso := e.Login("admin@contoso.example")
	cases := []struct {
		name              string
		as                *testenv.Session
		do                func(s *testenv.Session) int
		status            int
		actor             string
		customer, partner string
	}{
		{"cross-tenant decision (API)", fabrikam, func(s *testenv.Session) int {
			c, _ := s.Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "approve"})
			return c
		}, 404, demo.FabrikamAdmin, demo.Fabrikam, ""},
		{"cross-tenant decision (page)", fabrikam, func(s *testenv.Session) int {
			c, _, _ := s.Form("/assignments/"+a.ID+"/decision", map[string]string{"decision": "approve"})
			return c
		}, 404, demo.FabrikamAdmin, demo.Fabrikam, ""},
		{"hidden customer's permission", tailspin, func(s *testenv.Session) int {
			c, _ := s.Do("PUT", "/api/v1/customers/"+demo.Contoso+"/partner-permission", nil)
			return c
		}, 404, demo.TailspinAgent, "", demo.Tailspin},
		{"hidden site", tailspin, func(s *testenv.Session) int {
			c, _, _ := s.Assign(demo.ContosoSite, demo.TailspinAgent, "", "probe")
			return c
		}, 404, demo.TailspinAgent, "", demo.Tailspin},
		{"bad decision value", contoso, func(s *testenv.Session) int {
			c, _ := s.Do("POST", "/api/v1/assignments/"+a.ID+"/decision", map[string]string{"decision": "maybe"})
			return c
		}, 400, demo.ContosoAdmin, demo.Contoso, ""},
		{"bidi name", contoso, func(s *testenv.Session) int {
			c, _ := s.Do("POST", "/api/v1/customers/"+demo.Contoso+"/users", map[string]any{"email": "n@contoso.example", "name": "a\u202eb"})
			return c
		}, 422, demo.ContosoAdmin, demo.Contoso, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows := auditCount(t, e)
			if got := tc.do(tc.as); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			es, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{Limit: 1_000_000})
			if len(es) != rows+1 {
				t.Fatalf("%d audit rows written, want exactly 1", len(es)-rows)
			}
			r := es[len(es)-1]
			if r.Outcome != store.OutcomeRefused || r.ActorID != tc.actor || r.CustomerID != tc.customer || r.PartnerID != tc.partner {
				t.Fatalf("row %+v, want a refusal by %s with customer %q partner %q", r, tc.actor, tc.customer, tc.partner)
			}
			if r.AssignmentID != "" && tc.customer != demo.Contoso {
				t.Fatalf("row names the hidden assignment in its columns: %+v", r)
			}
			_, body := tc.as.Do("GET", "/api/v1/audit?limit=1000", nil)
			if !strings.Contains(string(body), fmt.Sprintf(`"id":%d,`, r.ID)) {
				t.Fatalf("the tenant cannot read its own refusal row %d", r.ID)
			}
		})
	}

	t.Run("user.invited carries its tenant", func(t *testing.T) {
		if code, body := contoso.Do("POST", "/api/v1/customers/"+demo.Contoso+"/users", map[string]any{"email": "newbie@contoso.example", "name": "New Bie"}); code != http.StatusCreated {
			t.Fatalf("create: %d %s", code, body)
		}
		_, body := contoso.Do("GET", "/api/v1/audit?limit=1000", nil)
		if !regexp.MustCompile(`"action":"user.invited","outcome":"ok","customer_id":"contoso","partner_id":"northwind"`).Match(body) {
			t.Fatalf("user.invited without its tenant, or unreadable by it: %s", body)
		}
	})

	es, _ := e.Store.AuditLog(context.Background(), store.AuditFilter{Limit: 1_000_000})
	for _, r := range es {
		if r.CustomerID == "" && r.PartnerID == "" {
			t.Errorf("audit row without a tenant: %+v", r)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	agent := e.Login("agent@partner.example")
	auth := map[string]string{"Authorization": "Bearer " + agent.Token}
	cookie := map[string]string{"Cookie": "pa_session=" + agent.Token}
	cases := []struct {
		name         string
		method, path string
		ctype, body  string
		header       map[string]string
		status       int
		cache        string
	}{
		{"API JSON", "GET", "/api/v1/sites", "", "", auth, 200, "no-store"},
		{"API problem", "GET", "/api/v1/sites/nowhere", "", "", auth, 404, "no-store"},
		{"API login", "POST", "/api/v1/session", "application/json", jsonLogin("solo@partner.example", demo.Password), nil, 201, "no-store"},
		{"authenticated page", "GET", "/sites", "", "", cookie, 200, "no-store"},
		{"login page", "GET", "/login", "", "", nil, 200, "no-store"},
		{"approval page", "GET", "/approvals/" + strings.Repeat("A", 43), "", "", nil, 404, "no-store"},
		{"unknown route", "GET", "/nothing", "", "", nil, 404, "no-store"},
		{"wrong method", "PATCH", "/api/v1/sites", "", "", auth, 405, "no-store"},
		{"cross-origin refusal", "POST", "/logout", formType, "", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403, "no-store"},
		{"too large", "POST", "/login", formType, strings.Repeat("a", 70<<10), nil, 413, "no-store"},
		{"health", "GET", "/healthz", "", "", nil, 200, "no-store"},
		{"metrics", "GET", "/metrics", "", "", nil, 200, "no-store"},
		{"stylesheet", "GET", "/static/style.css", "", "", nil, 200, "public, max-age=3600"},
		{"HEAD of a page", "HEAD", "/login", "", "", nil, 200, "no-store"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, tc.method, e.HTTP.URL+tc.path, tc.ctype, tc.body, tc.header)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			want := map[string]string{
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
				"Content-Security-Policy": "default-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
				"Cache-Control":           tc.cache,
			}
			for k, v := range want {
				if got := r.header.Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHEADIsAnsweredOnGETRoutes(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	_, a, _ := agent.Assign(demo.ContosoSite, demo.Solo, "", "head")
	approval := e.ApprovalPath(a.ID, "admin@contoso.example")
	auth := map[string]string{"Authorization": "Bearer " + agent.Token}
	cookie := map[string]string{"Cookie": "pa_session=" + agent.Token}
	cases := []struct {
		path   string
		header map[string]string
		status int
	}{
		{"/healthz", nil, 200},
		{"/login", nil, 200},
		{"/static/style.css", nil, 200},
		{"/api/v1/sites", auth, 200},
		{"/api/v1/assignments/" + a.ID, auth, 200},
		{"/sites", cookie, 200},
		{"/sites/" + demo.ContosoSite, cookie, 200},
		{"/assignments/" + a.ID, cookie, 200},
		{approval, nil, 200},
		{"/sites", nil, 303},
		{"/api/v1/sites", nil, 401},
		{"/logout", cookie, 405}, // POST only
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			before := e.Counts()
			get := send(t, "GET", e.HTTP.URL+tc.path, "", "", tc.header)
			head := send(t, "HEAD", e.HTTP.URL+tc.path, "", "", tc.header)
			if head.status != tc.status || head.body != "" {
				t.Fatalf("HEAD: %d with %d body bytes, want %d and no body", head.status, len(head.body), tc.status)
			}
			if tc.status == 200 && (get.status != 200 || head.header.Get("Content-Type") != get.header.Get("Content-Type")) {
				t.Fatalf("HEAD Content-Type %q, GET %d %q", head.header.Get("Content-Type"), get.status, get.header.Get("Content-Type"))
			}
			// Emails are the workflow's, still going out; the rest must hold.
			if after := e.Counts(); after.Assignments != before.Assignments || after.Grants != before.Grants || after.AuditOK != before.AuditOK {
				t.Fatalf("HEAD changed state: %+v -> %+v", before, after)
			}
		})
	}
}

// Beyond loopback an administrator reads only the mail to its own
// organization's users: Adatum's administrator who asks a password reset
// for Contoso's cannot read the link and take the account over. The
// operator's token reads everything; so does everyone on loopback.
func TestMailboxBeyondLoopbackShowsAnAdministratorOnlyItsTenantsMail(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	const operator = "operator-test-token"
	admins := another(t, e, server.Config{DevMailbox: true, DevMailboxAdminsOnly: true, OperatorToken: operator}, service.Limits{})
	loopback := another(t, e, server.Config{DevMailbox: true}, service.Limits{})
	if r := send(t, "POST", admins+"/api/v1/password-reset", "application/json", `{"email":"admin@contoso.example"}`, nil); r.status != http.StatusAccepted {
		t.Fatalf("reset request: %d %s", r.status, r.body)
	}
	e.UserLink(domain.EmailPasswordReset, "admin@contoso.example", "/reset/") // emailed after the answer
	mailTo := func(base string, header map[string]string) (int, []string) {
		r := send(t, "GET", base+"/api/v1/dev/mail", "", "", header)
		var out struct {
			Messages []struct {
				To   string `json:"to"`
				Text string `json:"text"`
			} `json:"messages"`
		}
		json.Unmarshal([]byte(r.body), &out)
		var to []string
		for _, m := range out.Messages {
			if strings.Contains(m.Text, "/reset/") {
				to = append(to, m.To)
			}
		}
		return r.status, to
	}
	as := func(s *testenv.Session) map[string]string {
		return map[string]string{"Authorization": "Bearer " + s.Token}
	}

	adatum := e.Login("admin@adatum.example")
	if code, to := mailTo(admins, as(adatum)); code != http.StatusOK || len(to) != 0 {
		t.Fatalf("Adatum's administrator: %d, reads reset links to %v", code, to)
	}
	if code, to := mailTo(admins, as(e.Login("admin@contoso.example"))); code != http.StatusOK || len(to) != 1 || to[0] != "admin@contoso.example" {
		t.Fatalf("Contoso's administrator: %d, reset links to %v, want its own", code, to)
	}
	if code, to := mailTo(admins, map[string]string{"Authorization": "Bearer " + operator}); code != http.StatusOK || len(to) != 1 {
		t.Fatalf("the operator: %d, reset links to %v, want all", code, to)
	}
	if code, _ := mailTo(admins, map[string]string{"Authorization": "Bearer wrong-" + operator}); code != http.StatusUnauthorized {
		t.Fatalf("a wrong operator token: %d, want 401", code)
	}
	if code, to := mailTo(loopback, nil); code != http.StatusOK || len(to) != 1 {
		t.Fatalf("loopback: %d, reset links to %v", code, to)
	}
	// The page shows the same: Adatum's administrator sees no Contoso mail.
	r := send(t, "GET", admins+"/dev/mail", "", "", map[string]string{"Cookie": "pa_session=" + adatum.Token})
	if r.status != http.StatusOK || strings.Contains(r.body, "admin@contoso.example") {
		t.Fatalf("page for Adatum's administrator: %d, shows Contoso's mail: %v", r.status, strings.Contains(r.body, "admin@contoso.example"))
	}
}

// Others' failures never lock the owner out: after 1,000 failed logins
// from 50 addresses against one account, a browser that logged in to it
// before (its device cookie) still logs in, from yet another address, while
// an unknown device is slowed down.
func TestOwnersKnownDeviceLogsInThroughAFloodOfFailures(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	base := another(t, e, server.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, service.Limits{})
	const owner = "admin@contoso.example"
	login := func(pw, from, device string) reply {
		h := map[string]string{"X-Forwarded-For": from}
		if device != "" {
			h["Cookie"] = "pa_device=" + device
		}
		return send(t, "POST", base+"/api/v1/session", "application/json", jsonLogin(owner, pw), h)
	}
	first := login(demo.Password, "192.0.2.200", "")
	var device string
	for _, c := range (&http.Response{Header: first.header}).Cookies() {
		if c.Name == "pa_device" {
			device = c.Value
		}
	}
	if first.status != http.StatusCreated || device == "" {
		t.Fatalf("first login: %d, device cookie %q", first.status, device)
	}
	refused := 0
	for i := range 1000 {
		r := login("wrong", fmt.Sprintf("198.51.100.%d", i%50), "")
		switch r.status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("failed login %d: %d %s", i, r.status, r.body)
		}
	}
	if refused < 900 {
		t.Fatalf("only %d of 1,000 failed logins were slowed down", refused)
	}
	if r := login(demo.Password, "203.0.113.77", device); r.status != http.StatusCreated {
		t.Fatalf("the owner's known device: %d %s", r.status, r.body)
	}
	if r := login(demo.Password, "203.0.113.78", ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("an unknown device during the flood: %d, want 429", r.status)
	}
	forged := strings.Repeat("A", 43) + ".forged"
	if r := login(demo.Password, "203.0.113.79", forged); r.status != http.StatusTooManyRequests {
		t.Fatalf("a forged device cookie: %d, want 429 like an unknown device", r.status)
	}
}

// A reset request answers the same way, in the same time, whether the
// account exists or not: the lookup and the email come after the answer.
// The medians of 300 requests each, interleaved, are within 0.2 ms.
func TestPasswordResetTakesTheSameTimeForKnownAndUnknownAddresses(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	lots := ratelimit.Rule{Burst: 1 << 20, Every: time.Microsecond}
	base := another(t, e, server.Config{}, service.Limits{SelfServicePerClient: lots, SelfServicePerAccount: lots})
	client := &http.Client{}
	ask := func(email string) time.Duration {
		start := time.Now()
		resp, err := client.Post(base+"/api/v1/password-reset", "application/json", strings.NewReader(`{"email":"`+email+`"}`))
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: %d", email, resp.StatusCode)
		}
		return took
	}
	for range 20 { // warm up connections and caches
		ask("agent@partner.example")
		ask("nobody@partner.example")
	}
	var known, unknown []time.Duration
	for i := range 300 {
		known = append(known, ask("agent@partner.example"))
		unknown = append(unknown, ask(fmt.Sprintf("nobody%d@partner.example", i)))
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	k, u := median(known), median(unknown)
	t.Logf("median answer: known address %v, unknown %v", k, u)
	if d := k - u; d > 200*time.Microsecond || d < -200*time.Microsecond {
		t.Fatalf("medians differ by %v: known %v, unknown %v; want within 0.2 ms", d, k, u)
	}
}

// A reset asked in someone's name does not cancel the link the owner
// already has: both work until one is used, which voids the other.
func TestAnotherResetRequestLeavesTheEarlierLinkWorking(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	anon := e.Anonymous()
	anon.Do("POST", "/api/v1/password-reset", map[string]string{"email": "agent@partner.example"})
	first := e.UserLink(domain.EmailPasswordReset, "agent@partner.example", "/reset/")
	anon.Do("POST", "/api/v1/password-reset", map[string]string{"email": "agent@partner.example"})
	e.Eventually(10*time.Second, "a second reset email", func() bool {
		return len(e.Mail("", domain.EmailPasswordReset, "agent@partner.example")) == 2
	})
	second := e.UserLink(domain.EmailPasswordReset, "agent@partner.example", "/reset/")
	if first == second {
		t.Fatal("the same link twice")
	}
	const pw = "a walk by the quiet harbour"
	if code, body := anon.Do("POST", "/api/v1/password-reset/complete", map[string]string{"token": strings.TrimPrefix(first, "/reset/"), "password": pw}); code != http.StatusOK {
		t.Fatalf("the earlier link: %d %s", code, body)
	}
	if code, _ := anon.Do("POST", "/api/v1/password-reset/complete", map[string]string{"token": strings.TrimPrefix(second, "/reset/"), "password": pw + "!"}); code != http.StatusGone {
		t.Fatalf("the later link after the earlier was used: %d, want 410", code)
	}
}
