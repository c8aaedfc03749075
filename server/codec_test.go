package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/testenv"
	"github.com/partneraccess/partneraccess/internal/wire"
)

func codecCall(t *testing.T, url, path, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// The codec endpoint encrypts and decrypts in the Temporal UI's and CLI's
// shape; beyond loopback only the operator's token opens it; only the UI's
// origin may call it from a browser.
func TestCodecEndpoint(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	// "Case 4711" as a JSON payload, as the UI sends it.
	plain := `{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"IkNhc2UgNDcxMSI="}]}`
	res, enc := codecCall(t, e.HTTP.URL, "/codec/encode", plain, map[string]string{"Origin": testenv.TemporalUIURL})
	if res.StatusCode != http.StatusOK || strings.Contains(enc, "IkNhc2UgNDcxMSI=") || !strings.Contains(enc, "YmluYXJ5L2VuY3J5cHRlZA==") {
		t.Fatalf("encode: %d %s", res.StatusCode, enc)
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != testenv.TemporalUIURL {
		t.Fatalf("CORS for the UI's origin: %q", got)
	}
	res, dec := codecCall(t, e.HTTP.URL, "/codec/decode", enc, map[string]string{"Origin": "https://evil.example"})
	var out struct {
		Payloads []struct{ Data string } `json:"payloads"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(dec), &out) != nil || len(out.Payloads) != 1 || out.Payloads[0].Data != "IkNhc2UgNDcxMSI=" {
		t.Fatalf("decode: %d %s", res.StatusCode, dec)
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("CORS allowed another origin: %q", got)
	}
	pre, _ := http.NewRequest(http.MethodOptions, e.HTTP.URL+"/codec/decode", nil)
	pre.Header.Set("Origin", testenv.TemporalUIURL)
	pre.Header.Set("Access-Control-Request-Method", "POST")
	if r, err := http.DefaultClient.Do(pre); err != nil || r.StatusCode != http.StatusNoContent || !strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "X-Namespace") {
		t.Fatalf("preflight: %v %v", r, err)
	}

	// Beyond loopback: the operator's token, and nothing else.
	far := e.Another(func(h *wire.HTTP) { h.Server.CodecOpen, h.Server.OperatorToken = false, "operator-secret" })
	if res, body := codecCall(t, far, "/codec/decode", enc, nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: %d %s", res.StatusCode, body)
	}
	if res, _ := codecCall(t, far, "/codec/decode", enc, map[string]string{"Authorization": "Bearer wrong"}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("with a wrong token: %d", res.StatusCode)
	}
	if res, body := codecCall(t, far, "/codec/decode", enc, map[string]string{"Authorization": "Bearer operator-secret"}); res.StatusCode != http.StatusOK || !bytes.Contains([]byte(body), []byte("IkNhc2UgNDcxMSI=")) {
		t.Fatalf("with the operator's token: %d %s", res.StatusCode, body)
	}
}
