package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// DefaultMaxConns is the pool size of one process on PostgreSQL.
const DefaultMaxConns = 10

// OpenPostgres connects to the PostgreSQL database at url
// (postgres://user:password@host:port/database?sslmode=…) with a pool of
// at most maxConns connections (0: DefaultMaxConns), and applies the
// embedded migrations. Any number of processes may share the database.
func OpenPostgres(ctx context.Context, url string, maxConns int) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	// Scan timestamptz in UTC, as SQLite does, rather than in the host's zone.
	db := sqlx.NewDb(stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	})), "pgx")
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Renew connections now and then, so a pool spreads again over the
	// servers behind a proxy or after a failover.
	db.SetConnMaxLifetime(30 * time.Minute)
	where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store at %s: %w", where, err)
	}
	if err := migrate(ctx, db.DB, Postgres); err != nil {
		db.Close()
		return nil, fmt.Errorf("store at %s: %w", where, err)
	}
	return &Store{dialect: Postgres, wdb: db, w: conn{db}, r: conn{db}, close: db.Close}, nil
}
