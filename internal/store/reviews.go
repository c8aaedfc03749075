package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Review states, item kinds and decisions, as stored.
const (
	ReviewOpen     = "open"
	ReviewFinished = "finished"

	ItemUser               = "user"
	ItemPermission         = "permission"
	ItemProfessionalAccess = "professional_access"

	DecisionKeep   = "keep"
	DecisionRemove = "remove"
	DecisionMissed = "missed"

	OnMissedSuspend = "suspend"
	OnMissedReport  = "report"
)

// Review is an access review of one organization (SPEC §15): what its
// administrators were asked to confirm, and, once finished, its report.
type Review struct {
	ID         string       `db:"id"`
	OrgKind    string       `db:"org_kind"` // KindPartner or KindCustomer
	OrgID      string       `db:"org_id"`
	StartedBy  string       `db:"started_by"` // a user's ID, or "schedule"
	StartedAt  time.Time    `db:"started_at"`
	DueAt      time.Time    `db:"due_at"`
	OnMissed   string       `db:"on_missed"`
	State      string       `db:"state"`
	FinishedAt *time.Time   `db:"finished_at"`
	Items      []ReviewItem `db:"-"`
}

// ReviewItem is one thing to confirm: a user, the partner's permission, or
// an open Professional access.
type ReviewItem struct {
	ReviewID  string     `db:"review_id"`
	ID        string     `db:"id"`
	Kind      string     `db:"kind"`
	SubjectID string     `db:"subject_id"` // the user, partner or assignment
	Subject   string     `db:"subject"`    // in words
	Decision  string     `db:"decision"`   // "" until decided
	DecidedBy string     `db:"decided_by"`
	DecidedAt *time.Time `db:"decided_at"`
	Outcome   string     `db:"outcome"` // what was done, in words
}

// ReviewSettings are an organization's own review settings (directory file).
type ReviewSettings struct {
	OrgID    string        `db:"org_id"`
	Every    time.Duration `db:"-"`
	DueIn    time.Duration `db:"-"`
	OnMissed string        `db:"on_missed"`
	EveryS   int64         `db:"every_s"`
	DueInS   int64         `db:"due_in_s"`
}

// ErrReviewOpen: the organization already has an open review.
var ErrReviewOpen = errors.New("the organization already has an open review")

// ErrReviewExists: a review of that ID (organization and period) exists.
var ErrReviewExists = errors.New("a review of this organization and period exists")

