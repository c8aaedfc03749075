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
