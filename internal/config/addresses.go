package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// checkAddresses checks where this process listens and what it talks to:
// HTTP, Temporal, the database and the public URL.
func (c *Config) checkAddresses(get getter, bad reporter) {
	mode := c.Mode
	var err error
	embedded := mode == ModeTemporal || (mode == ModeAll && c.TemporalAddress == "")
	if mode == ModeAll || mode == ModeServer {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("HTTP_ADDR", "%q is not host:port", c.HTTPAddr)
		}
		c.checkHTTPTLS(bad)
	}
	if mode == ModeWorker {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr != "" && err != nil {
			bad("METRICS_ADDR", "%q is not host:port", c.MetricsAddr)
		}
	}
	if c.DataDir == "" {
		bad("DATA_DIR", "must not be empty")
	}
	if c.TemporalAddress == "" && (mode == ModeWorker || mode == ModeServer) {
		bad("TEMPORAL_ADDRESS", "is required for %q: the frontend of your Temporal cluster, e.g. temporal:7233", mode)
	}
	if c.TemporalAddress != "" && mode != ModeTemporal {
		if _, _, err := net.SplitHostPort(c.TemporalAddress); err != nil {
			bad("TEMPORAL_ADDRESS", "%q is not host:port", c.TemporalAddress)
		}
	}
	if embedded {
		if _, _, err := net.SplitHostPort(c.EmbeddedFrontend); err != nil {
			bad("TEMPORAL_FRONTEND_ADDR", "%q is not host:port", c.EmbeddedFrontend)
		}
		if _, _, err := net.SplitHostPort(c.TemporalUIAddr); c.TemporalUIAddr != "" && err != nil {
			bad("TEMPORAL_UI_ADDR", "%q is not host:port", c.TemporalUIAddr)
		}
		if v := get("TEMPORAL_PORTS"); v != "" {
			ps, err := PortRange(v, 7)
			if err != nil {
				bad("TEMPORAL_PORTS", "%v", err)
			}
			c.TemporalPorts = ps
			// The range must leave the service's other ports alone, or the
			// start would fail later on a port "in use" by itself.
			for _, other := range []struct{ name, addr string }{{"TEMPORAL_FRONTEND_ADDR", c.EmbeddedFrontend},
				{"TEMPORAL_UI_ADDR", c.TemporalUIAddr}, {"HTTP_ADDR", c.HTTPAddr}} {
				_, port, _ := net.SplitHostPort(other.addr)
				if n, err := strconv.Atoi(port); err == nil && slices.Contains(ps, n) {
					bad("TEMPORAL_PORTS", "%q holds %s's port %d; choose a range beside it", v, other.name, n)
				}
			}
		}
	}
	if u, err := url.Parse(c.TemporalUIURL); c.TemporalUIURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("TEMPORAL_UI_URL", "%q is not an http(s) URL", c.TemporalUIURL)
	}
	if c.TemporalNamespace == "" {
		bad("TEMPORAL_NAMESPACE", "must not be empty")
	}
	if c.TaskQueue == "" {
		bad("TEMPORAL_TASK_QUEUE", "must not be empty")
	}
	c.checkTemporalSecurity(mode, embedded, bad)
	if u, err := url.Parse(c.DatabaseURL); c.DatabaseURL != "" && (err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "") {
		bad("DATABASE_URL", "is not a postgres:// URL (e.g. postgres://user:password@host:5432/partneraccess)")
	}
	if c.DatabaseMaxConns, err = strconv.Atoi(get("DATABASE_MAX_CONNS")); err != nil || c.DatabaseMaxConns < 1 {
		bad("DATABASE_MAX_CONNS", "%q is not a positive number", get("DATABASE_MAX_CONNS"))
	}
	if c.PublicURL == "" && mode == ModeWorker {
		bad("PUBLIC_URL", "is required for the worker: the base of links in emails, e.g. https://access.example.com")
	}
	// An empty PUBLIC_URL becomes http://<the address the server listens on>.
	if u, err := url.Parse(c.PublicURL); c.PublicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("PUBLIC_URL", "%q is not an http(s) URL", c.PublicURL)
	}
}

// PortRange parses a range of n ports, "7235-7241".
func PortRange(v string, n int) ([]int, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(v), "-")
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || errA != nil || errB != nil || a < 1 || b > 65535 || b-a+1 != n {
		return nil, fmt.Errorf("%q is not a range of %d ports like 7235-%d", v, n, 7235+n-1)
	}
	ps := make([]int, n)
	for i := range ps {
		ps[i] = a + i
	}
	return ps, nil
}
