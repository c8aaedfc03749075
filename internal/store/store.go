// Package store keeps the directory (partners, customers, users, sites), the
// projection of each assignment workflow, and the records the workflow writes:
// approval tokens, temporary credentials, access grants, emails and the audit
// log. It is the only package with SQL in it.
//
// The store runs on SQLite (one file, the default) or PostgreSQL (many
// workers and servers on many hosts). Every query is written once, for both:
//
//   - Go through Store.w, Store.r or the conn of inTx: they rebind `?`
//     placeholders ($1, $2 … on PostgreSQL). Bind a struct with `:name`
//     parameters (named queries) rather than numbered ones: SQLite's ?1 does
//     not exist on PostgreSQL.
//   - Only SQL both understand: ON CONFLICT … DO NOTHING / DO UPDATE with
//     excluded.col (qualify the target's own columns: table.col), COALESCE,
//     NULLIF, CASE, EXISTS, LIMIT with a bound value, RETURNING. Not: rowid,
//     COLLATE NOCASE (compare lower(a) = lower(b)), datetime('now') or now()
//     (pass times from Go), INSERT OR IGNORE/REPLACE, SELECT FOR UPDATE,
//     ILIKE, ::casts, `"` for strings.
//   - Times: pass time.Time in UTC (utc, utcPtr); PostgreSQL keeps
//     microseconds, so never compare a stored time for equality with one
//     finer than that.
//   - Booleans: pass Go bools and compare with TRUE/FALSE (col = TRUE), never
//     1/0; SQLite stores them as 1/0, PostgreSQL as boolean.
//   - Select the columns you scan by name (no SELECT *): sqlx refuses a
//     column without a field, and the dialects' tables need not match
//     beyond the columns the code reads.
//   - A read that decides a write in the same transaction must take the row
//     first with an UPDATE (see TakeCredential): PostgreSQL runs transactions
//     side by side, SQLite one at a time.
//
// A schema change is one goose migration per dialect, with the same version
// and name, in migrations/sqlite and migrations/postgres; keep the
// constraints (CHECKs, the partial unique index of R8, the audit log's
// append-only trigger) the same on both. The store tests run on both
// dialects and check that the two sets of migrations and of columns match.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/partneraccess/partneraccess/internal/domain"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Dialect is the database under the store.
type Dialect string

// The dialects; each names its folder of migrations.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the application database. On SQLite it has one connection for
// writes and a pool for reads; on PostgreSQL one pool does both.
type Store struct {
	dialect Dialect
	wdb     *sqlx.DB // begins transactions
	w, r    conn
	close   func() error
	grant   struct { // the access check's prepared statement (grantStmt)
		sync.Once
		stmt *sql.Stmt
		err  error
	}
}

// Dialect reports which database the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

func migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	gd := goose.DialectSQLite3
	if d == Postgres {
		gd = goose.DialectPostgres
		// Every worker and server migrates at start; an advisory lock lets
		// one do it while the others wait (checking each second, for 5 min).
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("store migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db, mustSub(migrations, "migrations/"+string(d)), opts...)
	if err != nil {
		return fmt.Errorf("store migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store migrations: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.grant.stmt != nil {
		s.grant.stmt.Close()
	}
	return s.close()
}

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.get(ctx, &one, `SELECT 1`)
}

func (s *Store) inTx(ctx context.Context, fn func(tx conn) error) error {
	tx, err := s.wdb.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(conn{tx}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// conn is a pool or a transaction. Its methods take queries written for
// both dialects and bind them for the one underneath.
type conn struct{ x sqlx.ExtContext }

func (c conn) get(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, c.x, dest, c.x.Rebind(query), args...)
}

func (c conn) sel(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, c.x, dest, c.x.Rebind(query), args...)
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.x.ExecContext(ctx, c.x.Rebind(query), args...)
}

// namedExec binds :name parameters from arg's db tags.
func (c conn) namedExec(ctx context.Context, query string, arg any) (sql.Result, error) {
	return sqlx.NamedExecContext(ctx, c.x, query, arg)
}

// namedSel binds :name parameters from arg's db tags and scans every row.
func (c conn) namedSel(ctx context.Context, dest any, query string, arg any) error {
	q, args, err := sqlx.Named(query, arg)
	if err != nil {
		return err
	}
	return c.sel(ctx, dest, q, args...)
}

func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a constant embedded at build time
	}
	return sub
}

// openStates is domain.OpenStates as an SQL list: "('requested', …)". It is
// made from constants, never from input.
var openStates = func() string {
	quoted := make([]string, len(domain.OpenStates))
	for i, st := range domain.OpenStates {
		quoted[i] = "'" + st + "'"
	}
	return "(" + strings.Join(quoted, ", ") + ")"
}()
