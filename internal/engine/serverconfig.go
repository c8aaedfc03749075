package engine

import (
	"net"
	"strconv"
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
)

// The server's static and dynamic configuration: one node, one shard,
// tuned for it.

// queuePollRPS is how often the history shard may read each of its task
// queues; see dynamicConfig.
const queuePollRPS = 500

// historyCacheSize bounds the workflows whose state the history service
// keeps in memory; see dynamicConfig.
const historyCacheSize = 2000

// dynamicConfig tunes the server for its one history shard.
//
// Every task the history service hands on (a workflow task to the worker
// after a signal, an activity, a timer that fired, a visibility record) is
// first read back from the shard's queue by a reader that may poll at most
// history.*ProcessorMaxPollRPS times a second per shard: 20 by default,
// sized for clusters of hundreds of shards. With one shard and a steady flow
// of tasks, the reader spends its budget and each new task waits for the
// next token: up to 50 ms on every hop (approve→active waits for one: the
// workflow task the decision's signal schedules). A poll reads every task
// pending, so a higher rate only costs a read when there is something new.
// The visibility queue keeps the default: its records only feed the
// Temporal UI's lists, and read 20 times a second they come in batches, so
// its reads take the one connection less often from the other two queues
// (approve→active p50 14.6 against 20.4 ms, median of three runs each,
// taken in turns; BENCHMARKS.md).
//
// The history service keeps the state of up to historyCacheSize workflows
// in memory (128,000 by default, for an hour): without a bound, every open
// assignment costs the process its mutable state, tens of KB, for as long as
// it waits. Like the worker's cache, it holds the workflows that are busy;
// the others are read from the database on their next event.
func dynamicConfig() dynamicconfig.StaticClient {
	poll := []dynamicconfig.ConstrainedValue{{Value: queuePollRPS}}
	return dynamicconfig.StaticClient{
		// Tell workers of new search attributes at once, not after the cache's minute.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		dynamicconfig.TransferProcessorMaxPollRPS.Key():             poll,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():                poll,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():            []dynamicconfig.ConstrainedValue{{Value: historyCacheSize}},
	}
}

// serverConfig is a single-node cluster on loopback.
func serverConfig(host string, p ports, sqlCfg *config.SQL) *config.Config {
	service := func(grpc, membership int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnIP: host}}
	}
	frontend := net.JoinHostPort(host, strconv.Itoa(p.Frontend))
	return &config.Config{
		Global: config.Global{
			// No metrics listener: the embedded server's own metrics are not
			// needed on a laptop, and its listener outlives Stop.
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: host},
		},
		Persistence: config.Persistence{
			DefaultStore: sqliteplugin.PluginName, VisibilityStore: sqliteplugin.PluginName, NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace: false, FailoverVersionIncrement: 10,
			MasterClusterName: clusterName, CurrentClusterName: clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": service(p.Frontend, p.FrontendMembership),
			"history":  service(p.History, p.HistoryMembership),
			"matching": service(p.Matching, p.MatchingMembership),
			"worker":   service(p.Worker, p.WorkerMembership),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: frontend},
	}
}
