package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/partneraccess/partneraccess/internal/devarm"
	"github.com/partneraccess/partneraccess/internal/devgraph"
)

// devTenant is one tenant of the dev directory, as its page shows it.
type devTenant struct {
	CustomerID string
	devgraph.Tenant
	Desktops bool
	Accounts []devAccount // the partner accounts, with their desktop sessions
}

// devAccount is a partner account made by this product: it may connect
// while a member of a site's group.
type devAccount struct {
	UPN      string
	Member   bool
	Sessions []devarm.Session
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
			tenants = append(tenants, s.devTenant(tenant, customer))
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

// devTenant is the tenant now, with its partner accounts' desktop
// sessions when the dev directory has them.
func (s *Server) devTenant(tenant, customer string) devTenant {
	t := devTenant{CustomerID: customer, Tenant: s.cfg.DevDirectory.Snapshot(tenant), Desktops: s.cfg.DevDesktops != nil}
	if !t.Desktops {
		return t
	}
	member := map[string]bool{}
	for _, g := range t.Groups {
		for _, m := range g.Members {
			member[m] = true
		}
	}
	for _, u := range t.Users {
		if local, _, _ := strings.Cut(u.UPN, "@"); !strings.Contains(local, ".") {
			continue // the customer's own user
		}
		t.Accounts = append(t.Accounts, devAccount{UPN: u.UPN, Member: member[u.UPN] && u.Enabled, Sessions: s.cfg.DevDesktops.Sessions(u.UPN)})
	}
	return t
}

// devConnect is POST /dev/directory/connect: the partner account (upn, in
// tenant) opens a desktop session on the dev host pool, as the Remote
// Desktop client would, only while it is an enabled member of a site's
// group; then the page again.
func (s *Server) devConnect(c *gin.Context) {
	tenant, upn := c.PostForm("tenant"), c.PostForm("upn")
	customer, ok := s.cfg.DevTenants[tenant]
	visible, err := s.devCustomers(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !ok || (visible != nil && !visible[customer]) {
		c.String(http.StatusNotFound, "no such tenant in the dev directory")
		return
	}
	acct := slices.IndexFunc(s.devTenant(tenant, customer).Accounts, func(a devAccount) bool { return a.UPN == upn && a.Member })
	if acct < 0 {
		c.String(http.StatusForbidden, "%s is not an enabled member of a site's group: Azure Virtual Desktop refuses the connection", upn)
		return
	}
	p := s.cfg.DevPool
	s.cfg.DevDesktops.Connect(p.Subscription, p.ResourceGroup, p.Name, "sage200-sh-1", upn)
	c.Redirect(http.StatusSeeOther, "/dev/directory")
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
