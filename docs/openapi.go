package docs

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var openAPIYAML []byte

// Where the service serves the API's description.
const (
	OpenAPIPath      = "/api/v1/openapi.json"
	APIReferencePath = "/docs/api"
)

// OpenAPI is the OpenAPI 3.1 document of the JSON API, loaded and checked.
var OpenAPI = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
})

// OpenAPIJSON is the document as JSON, as /api/v1/openapi.json serves it.
var OpenAPIJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

// Operation is one operation of the API as the reference page shows it.
type Operation struct {
	Method, Path, Summary, Description string
	Params                             []Field
	Body                               []Field
	Responses                          []Response
	Anonymous                          bool // needs no login
}

// Field is a parameter or a property of a request body.
type Field struct {
	Name, In, Type, Description string
	Required                    bool
}

// Response is one documented answer.
type Response struct{ Status, Description string }

// Operations lists the API's operations in path order, for the reference
// page.
func Operations() ([]Operation, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	var ops []Operation
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			o := Operation{Method: method, Path: path, Summary: op.Summary, Description: op.Description,
				Anonymous: op.Security != nil && len(*op.Security) == 0}
			for _, p := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
				o.Params = append(o.Params, Field{Name: p.Value.Name, In: p.Value.In, Required: p.Value.Required,
					Type: typeName(p.Value.Schema), Description: p.Value.Description})
			}
			if op.RequestBody != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					s := mt.Schema.Value
					for _, name := range sortedProps(s) {
						prop := s.Properties[name]
						o.Body = append(o.Body, Field{Name: name, In: "body", Type: typeName(prop),
							Required: contains(s.Required, name), Description: prop.Value.Description})
					}
				}
			}
			for status, r := range op.Responses.Map() {
				if status == "default" {
					continue
				}
				desc := ""
				if r.Value.Description != nil {
					desc = *r.Value.Description
				}
				o.Responses = append(o.Responses, Response{Status: status, Description: desc})
			}
			sort.Slice(o.Responses, func(i, j int) bool { return o.Responses[i].Status < o.Responses[j].Status })
			ops = append(ops, o)
		}
	}
	order := map[string]int{"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return order[ops[i].Method] < order[ops[j].Method]
	})
	return ops, nil
}

func typeName(s *openapi3.SchemaRef) string {
	if s == nil || s.Value == nil {
		return ""
	}
	if len(s.Value.Enum) > 0 {
		vals := make([]string, len(s.Value.Enum))
		for i, v := range s.Value.Enum {
			vals[i] = fmt.Sprint(v)
		}
		return "one of: " + strings.Join(vals, ", ")
	}
	if s.Value.Type != nil && s.Value.Type.Is("array") && s.Value.Items != nil {
		return "array of " + typeName(s.Value.Items)
	}
	if s.Value.Type != nil {
		return strings.Join(s.Value.Type.Slice(), " or ")
	}
	return ""
}

func sortedProps(s *openapi3.Schema) []string {
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
