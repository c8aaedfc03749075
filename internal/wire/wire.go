// Package wire builds the service's parts from their settings, one way for
// every run mode (internal/app) and for the tests (internal/testenv): the
// typed workflow client, the application service and the HTTP server over
// them, and the worker's activities.
package wire

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/partneraccess/partneraccess/activities"
	"github.com/partneraccess/partneraccess/internal/chat"
	"github.com/partneraccess/partneraccess/internal/entra"
	"github.com/partneraccess/partneraccess/internal/graph"
	"github.com/partneraccess/partneraccess/internal/ldapdir"
	"github.com/partneraccess/partneraccess/internal/mail"
	"github.com/partneraccess/partneraccess/internal/metrics"
	"github.com/partneraccess/partneraccess/internal/secret"
	"github.com/partneraccess/partneraccess/internal/service"
	"github.com/partneraccess/partneraccess/internal/slackchat"
	"github.com/partneraccess/partneraccess/internal/store"
	"github.com/partneraccess/partneraccess/internal/target"
	"github.com/partneraccess/partneraccess/internal/teams"
	"github.com/partneraccess/partneraccess/internal/wfclient"
	"github.com/partneraccess/partneraccess/server"
)

// HTTP is the settings of the HTTP side.
type HTTP struct {
	TaskQueue string
	Service   service.Config
	Server    server.Config
	// Teams is the Teams bot (nil: Teams is off); its messages endpoint
	// decides through the service.
	Teams *teams.Bot
	// Slack is how the server reaches Slack's Web API to answer a click.
	Slack slackchat.Config
}

// Chats are the deployment's chat channels beside email, for the worker's
// activities and the service alike: Teams when its bot is set up, and
// Slack, where each customer that opts in has its own app (slack.Process
// names who reads the apps' tokens, for their errors).
func Chats(t *teams.Bot, st *store.Store, slack slackchat.Config) chat.Registry {
	var r chat.Registry
	if t != nil {
		r = append(r, t)
	}
	return append(r, slackchat.NewChannel(st, slack))
}

// Server builds the HTTP server and the service it calls; m may be nil.
func Server(h HTTP, st *store.Store, tc client.Client, keys *secret.Keys, log *slog.Logger, m *metrics.Metrics) (*server.Server, *service.Service) {
	var wf service.Workflows
	if tc != nil {
		wf = wfclient.New(tc, h.TaskQueue, keys, st, log)
	}
	svc := service.New(h.Service, st, wf, keys, log, m)
	h.Slack.Process = "the server"
	svc.Chats = Chats(h.Teams, st, h.Slack)
	if h.Teams != nil {
		h.Teams.Decider = svc
		h.Teams.Refused = func(ctx context.Context, detail string) { svc.RefuseChat(ctx, chat.ViaTeams, detail) }
		h.Server.Teams = h.Teams
	}
	h.Server.Slack = slackchat.NewInteractions(st, st, svc, svc, h.Slack, log)
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
	if tc != nil {
		acts.Webhook.Starter = tc
	}
	if m != nil {
		acts.Reconciled, acts.Drifted = m.Reconciled, m.Drifted
		acts.Webhook.Counted = m.WebhookDelivery
	}
	return acts
}

// Reviews gives the worker's activities what access reviews and a
// permission's end remove with: the service's own operations over the
// typed workflow client, and the settings of an organization without its
// own (SPEC §15).
func Reviews(acts *activities.Activities, svc *service.Service, every time.Duration) {
	acts.Reviews = svc
	if every == 0 {
		every = service.DefaultReviewEvery
	}
	acts.ReviewDefaults = activities.ReviewDefaults{Every: every, DueIn: activities.DefaultReviewDueIn, OnMissed: store.OnMissedSuspend}
}

// WorkerService is the service a worker alone removes with (no HTTP side).
func WorkerService(taskQueue string, st *store.Store, tc client.Client, keys *secret.Keys, log *slog.Logger, cfg service.Config) *service.Service {
	return service.New(cfg, st, wfclient.New(tc, taskQueue, keys, st, log), keys, log, nil)
}
