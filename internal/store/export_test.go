package store

import (
	"context"
	"slices"

	"github.com/pressly/goose/v3"
)

// ExecForTest runs raw SQL, for tests that check the schema's own guards
// or write rows as an older schema had them.
func ExecForTest(ctx context.Context, s *Store, query string, args ...any) error {
	_, err := s.w.exec(ctx, query, args...)
	return err
}

// CountForTest runs a query that answers one number, on the writer
// connection (where SQLite's foreign_keys pragma is set).
func CountForTest(ctx context.Context, s *Store, query string, args ...any) (int, error) {
	var n int
	err := s.w.get(ctx, &n, query, args...)
	return n, err
}

// MigrationFilesForTest lists the migrations of a dialect.
func MigrationFilesForTest(d Dialect) []string {
	entries, err := migrations.ReadDir("migrations/" + string(d))
	if err != nil {
		panic(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// ColumnsForTest lists "table.column" of the application's tables, sorted.
func ColumnsForTest(ctx context.Context, s *Store) ([]string, error) {
	q := `SELECT m.name || '.' || c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'`
	if s.dialect == Postgres {
		q = `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`
	}
	var cols []string
	err := s.r.sel(ctx, &cols, q)
	slices.Sort(cols) // in Go: the databases' collations differ
	return cols, err
}

// MigrateDownToForTest undoes the migrations after version, to test what a
// later one does to the data it finds.
func MigrateDownToForTest(ctx context.Context, s *Store, version int64) error {
	gd := goose.DialectSQLite3
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, s.wdb.DB, mustSub(migrations, "migrations/"+string(s.dialect)), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}
