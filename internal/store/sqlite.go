package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // registers "sqlite3"

	"github.com/partneraccess/partneraccess/internal/sqlitewal"
)

// Open opens (creating if needed) the SQLite file at path and applies the
// embedded migrations. The file is in WAL mode, with one connection for
// writes and a pool for reads. A single writer queues writes in Go; several
// would wait on SQLite's busy handler, which sleeps up to 100 ms at a time
// under contention.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_synchronous", "NORMAL")
	// Writers take the lock up front, so two transactions never deadlock
	// upgrading from read to write.
	q.Set("_txlock", "immediate")
	// Keep each connection's recent statements prepared: the store asks
	// the same few dozen queries again and again, and parsing and planning
	// them anew cost as much as running them.
	q.Set("_stmt_cache_size", "64")
	w, err := sqlx.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// The checkpointer below copies the WAL, and the store's writes leave it
	// quiet moments to finish, so the WAL starts again from its beginning
	// long before the writer's own checkpoint at ~40 MB (it held 110 pages on
	// average, 2,990 at most, in the Standard flow benchmark): checkpoints
	// from the writer would only add syncs to its commits.
	if _, err := w.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 10000`); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, w.DB, SQLite); err != nil {
		w.Close()
		return nil, err
	}
	q.Set("mode", "ro")
	r, err := sqlx.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetConnMaxIdleTime(5 * time.Minute)
	// The checkpointer copies the WAL from a connection of its own (mattn's
	// library, like the writer's), so the writer's checkpoint finds nothing
	// left to copy unless the checkpointer fails.
	q.Del("mode")
	c, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	var checkpoint func() error
	if err == nil {
		checkpoint, err = sqlitewal.Start(c, slog.Default())
	}
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{
		dialect: SQLite, wdb: w, w: conn{w}, r: conn{r},
		close: func() error { return errors.Join(checkpoint(), r.Close(), w.Close()) },
	}, nil
}
