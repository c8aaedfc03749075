package app

import (
	"net"
	"strings"
	"testing"
)

// Listening on every interface, the banner names addresses people can
// open, never http://[::]:8090.
func TestListenedURLsOfEveryInterfaceAreAddressesOfThisMachine(t *testing.T) {
	for _, host := range []string{"::", "0.0.0.0"} {
		urls := listenedURLs("http", &net.TCPAddr{IP: net.ParseIP(host), Port: 8090})
		if len(urls) == 0 {
			t.Fatalf("%s: no URL", host)
		}
		loopback := false
		for _, u := range urls {
			if strings.Contains(u, "[::]") || strings.Contains(u, "0.0.0.0") || !strings.HasSuffix(u, ":8090") {
				t.Errorf("%s: %q is not an address of this machine", host, u)
			}
			loopback = loopback || u == "http://127.0.0.1:8090"
		}
		if !loopback {
			t.Errorf("%s: %v lacks http://127.0.0.1:8090", host, urls)
		}
	}
	if got := listenedURLs("https", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}); len(got) != 1 || got[0] != "https://127.0.0.1:8443" {
		t.Errorf("loopback: %v", got)
	}
}

// Without PUBLIC_URL, links start with an address another machine can
// open: the first that is not loopback.
func TestDefaultPublicURLIsAnAddressOthersReach(t *testing.T) {
	for _, tc := range []struct {
		listening []string
		want      string
	}{
		{[]string{"http://127.0.0.1:8090", "http://10.0.0.5:8090", "http://[::1]:8090"}, "http://10.0.0.5:8090"},
		{[]string{"http://127.0.0.1:8080"}, "http://127.0.0.1:8080"},
		{[]string{"https://[::1]:8443", "https://[fd00::2]:8443"}, "https://[fd00::2]:8443"},
	} {
		if got := defaultPublicURL(tc.listening); got != tc.want {
			t.Errorf("defaultPublicURL(%v) = %q, want %q", tc.listening, got, tc.want)
		}
	}
}
