package server

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/devgraph"
)

// devTenant is one tenant of the dev directory, as its page shows it.
type devTenant struct {
	CustomerID string
	devgraph.Tenant
}

// devWait bounds how long the page's script waits for a change.
const devWait = 25 * time.Second

// pageDevDirectory is GET /dev/directory: the dev directory's accounts and
// group members, under the dev mailbox's rules. With ?since=VERSION it
// waits until the directory changes (204 when it did not within devWait),
// so /static/live.js keeps the page live.
func (s *Server) pageDevDirectory(c *gin.Context) {
	g := s.cfg.DevDirectory
	changed, version := g.Changed()
	if since := c.Query("since"); since != "" && since == strconv.FormatUint(version, 10) {
		select {
		case <-changed:
		case <-time.After(devWait):
			c.Status(http.StatusNoContent)
			return
		case <-c.Request.Context().Done():
			return
		}
		_, version = g.Changed()
	}
	visible, err := s.devCustomers(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var tenants []devTenant
	for tenant, customer := range s.cfg.DevTenants {
		if visible == nil || visible[customer] {
			tenants = append(tenants, devTenant{CustomerID: customer, Tenant: g.Snapshot(tenant)})
		}
	}
	slices.SortFunc(tenants, func(a, b devTenant) int {
		if a.CustomerID < b.CustomerID {
			return -1
		}
		return 1
	})
	c.Header("Cache-Control", "no-store")
	s.render(c, http.StatusOK, "devdirectory", gin.H{"Tenants": tenants, "Version": version})
}

// devCustomers are the customers whose tenants the reader may see: nil for
// all (loopback, or the operator), else those of the sites an
// administrator sees.
func (s *Server) devCustomers(c *gin.Context) (map[string]bool, error) {
	reader := mailboxReader(c)
	if reader == nil {
		return nil, nil
	}
	sites, err := s.svc.Sites(c.Request.Context(), *reader)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, site := range sites {
		out[site.CustomerID] = true
	}
	return out, nil
}

func (s *Server) liveJS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", s.pages.live)
}
