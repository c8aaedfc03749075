// Package wire builds the service's parts from their settings, one way for
// every run mode (internal/app) and for the tests (internal/testenv): the
// typed workflow client, the application service and the HTTP server over
// them, and the worker's activities.
package wire

import (
	"log/slog"
	"net/http"

	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/entra"
	"github.com/partneraccess/partneraccess/internal/graph"
	"github.com/partneraccess/partneraccess/internal/ldapdir"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/metrics"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/server"
)

// HTTP is the settings of the HTTP side.
type HTTP struct {
	TaskQueue string
	Service   service.Config
	Server    server.Config
}

// Server builds the HTTP server and the service it calls; m may be nil.
func Server(h HTTP, st *store.Store, tc client.Client, keys *secret.Keys, log *slog.Logger, m *metrics.Metrics) (*server.Server, *service.Service) {
	var wf service.Workflows
	if tc != nil {
		wf = wfclient.New(tc, h.TaskQueue, keys, st, log)
	}
	svc := service.New(h.Service, st, wf, keys, log, m)
	return server.New(h.Server, svc, log), svc
}

// Directories are the settings of the customers' directories.
type Directories struct {
	// GraphURL and LoginURL: Microsoft Graph and Entra ID's token endpoint
	// (empty: Microsoft's public cloud).
	GraphURL, LoginURL string
	HTTPClient         *http.Client
	// Secret reads a target's client secret (nil: from the variable or
	// file that the directory file names).
	Secret func(store.Target) (string, error)
	// ARMURL is Azure Resource Manager's (ARM_URL; empty: Microsoft's
	// public cloud), for the customers' AVD host pools.
	ARMURL string
	// WritesPerSecond paces the writes to each Entra tenant
	// (GRAPH_WRITES_PER_SECOND; 0: graph.DefaultWritesPerSecond), unless
	// Pace is given.
	WritesPerSecond float64
	Pace            *graph.Pace
}

// Activities builds the worker's activities: a nil sender keeps emails in
// the store's mailbox; tc lets the reconciler find workflows; m, when not
// nil, counts what it reconciles.
func Activities(st *store.Store, sender mail.Sender, keys *secret.Keys, cfg activities.Config, dirs Directories, tc client.Client, m *metrics.Metrics) *activities.Activities {
	acts := activities.New(st, sender, keys, cfg)
	if dirs.Pace == nil {
		dirs.Pace = graph.NewPace(dirs.WritesPerSecond)
	}
	acts.Workflows = tc
	acts.Directories = map[string]target.Directory{
		store.TargetEntra: &entra.Directory{Base: target.Base{Store: st, Keys: keys}, GraphURL: dirs.GraphURL, LoginURL: dirs.LoginURL,
			HTTPClient: dirs.HTTPClient, Secret: dirs.Secret, Pace: dirs.Pace, ARMURL: dirs.ARMURL},
		store.TargetLDAP: &ldapdir.Directory{Base: target.Base{Store: st, Keys: keys}},
	}
	if m != nil {
		acts.Reconciled, acts.Drifted = m.Reconciled, m.Drifted
	}
	return acts
}