// CreateReview records a review and its items; ErrReviewOpen when the
// organization has an open one, ErrReviewExists when the ID is taken.
func (s *Store) CreateReview(ctx context.Context, r Review) error {
	err := s.inTx(ctx, func(tx conn) error {
		var n int
		if err := tx.get(ctx, &n, `SELECT COUNT(*) FROM reviews WHERE id = ?`, r.ID); err != nil {
			return err
		} else if n > 0 {
			return ErrReviewExists
		}
		if err := tx.get(ctx, &n, `SELECT COUNT(*) FROM reviews WHERE org_id = ? AND state = 'open'`, r.OrgID); err != nil {
			return err
		} else if n > 0 {
			return ErrReviewOpen
		}
		r.StartedAt, r.DueAt, r.State = utc(r.StartedAt), utc(r.DueAt), ReviewOpen
		if _, err := tx.namedExec(ctx, `INSERT INTO reviews (id, org_kind, org_id, started_by, started_at, due_at, on_missed, state)
			VALUES (:id, :org_kind, :org_id, :started_by, :started_at, :due_at, :on_missed, :state)`, r); err != nil {
			return err
		}
		for _, it := range r.Items {
			it.ReviewID = r.ID
			if _, err := tx.namedExec(ctx, `INSERT INTO review_items (review_id, id, kind, subject_id, subject)
				VALUES (:review_id, :id, :kind, :subject_id, :subject)`, it); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "create review %s", r.ID)
}

const reviewColumns = `id, org_kind, org_id, started_by, started_at, due_at, on_missed, state, finished_at`

// ReviewByID returns a review with its items.
func (s *Store) ReviewByID(ctx context.Context, id string) (Review, error) {
	var r Review
	if err := s.r.get(ctx, &r, `SELECT `+reviewColumns+` FROM reviews WHERE id = ?`, id); err != nil {
		return r, notFound(err, "review")
	}
	err := s.r.sel(ctx, &r.Items, `SELECT review_id, id, kind, subject_id, subject, decision, decided_by, decided_at, outcome
		FROM review_items WHERE review_id = ? ORDER BY CAST(id AS INTEGER)`, id)
	return r, wrap(err, "items of review %s", id)
}

// Reviews lists an organization's reviews, newest first, with their items.
func (s *Store) Reviews(ctx context.Context, orgID string) ([]Review, error) {
	var ids []string
	if err := s.r.sel(ctx, &ids, `SELECT id FROM reviews WHERE org_id = ? ORDER BY started_at DESC, id DESC LIMIT 200`, orgID); err != nil {
		return nil, wrap(err, "reviews of %s", orgID)
	}
	rs := make([]Review, 0, len(ids))
	for _, id := range ids {
		r, err := s.ReviewByID(ctx, id)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// LastReviewStart is when the organization's latest review started (nil:
// never).
func (s *Store) LastReviewStart(ctx context.Context, orgID string) (*time.Time, error) {
	var at []time.Time
	err := s.r.sel(ctx, &at, `SELECT started_at FROM reviews WHERE org_id = ? ORDER BY started_at DESC LIMIT 1`, orgID)
	if err != nil || len(at) == 0 {
		return nil, wrap(err, "last review of %s", orgID)
	}
	return &at[0], nil
}

// DecideReviewItem records a decision on an undecided item of an open
// review; false when it was decided already (or the review is finished).
func (s *Store) DecideReviewItem(ctx context.Context, reviewID, itemID, decision, by string, at time.Time) (bool, error) {
	res, err := s.w.exec(ctx, `UPDATE review_items SET decision = ?, decided_by = ?, decided_at = ?
		WHERE review_id = ? AND id = ? AND decision = ''
		AND EXISTS (SELECT 1 FROM reviews r WHERE r.id = review_items.review_id AND r.state = 'open')`,
		decision, by, utc(at), reviewID, itemID)
	if err != nil {
		return false, wrap(err, "decide item %s of review %s", itemID, reviewID)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetReviewItemOutcome records what was done about a decided item.
func (s *Store) SetReviewItemOutcome(ctx context.Context, reviewID, itemID, outcome string) error {
	return wrap(oneRow(s.w.exec(ctx, `UPDATE review_items SET outcome = ? WHERE review_id = ? AND id = ?`,
		outcome, reviewID, itemID)), "outcome of item %s of review %s", itemID, reviewID)
}

// FinishReview closes a review: it is then its report.
func (s *Store) FinishReview(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.exec(ctx, `UPDATE reviews SET state = 'finished', finished_at = ? WHERE id = ? AND state = 'open'`, utc(at), id)
	return wrap(err, "finish review %s", id)
}

// PutReviewSettings records an organization's own review settings.
func (s *Store) PutReviewSettings(ctx context.Context, rs ReviewSettings) error {
	rs.EveryS, rs.DueInS = int64(rs.Every/time.Second), int64(rs.DueIn/time.Second)
	_, err := s.w.namedExec(ctx, `INSERT INTO review_settings (org_id, every_s, due_in_s, on_missed)
		VALUES (:org_id, :every_s, :due_in_s, :on_missed)
		ON CONFLICT (org_id) DO UPDATE SET every_s = excluded.every_s, due_in_s = excluded.due_in_s, on_missed = excluded.on_missed`, rs)
	return wrap(err, "review settings of %s", rs.OrgID)
}

// DeleteReviewSettings drops an organization's own settings (back to the defaults).
func (s *Store) DeleteReviewSettings(ctx context.Context, orgID string) error {
	_, err := s.w.exec(ctx, `DELETE FROM review_settings WHERE org_id = ?`, orgID)
	return wrap(err, "review settings of %s", orgID)
}

// ReviewSettingsOf returns an organization's own settings; false when it
// has none.
func (s *Store) ReviewSettingsOf(ctx context.Context, orgID string) (ReviewSettings, bool, error) {
	var rs []ReviewSettings
	if err := s.r.sel(ctx, &rs, `SELECT org_id, every_s, due_in_s, on_missed FROM review_settings WHERE org_id = ?`, orgID); err != nil || len(rs) == 0 {
		return ReviewSettings{}, false, wrap(err, "review settings of %s", orgID)
	}
	r := rs[0]
	r.Every, r.DueIn = time.Duration(r.EveryS)*time.Second, time.Duration(r.DueInS)*time.Second
	return r, true, nil
}

// Organization is a partner or a customer, as a review names it.
type Organization struct {
	Kind string `db:"kind"`
	ID   string `db:"id"`
	Name string `db:"name"`
}

// Organizations lists every partner and customer.
func (s *Store) Organizations(ctx context.Context) ([]Organization, error) {
	var os []Organization
	err := s.r.sel(ctx, &os, `SELECT 'partner' AS kind, id, name FROM partners
		UNION ALL SELECT 'customer' AS kind, id, name FROM customers ORDER BY kind, id`)
	return os, wrap(err, "list organizations")
}

// OpenProfessionalSince lists the customer's open Professional assignments
// active since before since (a review's items).
func (s *Store) OpenProfessionalSince(ctx context.Context, customerID string, since time.Time) ([]Assignment, error) {
	var as []Assignment
	err := s.r.sel(ctx, &as, `SELECT `+assignmentColumns+` WHERE s.customer_id = ? AND a.edition = 'professional'
		AND a.state IN `+openStates+` AND COALESCE(a.activated_at, a.requested_at) < ? ORDER BY a.requested_at, a.id`,
		customerID, utc(since))
	return as, wrap(err, "open Professional access of customer %s", customerID)
}

// Permission is a customer's permission for its partner (R1).
type Permission struct {
	CustomerID   string     `db:"customer_id"`
	PartnerID    string     `db:"partner_id"`
	Granted      bool       `db:"granted"`
	ChangedBy    string     `db:"changed_by"`
	ChangedAt    time.Time  `db:"changed_at"`
	GrantedUntil *time.Time `db:"granted_until"`
}

// PermissionOf returns a customer's permission for its partner
// (ErrNotFound: never granted).
func (s *Store) PermissionOf(ctx context.Context, customerID, partnerID string) (Permission, error) {
	var p Permission
	err := s.r.get(ctx, &p, `SELECT customer_id, partner_id, granted, changed_by, changed_at, granted_until
		FROM partner_permissions WHERE customer_id = ? AND partner_id = ?`, customerID, partnerID)
	return p, notFound(err, fmt.Sprintf("permission of customer %s", customerID))
}

// GrantPermissionUntil grants a customer's permission for its partner until
// a time (R1 with an end, SPEC §15).
func (s *Store) GrantPermissionUntil(ctx context.Context, customerID, partnerID string, until time.Time, by string, at time.Time) error {
	_, err := s.w.exec(ctx, `INSERT INTO partner_permissions (customer_id, partner_id, granted, changed_by, changed_at, granted_until)
		VALUES (?, ?, TRUE, ?, ?, ?)
		ON CONFLICT (customer_id, partner_id) DO UPDATE SET granted = TRUE,
			changed_by = excluded.changed_by, changed_at = excluded.changed_at, granted_until = excluded.granted_until`,
		customerID, partnerID, by, utc(at), utc(until))
	return wrap(err, "grant permission of customer %s until %s", customerID, until)
}

// PermissionsEndingBy lists the granted permissions that end at or before t.
func (s *Store) PermissionsEndingBy(ctx context.Context, t time.Time) ([]Permission, error) {
	var ps []Permission
	err := s.r.sel(ctx, &ps, `SELECT customer_id, partner_id, granted, changed_by, changed_at, granted_until
		FROM partner_permissions WHERE granted = TRUE AND granted_until IS NOT NULL AND granted_until <= ?
		ORDER BY granted_until, customer_id`, utc(t))
	return ps, wrap(err, "permissions ending by %s", t)
}
