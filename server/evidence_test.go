package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

// reportJSON is one page of GET /api/v1/reports/access as a test reads it.
type reportJSON struct {
	Rows []map[string]any `json:"rows"`
	Next string           `json:"next"`
}

// reportRows reads every page of the JSON report with limit rows a page.
func reportRows(t *testing.T, s *testenv.Session, query url.Values, limit string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", limit)
	for pages := 0; ; pages++ {
		code, body := s.Do("GET", "/api/v1/reports/access?"+q.Encode(), nil)
		var page reportJSON
		if code != http.StatusOK || json.Unmarshal(body, &page) != nil {
			t.Fatalf("report: %d %s", code, body)
		}
		rows = append(rows, page.Rows...)
		if page.Next == "" {
			return rows
		}
		if pages > 100 {
			t.Fatal("the report's pages never end")
		}
		q.Set("after", page.Next)
	}
}

// reportCSV reads the CSV report as maps of column to cell.
func reportCSV(t *testing.T, s *testenv.Session, query url.Values) []map[string]string {
	t.Helper()
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("format", "csv")
	code, body := s.Do("GET", "/api/v1/reports/access?"+q.Encode(), nil)
	if code != http.StatusOK {
		t.Fatalf("csv: %d %s", code, body)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("csv: %v %q", err, body)
	}
	out := make([]map[string]string, 0, len(recs)-1)
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, col := range recs[0] {
			m[col] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// asCSV is a JSON row as the CSV writes it.
func asCSV(row map[string]any) map[string]string {
	m := map[string]string{}
	for k, v := range row {
		switch v := v.(type) {
		case string:
			m[k] = v
		case []any:
			ds := make([]string, len(v))
			for i, d := range v {
				d := d.(map[string]any)
				by := d["by"].(string)
				if e, _ := d["by_email"].(string); e != "" {
					by += " <" + e + ">"
				}
				ds[i] = d["decision"].(string) + " by " + by + " at " + d["at"].(string) + " via " + d["via"].(string)
				if d["request"] != "access" {
					ds[i] = d["request"].(string) + ": " + ds[i]
				}
			}
			m[k] = strings.Join(ds, "; ")
		}
	}
	return m
}

func TestReportEveryAssignmentWithDecisionsAndProofCSVEqualsJSONTenantsApart(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	agent := e.Login("agent@partner.example")
	// Contoso: one approved that expired, one denied; Fabrikam: Professional,
	// unassigned.
	expired := approvedStandard(t, e)
	_, denied, _ := agent.Assign(demo.ContosoSite, demo.Agent, store.RolePartnerConsultant, "Case 8002: denied")
	if code, _, _ := e.Anonymous().Form(e.ApprovalPath(denied.ID, "ops@contoso.example"), map[string]string{"decision": "deny"}); code != http.StatusOK {
		t.Fatalf("deny: %d", code)
	}
	_, pro, body := agent.Assign(demo.FabrikamSite, demo.Solo, "", "Case 8003: professional")
	if pro.ID == "" {
		t.Fatalf("assign: %s", body)
	}
	e.WaitState(pro.ID, domain.StateActive, 10*time.Second)
	if code, body := agent.Do("DELETE", "/api/v1/assignments/"+pro.ID, map[string]string{"reason": "done"}); code != http.StatusOK && code != http.StatusAccepted {
		t.Fatalf("unassign: %d %s", code, body)
	}
	for _, a := range []store.Assignment{expired, denied, pro} {
		e.WaitClosed(a)
	}
	period := url.Values{"from": {time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, "to": {time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}

	partner := e.Login("admin@partner.example")
	rows := reportRows(t, partner, period, "2") // 3 rows over 2 pages
	if len(rows) != 3 {
		t.Fatalf("the partner's report has %d rows, want 3: %v", len(rows), rows)
	}
	byID := map[string]map[string]any{}
	for _, r := range rows {
		byID[r["assignment_id"].(string)] = r
	}
	ex := byID[expired.ID]
	ds := ex["decisions"].([]any)
	if ex["reason"] != "Case 4711: upgrade" || ex["requested_by"] != "Alex Agent" || ex["user"] != "Sam Solo" ||
		ex["site"] != "Contoso Sage 200 Standard" || ex["customer"] != "Contoso" || ex["partner"] != "Northwind Partners" ||
		ex["ended"] != domain.StateExpired || ex["active_from"] == nil || ex["active_until"] == nil ||
		ex["revocation_proven_at"] == nil || ex["revocation_took_seconds"] == nil || len(ds) != 1 {
		t.Fatalf("expired row: %v", ex)
	}
	if d := ds[0].(map[string]any); d["decision"] != "approved" || d["by"] != "Casey Contoso" || d["by_email"] != "admin@contoso.example" || d["via"] != "email" {
		t.Fatalf("decision: %v", d)
	}
	dn := byID[denied.ID]
	if d := dn["decisions"].([]any); len(d) != 1 || d[0].(map[string]any)["decision"] != "denied" || d[0].(map[string]any)["by"] != "Olive Ops" ||
		dn["ended"] != domain.StateDenied || dn["active_from"] != nil || dn["revocation_proven_at"] != nil {
		t.Fatalf("denied row: %v", dn)
	}
	if p := byID[pro.ID]; p["ended"] != domain.StateRevoked || p["ended_by"] == "" || len(p["decisions"].([]any)) != 0 {
		t.Fatalf("professional row: %v", p)
	}
	// The page shows the same: the assignment page's end and revocation.
	if got := getAssignment(t, partner, expired.ID); got.EndedAt == nil || !got.EndedAt.Truncate(time.Second).Equal(mustTime(t, ex["ended_at"])) {
		t.Fatalf("ended_at %v on the page, %v in the report", got.EndedAt, ex["ended_at"])
	}

	// CSV and JSON hold the same rows, in the same order.
	csvRows := reportCSV(t, partner, period)
	if len(csvRows) != len(rows) {
		t.Fatalf("csv %d rows, json %d", len(csvRows), len(rows))
	}
	for i := range rows {
		want := asCSV(rows[i])
		for col, cell := range csvRows[i] {
			if want[col] != cell {
				t.Fatalf("row %d column %s: csv %q, json %q", i, col, cell, want[col])
			}
		}
	}

	// Each customer sees its own rows only; another partner none.
	for who, want := range map[string][]string{
		"admin@contoso.example":  {expired.ID, denied.ID},
		"viewer@contoso.example": {expired.ID, denied.ID},
		"admin@fabrikam.example": {pro.ID},
		"agent@tailspin.example": nil,
		"admin@adatum.example":   nil,
	} {
		s := e.Login(who)
		var got []string
		for _, r := range reportRows(t, s, period, "500") {
			got = append(got, r["assignment_id"].(string))
		}
		var gotCSV []string
		for _, r := range reportCSV(t, s, period) {
			gotCSV = append(gotCSV, r["assignment_id"])
		}
		slices.Sort(got)
		slices.Sort(gotCSV)
		slices.Sort(want)
		if !slices.Equal(got, want) || !slices.Equal(gotCSV, want) {
			t.Fatalf("%s sees %v (csv %v), want %v", who, got, gotCSV, want)
		}
	}
	// A period before it all has none.
	if rows := reportRows(t, partner, url.Values{"to": {time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}, "500"); len(rows) != 0 {
		t.Fatalf("rows before anything happened: %v", rows)
	}
}

func mustTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return at.Truncate(time.Second)
}

func TestReportAndEventsRefuseBadInputChangingNothing(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	s := e.Login("admin@contoso.example")
	before := e.Counts()
	for _, tc := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=2026-13-01", "to"},
		{"from=2026-12-02&to=2026-12-01", "from"},
		{"format=xml", "format"},
		{"after=!!", "after"},
		{"after=bm9wZQ", "after"},
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"format=csv&after=x", "after"},
	} {
		code, body := s.Do("GET", "/api/v1/reports/access?"+tc.query, nil)
		if code != http.StatusBadRequest || !strings.Contains(string(body), `"field":"`+tc.field+`"`) {
			t.Errorf("report ?%s: %d %s", tc.query, code, body)
		}
	}
	for _, q := range []string{"after=-1", "after=x", "limit=1001", "limit=-3"} {
		if code, body := s.Do("GET", "/api/v1/events?"+q, nil); code != http.StatusBadRequest {
			t.Errorf("events ?%s: %d %s", q, code, body)
		}
	}
	if code, _ := e.Anonymous().Do("GET", "/api/v1/reports/access", nil); code != http.StatusUnauthorized {
		t.Errorf("report without a login: %d", code)
	}
	if code, _ := e.Anonymous().Do("GET", "/api/v1/events", nil); code != http.StatusUnauthorized {
		t.Errorf("events without a login: %d", code)
	}
	if after := e.Counts(); after != before {
		t.Fatalf("bad input changed %+v into %+v", before, after)
	}
}

// eventsJSON is GET /api/v1/events as a test reads it.
type eventsJSON struct {
	Events []struct {
		SpecVersion string `json:"specversion"`
		ID          string `json:"id"`
		Source      string `json:"source"`
		Type        string `json:"type"`
		Time        string `json:"time"`
		Subject     string `json:"subject"`
		Data        struct {
			Action       string `json:"action"`
			AssignmentID string `json:"assignment_id"`
			CustomerID   string `json:"customer_id"`
			PartnerID    string `json:"partner_id"`
		} `json:"data"`
	} `json:"events"`
	Next string `json:"next"`
}

func TestEventsFeedInOrderForTheReadersOrganizationOnly(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	a := approvedStandard(t, e)
	e.WaitClosed(e.WaitState(a.ID, domain.StateExpired, 20*time.Second))
	read := func(s *testenv.Session, limit string) (all eventsJSON) {
		t.Helper()
		after := ""
		for pages := 0; pages < 100; pages++ {
			code, body := s.Do("GET", "/api/v1/events?limit="+limit+"&after="+after, nil)
			var page eventsJSON
			if code != http.StatusOK || json.Unmarshal(body, &page) != nil {
				t.Fatalf("events: %d %s", code, body)
			}
			all.Events = append(all.Events, page.Events...)
			if len(page.Events) == 0 {
				if page.Next != after && after != "" {
					t.Fatalf("an empty page moved the cursor from %s to %s", after, page.Next)
				}
				return all
			}
			after = page.Next
		}
		t.Fatal("the feed never ends")
		return all
	}
	contoso := read(e.Login("admin@contoso.example"), "3")
	var actions []string
	last := ""
	for _, ev := range contoso.Events {
		if ev.SpecVersion != "1.0" || ev.Type != "partneraccess."+ev.Data.Action || ev.Source == "" || ev.Time == "" {
			t.Fatalf("event %+v", ev)
		}
		if ev.Data.CustomerID != demo.Contoso {
			t.Fatalf("Contoso read another tenant's event: %+v", ev)
		}
		if last != "" && len(ev.ID) <= len(last) && ev.ID <= last {
			t.Fatalf("event %s after %s", ev.ID, last)
		}
		last = ev.ID
		if ev.Data.AssignmentID == a.ID {
			actions = append(actions, ev.Data.Action)
			if ev.Subject != "assignments/"+a.ID {
				t.Fatalf("subject %q", ev.Subject)
			}
		}
	}
	want := []string{string(domain.ActionAssignmentRequested), string(domain.ActionAssignmentApproved), string(domain.ActionAccessExpired)}
	for _, w := range want {
		if !slices.Contains(actions, w) {
			t.Fatalf("no %s in %v", w, actions)
		}
	}
	// Fabrikam sees none of it; the partner sees the assignment too.
	for _, ev := range read(e.Login("admin@fabrikam.example"), "1000").Events {
		if ev.Data.AssignmentID == a.ID || ev.Data.CustomerID == demo.Contoso {
			t.Fatalf("Fabrikam read Contoso's event %+v", ev)
		}
	}
	seen := false
	for _, ev := range read(e.Login("agent@partner.example"), "1000").Events {
		seen = seen || ev.Data.AssignmentID == a.ID
		if ev.Data.PartnerID != demo.Northwind {
			t.Fatalf("Northwind read another partner's event %+v", ev)
		}
	}
	if !seen {
		t.Fatal("the partner does not see its own assignment's events")
	}
	for _, ev := range read(e.Login("agent@tailspin.example"), "1000").Events {
		if ev.Data.PartnerID != demo.Tailspin {
			t.Fatalf("Tailspin read %+v", ev)
		}
	}
}

func TestWebhooksAPIAdministratorsOnlyBadInputChangesNothing(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	admin := e.Login("admin@contoso.example")
	count := func() int {
		t.Helper()
		code, body := admin.Do("GET", "/api/v1/webhooks", nil)
		var l struct {
			Webhooks []map[string]any `json:"webhooks"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &l) != nil {
			t.Fatalf("list: %d %s", code, body)
		}
		for _, w := range l.Webhooks {
			if _, ok := w["secret"]; ok {
				t.Fatalf("the list shows a secret: %v", w)
			}
		}
		return len(l.Webhooks)
	}
	for _, tc := range []struct {
		who    string
		body   any
		status int
	}{
		{"ops@contoso.example", map[string]any{"url": "https://siem.example/hook"}, http.StatusForbidden},
		{"agent@partner.example", map[string]any{"url": "https://siem.example/hook"}, http.StatusForbidden},
		{"admin@contoso.example", map[string]any{"url": "http://siem.example/hook"}, http.StatusBadRequest},
		{"admin@contoso.example", map[string]any{"url": "ftp://siem.example/hook"}, http.StatusBadRequest},
		{"admin@contoso.example", map[string]any{"url": "https://user:pw@siem.example/hook"}, http.StatusBadRequest},
		{"admin@contoso.example", map[string]any{"url": "siem.example"}, http.StatusBadRequest},
		{"admin@contoso.example", map[string]any{"url": "https://siem.example/hook", "events": []string{"Assignment Approved"}}, http.StatusBadRequest},
		{"admin@contoso.example", map[string]any{"url": "https://siem.example/hook", "secret": "whsec_mine"}, http.StatusBadRequest},
		{"admin@contoso.example", map[string]any{}, http.StatusBadRequest},
	} {
		if code, body := e.Login(tc.who).Do("POST", "/api/v1/webhooks", tc.body); code != tc.status {
			t.Errorf("%s %v: %d %s, want %d", tc.who, tc.body, code, body, tc.status)
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("refusals registered %d webhooks", n)
	}
	code, body := admin.Do("POST", "/api/v1/webhooks", map[string]any{"url": "https://siem.example/hook?token=abc", "events": []string{"partneraccess.assignment.approved", "access.*"}})
	var w struct {
		ID, Secret string
		Events     []string
	}
	if code != http.StatusCreated || json.Unmarshal(body, &w) != nil || !strings.HasPrefix(w.Secret, "whsec_") ||
		!slices.Equal(w.Events, []string{"partneraccess.assignment.approved", "partneraccess.access.*"}) {
		t.Fatalf("create: %d %s", code, body)
	}
	stored, err := e.Store.WebhookByID(t.Context(), w.ID)
	if err != nil || bytes.Contains(stored.SecretSealed, []byte(strings.TrimPrefix(w.Secret, "whsec_"))) || stored.SecretSealed == nil {
		t.Fatalf("stored secret: %v %q", err, stored.SecretSealed)
	}
	log, _ := e.Store.AuditLog(t.Context(), store.AuditFilter{CustomerID: demo.Contoso, Limit: 1000})
	for _, l := range log {
		if strings.Contains(l.Detail, "token=abc") || strings.Contains(l.Detail, w.Secret) {
			t.Fatalf("the audit log holds the url's token or the secret: %s", l.Detail)
		}
	}
	if count() != 1 {
		t.Fatal("not listed")
	}
	// Another tenant's administrator finds nothing there.
	fab := e.Login("admin@fabrikam.example")
	for _, req := range [][2]string{{"DELETE", "/api/v1/webhooks/" + w.ID}, {"GET", "/api/v1/webhooks/" + w.ID + "/deliveries"}, {"POST", "/api/v1/webhooks/" + w.ID + "/resume"}} {
		if code, body := fab.Do(req[0], req[1], nil); code != http.StatusNotFound {
			t.Fatalf("%s %s by Fabrikam: %d %s", req[0], req[1], code, body)
		}
	}
	if code, body := admin.Do("GET", "/api/v1/webhooks/"+w.ID+"/deliveries?before=x", nil); code != http.StatusBadRequest {
		t.Fatalf("bad before: %d %s", code, body)
	}
	if code, body := admin.Do("GET", "/api/v1/webhooks/"+w.ID+"/deliveries", nil); code != http.StatusOK || !strings.Contains(string(body), `"deliveries":[]`) {
		t.Fatalf("deliveries: %d %s", code, body)
	}
	if code, _ := admin.Do("DELETE", "/api/v1/webhooks/"+w.ID, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := admin.Do("DELETE", "/api/v1/webhooks/"+w.ID, nil); code != http.StatusNotFound {
		t.Fatalf("delete again: %d", code)
	}
	if count() != 0 {
		t.Fatal("still listed")
	}
}

func TestAuditPageOffersTheReport(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	code, page := e.Login("viewer@contoso.example").Page("/audit")
	if code != http.StatusOK || !strings.Contains(page, `action="/api/v1/reports/access"`) || !strings.Contains(page, `value="csv"`) {
		t.Fatalf("audit page: %d %s", code, page)
	}
}
