package docs

import (
	"encoding/json"
	"testing"
)

func TestOpenAPIDocumentLoadsAndValidates(t *testing.T) {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	raw, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil || back["openapi"] != "3.1.0" || back["paths"] == nil {
		t.Fatalf("JSON form: %v %.200s", err, raw)
	}
	ops, err := Operations()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, o := range ops {
		if o.Summary == "" || len(o.Responses) == 0 {
			t.Errorf("%s %s has no summary or no documented response", o.Method, o.Path)
		}
		seen[o.Method+" "+o.Path] = true
	}
	if !seen["POST /api/v1/sites/{site}/assignments"] || !seen["GET /api/v1/access"] {
		t.Fatalf("operations: %v", seen)
	}
}
