package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/testenv"
)

// No caller grows /metrics: 2,000 requests, each with a made-up method and
// half of them at a made-up path, add a few series, not thousands.
func TestMadeUpMethodsAndPathsLeaveMetricsWithinAFewKB(t *testing.T) {
	e := testenv.New(t, testenv.Options{NoWorker: true})
	before := send(t, "GET", e.HTTP.URL+"/metrics", "", "", nil).body
	client := &http.Client{}
	for i := range 2000 {
		path := "/api/v1/sites"
		if i%2 == 1 {
			path = fmt.Sprintf("/made-up/%d", i)
		}
		req, err := http.NewRequest(fmt.Sprintf("BREW%d", i), e.HTTP.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s %s: %d", req.Method, path, resp.StatusCode)
		}
	}
	after := send(t, "GET", e.HTTP.URL+"/metrics", "", "", nil).body
	t.Logf("/metrics: %d bytes before 2,000 made-up methods, %d after (+%d)", len(before), len(after), len(after)-len(before))
	if grew := len(after) - len(before); grew > 8<<10 {
		t.Fatalf("/metrics grew by %d bytes, want at most 8 KB", grew)
	}
	for _, want := range []string{`method="other",route="unmatched",status="404"`, `method="other",route="unmatched",status="405"`} {
		if !strings.Contains(after, want) {
			t.Errorf("/metrics has no series with %s", want)
		}
	}
	for _, leak := range []string{"BREW", "/made-up/"} {
		if strings.Contains(after, leak) {
			t.Errorf("/metrics names the caller's %q", leak)
		}
	}
}
