package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/partneraccess/partneraccess/internal/demo"
	"github.com/partneraccess/partneraccess/internal/devarm"
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

// The AVD host pools of Options.AVD: each customer's in its own
// subscription's resource group.
const (
	AVDSubscription  = "9a1c0000-0000-4000-8000-000000000001"
	AVDResourceGroup = "rg-avd"
	AVDPoolA         = "pool-a"
	AVDPoolB         = "pool-b"
)

// arm starts the ARM stand-in, taking the Graph stand-in's ARM tokens.
func arm(t interface{ Cleanup(func()) }, g *devgraph.Directory) (*devarm.Server, string) {
	a := devarm.New()
	a.Authorized = g.ARMToken
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv.URL
}

// useEntra makes Contoso and Fabrikam enforce access in their tenants,
// with AVD host pools when avd.
func (e *Env) useEntra(secretFile string, avd bool) {
	app := store.Target{ClientID: GraphAppID, SecretFile: secretFile}
	if avd {
		app.AVDSubscription, app.AVDResourceGroup, app.AVDHostPools = AVDSubscription, AVDResourceGroup, AVDPoolA+","+AVDPoolB
	}
	for _, c := range []demo.EntraSite{
		{Customer: demo.Contoso, Site: demo.ContosoSite, Tenant: ContosoTenant, Group: ContosoGroup, Domain: "contoso.onmicrosoft.com", Own: []string{"alice", "bob", "carol"}},
		{Customer: demo.Fabrikam, Site: demo.FabrikamSite, Tenant: FabrikamTenant, Group: FabrikamGroup, Domain: "fabrikam.onmicrosoft.com", Own: []string{"alice", "bob", "carol"}},
	} {
		if err := demo.StandIn(context.Background(), e.Store, e.Graph, c, app, GraphSecret); err != nil {
			e.T.Fatal(err)
		}
	}
}
