package engine

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"go.temporal.io/server/common/config"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"

	"github.com/partneraccess/partneraccess/internal/sqlitewal"
)

// The SQLite database the server keeps its state in.

// DefaultPragmas: WAL lets readers run beside the one writer; synchronous
// NORMAL is durable across process crashes (not power loss), as a laptop
// server needs. The engine's checkpointer copies the WAL every
// sqlitewal.Every, so the writer's own checkpoint (every 1,000 pages, as
// SQLite's default) finds little left to copy; it is what lets the WAL
// start again from its beginning, which under a steady stream of writes a
// checkpoint from beside them seldom does (without it the WAL held up to
// 10,000 pages, 40 MB, and every read searches its index).
var DefaultPragmas = map[string]string{"journal_mode": "wal", "synchronous": "NORMAL", "busy_timeout": "10000",
	"cache_size": "-65536", "temp_store": "memory", "mmap_size": "268435456", "wal_autocheckpoint": "1000"}

// prepareDatabase makes the SQLite file's schema on first start and the
// namespace on every start (creating it again changes nothing).
func prepareDatabase(cfg Config) (*config.SQL, error) {
	sqlCfg := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      filepath.Join(cfg.DataDir, "temporal.db"),
		ConnectAttributes: map[string]string{"mode": "rwc"},
		// One connection: with several, concurrent write transactions fail
		// with SQLITE_BUSY_SNAPSHOT under WAL, which busy_timeout cannot wait out.
		MaxConns:     1,
		MaxIdleConns: 1,
	}
	for k, v := range cfg.SQLitePragmas {
		sqlCfg.ConnectAttributes[k] = v
	}
	if _, err := os.Stat(sqlCfg.DatabaseName); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("set up the Temporal database: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, cfg.SearchAttributes)
	if err != nil {
		return nil, err
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", cfg.Namespace, err)
	}
	return sqlCfg, nil
}

// checkpointer checkpoints the database's WAL from a connection of its own
// (sqlitewal), through the server's own SQLite library (modernc's, driver
// "sqlite"): another library in this process would not see the server's
// locks and would corrupt its shared-memory index.
func checkpointer(file string, log *slog.Logger) (func() error, error) {
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		return nil, fmt.Errorf("open the Temporal database for checkpoints: %w", err)
	}
	return sqlitewal.Start(db, log)
}
