package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/devgraph"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/wire"
)

// The Entra tenants of Options.Entra: Contoso's and Fabrikam's, served by
// devgraph on loopback, each with its app registration and the access
// group of its site, which holds three of the customer's own users.
const (
	ContosoTenant  = "6f1c0000-0000-0000-0000-000000000001"
	FabrikamTenant = "6f1c0000-0000-0000-0000-000000000002"
	GraphAppID     = "0a7e0000-0000-0000-0000-000000000002"
	ContosoGroup   = "3b7f0000-0000-0000-0000-000000000003"
	FabrikamGroup  = "3b7f0000-0000-0000-0000-000000000004"
	// GraphSecret is the app registrations' client secret, read by the
	// worker from a file: it must never be found in the store, a history
	// or a log.
	GraphSecret = "dev-secret-9f8e7d6c5b4a"
)

// entra starts the Graph stand-in, behind wrap when not nil, and returns
// the worker's settings for it.
func entra(t interface {
	TempDir() string
	Cleanup(func())
	Fatal(...any)
}, wrap func(http.Handler) http.Handler) (*devgraph.Directory, wire.Directories, string) {
	g := devgraph.New()
	g.PageSize = 2 // groups are read back over several pages
	var h http.Handler = g
	if wrap != nil {
		h = wrap(g)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "graph.secret")
	if err := os.WriteFile(file, []byte(GraphSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return g, wire.Directories{GraphURL: srv.URL, LoginURL: srv.URL}, file
}

// useEntra makes Contoso and Fabrikam enforce access in their tenants.
func (e *Env) useEntra(secretFile string) {
	for _, c := range []demo.EntraSite{
		{Customer: demo.Contoso, Site: demo.ContosoSite, Tenant: ContosoTenant, Group: ContosoGroup, Domain: "contoso.onmicrosoft.com", Own: []string{"alice", "bob", "carol"}},
		{Customer: demo.Fabrikam, Site: demo.FabrikamSite, Tenant: FabrikamTenant, Group: FabrikamGroup, Domain: "fabrikam.onmicrosoft.com", Own: []string{"alice", "bob", "carol"}},
	} {
		if err := demo.StandIn(context.Background(), e.Store, e.Graph, c, store.Target{ClientID: GraphAppID, SecretFile: secretFile}, GraphSecret); err != nil {
			e.T.Fatal(err)
		}
	}
}
