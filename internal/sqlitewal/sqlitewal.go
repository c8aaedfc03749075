// Package sqlitewal checkpoints a SQLite database in WAL mode from a
// connection of its own, so that its writer seldom has to.
//
// SQLite's automatic checkpoint runs inside the commit that grows the WAL
// past wal_autocheckpoint pages, on the writer's connection: that commit
// copies the WAL into the database file and syncs it while every other
// write waits. The store and the embedded Temporal server each write
// through one connection, so one such commit stalls all their writes: an
// approval's two small writes took 55–67 ms behind one. A passive
// checkpoint from another connection copies what no reader still needs
// while the writer goes on, and the writer's own checkpoint, when it comes,
// finds little left to copy. Keep the writer's: a WAL starts again from its
// beginning only once all of it has been copied when a write begins, which
// a checkpoint running beside a steady stream of writes seldom achieves.
package sqlitewal

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// Every is how often the checkpointer runs: often enough that each run,
// and the writer's own checkpoint after it, copies little.
const Every = 100 * time.Millisecond

// Start checkpoints the database behind db every Every until stop is
// called. db must be opened read-write on the file by the same SQLite
// library as its writers (two libraries in one process do not see each
// other's locks); Start takes it over and stop closes it.
func Start(db *sql.DB, log *slog.Logger) (stop func() error, err error) {
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	if err := checkpoint(ctx, db); err != nil {
		cancel()
		db.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(Every)
		defer t.Stop()
		failing := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			switch err := checkpoint(ctx, db); {
			case err != nil && ctx.Err() == nil && !failing:
				log.Warn("WAL checkpoint failed; the writer checkpoints until it works again", "error", err)
				failing = true
			case err == nil && failing:
				log.Info("WAL checkpoint works again")
				failing = false
			}
		}
	}()
	return func() error {
		cancel()
		<-done
		return db.Close()
	}, nil
}

// checkpoint copies what it can of the WAL into the database file; busy
// readers or a writer never make it wait (PASSIVE).
func checkpoint(ctx context.Context, db *sql.DB) error {
	var busy, frames, copied int
	if err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("WAL checkpoint: %w", err)
	}
	return nil
}
