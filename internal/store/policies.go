package store

import (
	"context"
	"fmt"
)

// SetCustomerPolicy stores a customer's policy as written (R10; "": none).
func (s *Store) SetCustomerPolicy(ctx context.Context, customerID, policy string) error {
	return wrap(oneRow(s.w.exec(ctx, `UPDATE customers SET policy = ? WHERE id = ?`, policy, customerID)), "set policy of customer %s", customerID)
}

// SetSitePolicy stores a site's own policy as written (R10; "": none).
func (s *Store) SetSitePolicy(ctx context.Context, siteID, policy string) error {
	return wrap(oneRow(s.w.exec(ctx, `UPDATE sites SET policy = ? WHERE id = ?`, policy, siteID)), "set policy of site %s", siteID)
}

// SetPolicies replaces a customer's policy and its sites' in one
// transaction: a site missing from sites gets none. A site of another
// customer is ErrNotFound, and nothing is written.
func (s *Store) SetPolicies(ctx context.Context, customerID, policy string, sites map[string]string) error {
	return wrap(s.inTx(ctx, func(tx conn) error {
		if err := oneRow(tx.exec(ctx, `UPDATE customers SET policy = ? WHERE id = ?`, policy, customerID)); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE sites SET policy = '' WHERE customer_id = ?`, customerID); err != nil {
			return err
		}
		for id, p := range sites {
			if err := oneRow(tx.exec(ctx, `UPDATE sites SET policy = ? WHERE id = ? AND customer_id = ?`, p, id, customerID)); err != nil {
				return fmt.Errorf("site %s: %w", id, err)
			}
		}
		return nil
	}), "set policies of customer %s", customerID)
}
