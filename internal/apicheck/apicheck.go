// Package apicheck holds the JSON API to its OpenAPI document: it checks
// real responses against it. Tests wrap their HTTP clients with Transport,
// so every answer an integration test gets is checked.
package apicheck

import (
	"bytes"
	"context"
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
		return nil // not in the document, and the server agrees: it has no such route
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
