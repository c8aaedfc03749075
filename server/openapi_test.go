package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/docs"
	"github.com/partneraccess/partneraccess/internal/testenv"
)

var ginParam = regexp.MustCompile(`:([a-z_]+)`)

// TestEveryAPIRouteIsDocumented holds the routes the server registers and
// the operations of the OpenAPI document to each other, both ways.
func TestEveryAPIRouteIsDocumented(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	doc, err := docs.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range e.Server.Router().Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") && !strings.HasPrefix(r.Path, "/integrations/") || r.Method == http.MethodHead {
			continue
		}
		registered[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, stale []string
	for op := range registered {
		if !documented[op] {
			missing = append(missing, op)
		}
	}
	for op := range documented {
		if !registered[op] {
			stale = append(stale, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 || len(stale) > 0 {
		t.Fatalf("routes not in docs/openapi.yaml: %v\ndocumented but not served: %v", missing, stale)
	}
	if len(registered) < 15 {
		t.Fatalf("only %d API routes found; the route list is not what this test expects", len(registered))
	}
}

func TestTheAPIDescribesItself(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	anon := e.Anonymous()
	status, body := anon.Do("GET", docs.OpenAPIPath, nil)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); status != http.StatusOK || err != nil || doc.OpenAPI != "3.1.0" || doc.Paths["/api/v1/sites/{site}/assignments"] == nil {
		t.Fatalf("GET %s: %d %v %.300s", docs.OpenAPIPath, status, err, body)
	}
	status, page := anon.Page(docs.APIReferencePath)
	mustContain(t, "the API reference", page, "API reference", `id="post-api-v1-sites-site-assignments"`,
		"<code>user_id</code>", "Assign a partner user to the site", docs.OpenAPIPath)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d", docs.APIReferencePath, status)
	}
	// /api/v1 itself points to both, instead of a bare 404.
	status, body = anon.Do("GET", "/api/v1", nil)
	if status != http.StatusOK || !strings.Contains(string(body), docs.OpenAPIPath) || !strings.Contains(string(body), docs.APIReferencePath) {
		t.Fatalf("GET /api/v1: %d %s", status, body)
	}
}
