package apicheck

import (
	"net/http"
	"strings"
	"testing"
)

// TestResponseCatchesWhatTheDocumentDoesNotAllow: the checker is only worth
// having if it fails on a wrong answer.
func TestResponseCatchesWhatTheDocumentDoesNotAllow(t *testing.T) {
	json := http.Header{"Content-Type": []string{"application/json"}}
	problem := http.Header{"Content-Type": []string{"application/problem+json"}}
	get := func(path string) *http.Request {
		r, _ := http.NewRequest("GET", "http://127.0.0.1:8080"+path, nil)
		return r
	}
	cases := []struct {
		name    string
		req     *http.Request
		status  int
		header  http.Header
		body    string
		wantErr string
	}{
		{"a right answer", get("/api/v1/access?site=s&user=u"), 200, json, `{"allowed":false,"site":"s","user":"u"}`, ""},
		{"a required field missing", get("/api/v1/access?site=s&user=u"), 200, json, `{"site":"s","user":"u"}`, "allowed"},
		{"a field of the wrong type", get("/api/v1/access?site=s&user=u"), 200, json, `{"allowed":"yes","site":"s","user":"u"}`, "allowed"},
		{"a state outside the list", get("/api/v1/assignments/a1"), 200, json,
			`{"id":"a1","workflow_id":"w","site_id":"s","site_name":"S","customer_id":"c","customer_name":"C","partner_id":"p","partner_user_id":"u","partner_user_name":"U","partner_user_email":"u@x","role":"r","reason":"x","edition":"standard","state":"sleeping","requested_by":"u","requested_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-25T10:00:00Z"}`,
			"state"},
		{"a problem that is not one", get("/api/v1/me"), 401, problem, `{"error":"no"}`, "detail"},
		{"a route the document lacks", get("/api/v1/me/secrets"), 200, json, `{}`, "not in the OpenAPI document"},
		{"a route nobody has, answered 404", get("/api/v1/nothing"), 404, problem, `{"type":"about:blank","title":"Not Found","status":404,"detail":"no such route"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Response(tc.req, tc.status, tc.header, []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want no error, got %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error naming %q, got %v", tc.wantErr, err)
			}
		})
	}
}

// Every refusal names its rule, linked by its type, or breaks no rule with
// a status the rules document explains.
func TestRefusalNamesItsRuleOrADocumentedStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		ok     bool
	}{
		{409, `{"type":"/docs/rules#r4","status":409,"rule":"R4"}`, true},
		{409, `{"type":"about:blank","status":409,"rule":"R4"}`, false},
		{404, `{"type":"about:blank","status":404}`, true},
		{418, `{"type":"about:blank","status":418}`, false},
		{400, `{"type":"/docs/elsewhere","status":400}`, false},
		{400, `not json`, false},
		{200, `{}`, true},
	} {
		if err := Refusal(tc.status, []byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("%d %s: %v, want ok=%v", tc.status, tc.body, err, tc.ok)
		}
	}
}
