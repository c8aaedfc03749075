package store

import "context"

// ExecForTest runs raw SQL, for tests that check the schema's own guards.
func ExecForTest(ctx context.Context, s *Store, query string) error {
	_, err := s.w.ExecContext(ctx, query)
	return err
}
