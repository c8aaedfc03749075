// Package pgtest gives each test its own empty PostgreSQL database on the
// server at PG_TEST_URL, so tests never see each other's rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/partneraccess/partneraccess/internal/optional"
)

// NewDatabase creates a database for the test, dropped when it ends, and
// returns its URL. PG_TEST_URL is a URL of the server whose role may create
// databases; without it the test is skipped, or fails under
// REQUIRE_POSTGRES=1 (or REQUIRE_ALL=1).
func NewDatabase(t testing.TB) string {
	t.Helper()
	return NewDatabaseFor(t, optional.Postgres)
}

// NewDatabaseFor is NewDatabase for a test that is its own optional part
// (the topology test), required by that part's variable.
func NewDatabaseFor(t testing.TB, part optional.Part) string {
	t.Helper()
	admin := os.Getenv("PG_TEST_URL")
	if admin == "" {
		part.Missing(t, "PG_TEST_URL is not set")
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("PG_TEST_URL: %v", err)
	}
	name := dbName(t.Name())
	exec(t, admin, `CREATE DATABASE `+name)
	t.Cleanup(func() { drop(t, admin, name) })
	u.Path = "/" + name
	return u.String()
}

// drop drops a test's database. A connection the test did not make (an
// autovacuum worker) can hold it a moment, so it tries again before it
// gives up; a database left behind fails no test, so that is only logged.
func drop(t testing.TB, admin, name string) {
	var err error
	for try := 0; try < 10; try++ {
		if err = run(admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("PostgreSQL at PG_TEST_URL: database %s left behind: %v", name, err)
}

var notIdent = regexp.MustCompile(`[^a-z0-9]+`)

// dbName is a safe identifier from the test's name, unique per call.
func dbName(test string) string {
	b := make([]byte, 4)
	rand.Read(b)
	n := strings.Trim(notIdent.ReplaceAllString(strings.ToLower(test), "_"), "_")
	if len(n) > 40 {
		n = n[:40]
	}
	return "t_" + n + "_" + hex.EncodeToString(b)
}

func exec(t testing.TB, dsn, stmt string) {
	t.Helper()
	if err := run(dsn, stmt); err != nil {
		t.Fatalf("PostgreSQL at PG_TEST_URL: %s: %v", stmt, err)
	}
}

func run(dsn, stmt string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
