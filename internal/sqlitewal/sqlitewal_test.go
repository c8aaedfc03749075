package sqlitewal_test

import (
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/partneraccess/partneraccess/internal/sqlitewal"
)

// open returns a writer on a new WAL database that never checkpoints on
// its own, as if its autocheckpoint were never reached.
func open(t *testing.T) (path string, w *sql.DB) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "db.sqlite")
	w, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL")
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	t.Cleanup(func() { w.Close() })
	for _, q := range []string{`PRAGMA wal_autocheckpoint = 0`, `CREATE TABLE t (v TEXT)`} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return path, w
}

// fill writes about 4 MB, one page-sized row per transaction, over twenty
// checkpoint periods, and returns the size of the WAL file at the end. The
// file is never truncated, only written again from its start once all of it
// has been copied, so its size is the most the WAL ever held.
func fill(t *testing.T, path string, w *sql.DB) int64 {
	t.Helper()
	row := strings.Repeat("x", 4000)
	for range 20 {
		for range 50 {
			if _, err := w.Exec(`INSERT INTO t (v) VALUES (?)`, row); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(sqlitewal.Every)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestTheCheckpointerKeepsTheWALShortWhileTheWriterNeverCheckpoints(t *testing.T) {
	path, w := open(t)
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := sqlitewal.Start(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// Each period writes about a seventh of the whole (frames of the table
	// and of its pages' parents); the WAL starts again after each checkpoint.
	if size := fill(t, path, w); size > 2<<20 {
		t.Fatalf("the WAL grew to %d bytes with the checkpointer, want under 2 MiB of the 4+ MB written", size)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err == nil {
		t.Fatal("stop left the checkpointer's database open")
	}
}

// The control: without the checkpointer the same writes all stay in the
// WAL, so the test above can fail.
func TestWithoutTheCheckpointerTheWALHoldsEveryWrite(t *testing.T) {
	path, w := open(t)
	if size := fill(t, path, w); size < 4_000_000 {
		t.Fatalf("the WAL holds %d bytes, want the 4 MB written", size)
	}
}

func TestStartRefusesADatabaseItCannotCheckpoint(t *testing.T) {
	path, _ := open(t)
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	if stop, err := sqlitewal.Start(db, slog.Default()); err == nil {
		stop()
		t.Fatal("Start on a read-only connection: no error")
	}
}
