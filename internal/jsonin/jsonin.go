// Package jsonin decodes request bodies strictly: one JSON object, no
// unknown fields, with errors that name the field at fault.
package jsonin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/partneraccess/partneraccess/internal/problem"
)

// DecodeStrict decodes exactly one JSON value with no unknown fields, with
// messages that name the field at fault.
func DecodeStrict(body []byte, v any) error {
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] != '{' {
		return problem.Invalid("", "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return problem.Invalid("", "the body is empty; send a JSON object")
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
			return problem.Invalid("", "the body is not valid JSON")
		case errors.As(err, &typ):
			return problem.Invalid(typ.Field, "%s must be a %s", fieldName(typ.Field), typ.Type.String())
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return problem.Invalid(f, "unknown field %q", f)
		}
		return problem.Invalid("", "the body is not valid JSON: %v", err)
	}
	// Anything after the object, even a stray "}", is refused.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem.Invalid("", "the body must hold one JSON object only")
	}
	return nil
}

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}
