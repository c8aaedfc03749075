package jsonin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/problem"
)

func FuzzDecodeStrict(f *testing.F) {
	f.Add([]byte(`{"user_id":"northwind-solo","role":"Partner Support Agent","reason":"case 1"}`))
	f.Add([]byte(`{"user_id":1}`))
	f.Add([]byte(`{"x":1}`))
	f.Add([]byte(`{}{}`))
	f.Add([]byte(`[`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req struct {
			UserID string `json:"user_id"`
			Role   string `json:"role"`
			Reason string `json:"reason"`
		}
		err := DecodeStrict(body, &req)
		if err == nil {
			// Whatever was accepted must be one valid JSON object with known fields only.
			var m map[string]any
			if json.Unmarshal(body, &m) != nil {
				t.Fatalf("accepted %q, which is not a JSON object", body)
			}
			for k := range m {
				if !strings.EqualFold(k, "user_id") && !strings.EqualFold(k, "role") && !strings.EqualFold(k, "reason") {
					t.Fatalf("accepted unknown field %q", k)
				}
			}
			return
		}
		p := problem.As(err)
		if p == nil || p.Kind != problem.KindInvalid || p.Detail == "" {
			t.Fatalf("error %v is not a clear invalid-input problem", err)
		}
	})
}
