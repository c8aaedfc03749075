package store

import "context"

// OrgFilter is an organization whose audit entries a reader may see: a
// partner's are those with its partner_id, a customer's those with its
// customer_id (the audit log's own columns, which every writer fills from
// the tenant acted on; SPEC §7).
type OrgFilter struct {
	Kind string // KindPartner or KindCustomer
	ID   string
}

// FeedEntry is an audit entry as the events feed and webhooks send it,
// with the name of who acted when that is a user.
type FeedEntry struct {
	AuditEntry
	ActorName string `db:"actor_name"`
}

// EventsAfter lists the organization's audit entries after the entry
// after, oldest first, up to limit. IDs become visible in order on both
// databases (one writer on SQLite; on PostgreSQL the audit log's insert
// trigger), so a reader that goes on from the last ID it saw misses none.
func (s *Store) EventsAfter(ctx context.Context, org OrgFilter, after int64, limit int) ([]FeedEntry, error) {
	es, err := eventsAfter(ctx, s.r, org, after, limit)
	return es, wrap(err, "read the events of %s %s", org.Kind, org.ID)
}

// AuditEntryByID returns one entry with its actor's name.
func (s *Store) AuditEntryByID(ctx context.Context, id int64) (FeedEntry, error) {
	var e FeedEntry
	err := s.r.get(ctx, &e, `SELECT `+feedColumns+` WHERE l.id = ?`, id)
	return e, notFound(err, "audit entry")
}

const feedColumns = `l.id, l.at, l.actor_id, l.action, l.outcome, l.assignment_id, l.site_id, l.customer_id,
	l.partner_id, l.detail, l.via, COALESCE(u.name, '') AS actor_name
	FROM audit_log l LEFT JOIN users u ON u.id = l.actor_id`

func eventsAfter(ctx context.Context, db conn, org OrgFilter, after int64, limit int) ([]FeedEntry, error) {
	column := "l.customer_id"
	if org.Kind == KindPartner {
		column = "l.partner_id"
	}
	if org.ID == "" {
		return nil, nil
	}
	var es []FeedEntry
	err := db.sel(ctx, &es, `SELECT `+feedColumns+` WHERE l.id > ? AND `+column+` = ? ORDER BY l.id LIMIT ?`,
		after, org.ID, limit)
	return es, err
}

// AdminRole is the role that administers an organization of kind.
func AdminRole(kind string) string {
	if kind == KindPartner {
		return RolePartnerAdmin
	}
	return RoleCustomerAdmin
}

// InOrganization puts an entry in one organization's log only: its
// partner's or its customer's column.
func (e *AuditEntry) InOrganization(kind, id string) {
	if kind == KindPartner {
		e.PartnerID = id
	} else {
		e.CustomerID = id
	}
}
