// Package apicheck holds the JSON API to its OpenAPI document: it checks
// real responses against it. Tests wrap their HTTP clients with Transport,
// so every answer an integration test gets is checked.
package apicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/partneraccess/partneraccess/docs"
)

// Prefix is where the API lives; other paths (pages, /metrics) are not
// checked.
const Prefix = "/api/v1/"

var router = sync.OnceValues(func() (routers.Router, error) {
	doc, err := docs.OpenAPI()
	if err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc)
})

// Response checks one exchange: the route is documented for the method,
// and the status, content type and body are what the document says.
func Response(req *http.Request, status int, header http.Header, body []byte) error {
	r, err := router()
	if err != nil {
		return err
	}
	route, params, err := r.FindRoute(req)
	if err != nil && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(header.Get("Content-Type"), "application/problem+json") {
		return Refusal(status, body) // not in the document, and the server agrees: it has no such route
	}
	if err != nil {
		return fmt.Errorf("%s %s is not in the OpenAPI document: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d, which the OpenAPI document does not allow: %w\nbody: %.500s",
			req.Method, req.URL.Path, status, err, body)
	}
	if err := Refusal(status, body); err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// Refusal checks that an answer of status 400 or more names its rule, with
// the type that links to it, or has the type about:blank and a status that
// the rules document lists as breaking no rule (docs.Unruled).
func Refusal(status int, body []byte) error {
	if status < 400 {
		return nil
	}
	var p struct {
		Type, Rule string
		Status     int
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Status != status {
		return fmt.Errorf("answered %d without problem details: %.200s", status, body)
	}
	switch {
	case p.Rule != "" && p.Type != docs.RuleURL(p.Rule):
		return fmt.Errorf("answered %d under %s with the type %q, not %q", status, p.Rule, p.Type, docs.RuleURL(p.Rule))
	case p.Rule == "" && p.Type != "about:blank":
		return fmt.Errorf("answered %d with no rule and the undocumented type %q", status, p.Type)
	case p.Rule == "" && docs.Unruled[status] == "":
		return fmt.Errorf("answered %d with no rule, a status the rules document does not list as breaking no rule: %.200s", status, body)
	}
	return nil
}

// Transport checks every API response that passes through it and reports
// what does not match to Fail; the response goes on unchanged.
type Transport struct {
	Base http.RoundTripper // nil: http.DefaultTransport
	Fail func(error)
}

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || req.Method == http.MethodHead || !strings.HasPrefix(req.URL.Path, Prefix) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := Response(req, resp.StatusCode, resp.Header, body); err != nil {
		t.Fail(err)
	}
	return resp, nil
}
