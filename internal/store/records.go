package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/partneraccess/partneraccess/internal/domain"
)

// Audit outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
)

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	ID           int64         `db:"id"`
	At           time.Time     `db:"at"`
	ActorID      string        `db:"actor_id"`
	Action       domain.Action `db:"action"`
	Outcome      string        `db:"outcome"`
	AssignmentID string        `db:"assignment_id"`
	SiteID       string        `db:"site_id"`
	CustomerID   string        `db:"customer_id"`
	PartnerID    string        `db:"partner_id"`
	Detail       string        `db:"detail"`
	EventKey     *string       `db:"event_key"`
	// Via is the channel a decision came through (email, page, teams,
	// slack); "" for everything else.
	Via string `db:"via"`
}

// Audit appends an entry to the audit log. The site, customer and partner of
// an entry about an assignment are filled in from the assignment.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	return wrap(appendAudit(ctx, s.w, e), "audit %s", e.Action)
}

func appendAudit(ctx context.Context, db conn, e AuditEntry) error {
	e.At = utc(e.At)
	if e.AssignmentID != "" && (e.SiteID == "" || e.CustomerID == "" || e.PartnerID == "") {
		var ids struct {
			SiteID     string `db:"site_id"`
			CustomerID string `db:"customer_id"`
			PartnerID  string `db:"partner_id"`
		}
		err := db.get(ctx, &ids, `SELECT a.site_id, s.customer_id, u.partner_id
			FROM assignments a JOIN sites s ON s.id = a.site_id JOIN users u ON u.id = a.partner_user_id
			WHERE a.id = ?`, e.AssignmentID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		e.SiteID, e.CustomerID, e.PartnerID = cmp.Or(e.SiteID, ids.SiteID), cmp.Or(e.CustomerID, ids.CustomerID), cmp.Or(e.PartnerID, ids.PartnerID)
	}
	_, err := db.namedExec(ctx, `INSERT INTO audit_log
		(at, actor_id, action, outcome, assignment_id, site_id, customer_id, partner_id, detail, event_key, via)
		VALUES (:at, :actor_id, :action, :outcome, :assignment_id, :site_id, :customer_id, :partner_id, :detail, :event_key, :via)
		ON CONFLICT (event_key) DO NOTHING`, e)
	return err
}

// AuditFilter selects audit entries; empty fields match everything.
type AuditFilter struct {
	AssignmentID string `db:"assignment_id"`
	CustomerID   string `db:"customer_id"`
	PartnerID    string `db:"partner_id"`
	ActorID      string `db:"actor_id"`
	Limit        int    `db:"limit"`
}

// AuditLog lists audit entries, oldest first.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	var es []AuditEntry
	err := s.r.namedSel(ctx, &es, `SELECT id, at, actor_id, action, outcome, assignment_id, site_id,
		customer_id, partner_id, detail, via FROM audit_log WHERE
		(:assignment_id = '' OR assignment_id = :assignment_id) AND (:customer_id = '' OR customer_id = :customer_id)
		AND (:partner_id = '' OR partner_id = :partner_id) AND (:actor_id = '' OR actor_id = :actor_id)
		ORDER BY id LIMIT :limit`, f)
	return es, wrap(err, "read audit log")
}

// ApprovalToken binds one approver to one assignment's request, or to one
// of its extension requests; only its hash is kept.
type ApprovalToken struct {
	Hash         []byte     `db:"token_hash"`
	AssignmentID string     `db:"assignment_id"`
	ApproverID   string     `db:"approver_id"`
	Extension    int        `db:"extension"` // 0: the first request; n: extension request n
	ExpiresAt    time.Time  `db:"expires_at"`
	VoidedAt     *time.Time `db:"voided_at"`
}

// PutApprovalTokens stores approval tokens; storing the same ones again is a no-op.
func (s *Store) PutApprovalTokens(ctx context.Context, ts []ApprovalToken) error {
	return wrap(s.inTx(ctx, func(tx conn) error {
		for _, t := range ts {
			t.ExpiresAt = utc(t.ExpiresAt)
			if _, err := tx.namedExec(ctx, `INSERT INTO approval_tokens (token_hash, assignment_id, approver_id, expires_at)
				VALUES (:token_hash, :assignment_id, :approver_id, :expires_at) ON CONFLICT DO NOTHING`, t); err != nil {
				return err
			}
		}
		return nil
	}), "store approval tokens")
}

// ApprovalTokenByHash looks a token up by its hash.
func (s *Store) ApprovalTokenByHash(ctx context.Context, hash []byte) (ApprovalToken, error) {
	var t ApprovalToken
	err := s.r.get(ctx, &t, `SELECT token_hash, assignment_id, approver_id, 0 AS extension, expires_at, voided_at
		FROM approval_tokens WHERE token_hash = ?
		UNION ALL SELECT token_hash, assignment_id, approver_id, extension, expires_at, voided_at
		FROM extension_tokens WHERE token_hash = ?`, hash, hash)
	return t, notFound(err, "approval token")
}

// VoidApprovalTokens makes every token of the assignment unusable: the
// request has been decided, withdrawn or has lapsed, or access has ended
// (extension requests' tokens too).
func (s *Store) VoidApprovalTokens(ctx context.Context, assignmentID string, at time.Time) error {
	return wrap(s.inTx(ctx, func(tx conn) error {
		for _, table := range []string{"approval_tokens", "extension_tokens"} {
			if _, err := tx.exec(ctx, `UPDATE `+table+` SET voided_at = ? WHERE assignment_id = ? AND voided_at IS NULL`,
				utc(at), assignmentID); err != nil {
				return err
			}
		}
		return nil
	}), "void approval tokens of %s", assignmentID)
}

// Grant is a row of access a gateway asks about.
type Grant struct {
	AssignmentID string     `db:"assignment_id"`
	SiteID       string     `db:"site_id"`
	UserID       string     `db:"user_id"`
	GrantedAt    time.Time  `db:"granted_at"`
	ExpiresAt    *time.Time `db:"expires_at"`
	RevokedAt    *time.Time `db:"revoked_at"`
}

// PutGrant activates access; activating the same assignment again is a no-op.
func (s *Store) PutGrant(ctx context.Context, g Grant) error {
	g.GrantedAt, g.ExpiresAt = utc(g.GrantedAt), utcPtr(g.ExpiresAt)
	_, err := s.w.namedExec(ctx, `INSERT INTO access_grants (assignment_id, site_id, user_id, granted_at, expires_at)
		VALUES (:assignment_id, :site_id, :user_id, :granted_at, :expires_at) ON CONFLICT (assignment_id) DO NOTHING`, g)
	return wrap(err, "grant access for %s", g.AssignmentID)
}

// RevokeGrant ends access; revoking again is a no-op.
func (s *Store) RevokeGrant(ctx context.Context, assignmentID string, at time.Time) error {
	_, err := s.w.exec(ctx, `UPDATE access_grants SET revoked_at = ? WHERE assignment_id = ? AND revoked_at IS NULL`,
		utc(at), assignmentID)
	return wrap(err, "revoke access for %s", assignmentID)
}

// GrantByAssignment returns the grant of an assignment.
func (s *Store) GrantByAssignment(ctx context.Context, assignmentID string) (Grant, error) {
	var g Grant
	err := s.r.get(ctx, &g, `SELECT assignment_id, site_id, user_id, granted_at, expires_at, revoked_at
		FROM access_grants WHERE assignment_id = ?`, assignmentID)
	return g, notFound(err, "grant")
}

// ActiveGrant answers the gateway's question: the grant that lets the user
// reach the site at now, or ErrNotFound.
func (s *Store) ActiveGrant(ctx context.Context, siteID, userID string, now time.Time) (Grant, error) {
	stmt, err := s.grantStmt(ctx)
	if err != nil {
		return Grant{}, err
	}
	var g Grant
	err = stmt.QueryRowContext(ctx, siteID, userID, utc(now)).Scan(&g.AssignmentID, &g.SiteID, &g.UserID, &g.GrantedAt, &g.ExpiresAt, &g.RevokedAt)
	return g, notFound(err, "grant")
}

// activeGrantQuery is the gateway's question, asked for every connection
// it lets through; access_grants_lookup answers it.
const activeGrantQuery = `SELECT assignment_id, site_id, user_id, granted_at, expires_at, revoked_at
	FROM access_grants WHERE site_id = ? AND user_id = ? AND revoked_at IS NULL
	AND (expires_at IS NULL OR expires_at > ?) ORDER BY granted_at DESC LIMIT 1`

// grantStmt prepares the access check once: a statement parsed and planned
// per connection when first used there, not per request. It reads the
// table each time, so a revocation counts from the next check on.
func (s *Store) grantStmt(ctx context.Context) (*sql.Stmt, error) {
	s.grant.Do(func() {
		db := s.r.x.(*sqlx.DB)
		s.grant.stmt, s.grant.err = db.PrepareContext(context.WithoutCancel(ctx), db.Rebind(activeGrantQuery))
	})
	if s.grant.err != nil {
		return nil, fmt.Errorf("prepare the access check: %w", s.grant.err)
	}
	return s.grant.stmt, nil
}

// ActiveGrants counts grants in force at now (a business metric).
func (s *Store) ActiveGrants(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.r.get(ctx, &n, `SELECT COUNT(*) FROM access_grants WHERE revoked_at IS NULL
		AND (expires_at IS NULL OR expires_at > ?)`, utc(now))
	return n, err
}

// Credential is a Professional temporary directory password, encrypted.
type Credential struct {
	AssignmentID string     `db:"assignment_id"`
	Login        string     `db:"login"`
	Ciphertext   []byte     `db:"ciphertext"`
	CreatedAt    time.Time  `db:"created_at"`
	ViewedAt     *time.Time `db:"viewed_at"`
	DestroyedAt  *time.Time `db:"destroyed_at"`
}

// PutCredential stores a credential unless the assignment already has one.
// It reports whether this call stored it.
func (s *Store) PutCredential(ctx context.Context, c Credential) (bool, error) {
	c.CreatedAt = utc(c.CreatedAt)
	res, err := s.w.namedExec(ctx, `INSERT INTO credentials (assignment_id, login, ciphertext, created_at)
		VALUES (:assignment_id, :login, :ciphertext, :created_at) ON CONFLICT (assignment_id) DO NOTHING`, c)
	if err != nil {
		return false, wrap(err, "store credential for %s", c.AssignmentID)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CredentialByAssignment returns a credential's record (its ciphertext is nil
// once destroyed).
func (s *Store) CredentialByAssignment(ctx context.Context, assignmentID string) (Credential, error) {
	var c Credential
	err := s.r.get(ctx, &c, `SELECT assignment_id, login, ciphertext, created_at, viewed_at, destroyed_at
		FROM credentials WHERE assignment_id = ?`, assignmentID)
	return c, notFound(err, "credential")
}

// TakeCredential returns the credential and destroys its ciphertext in the
// same transaction: it can be viewed once.
func (s *Store) TakeCredential(ctx context.Context, assignmentID string, at time.Time) (Credential, error) {
	var c Credential
	err := s.inTx(ctx, func(tx conn) error {
		// Take the row before reading it: on PostgreSQL a second viewer's
		// UPDATE waits here, then finds the ciphertext gone.
		if _, err := tx.exec(ctx, `UPDATE credentials SET viewed_at = ?
			WHERE assignment_id = ? AND ciphertext IS NOT NULL`, utc(at), assignmentID); err != nil {
			return err
		}
		if err := tx.get(ctx, &c, `SELECT assignment_id, login, ciphertext, created_at, viewed_at, destroyed_at
			FROM credentials WHERE assignment_id = ?`, assignmentID); err != nil {
			return notFound(err, "credential")
		}
		if c.Ciphertext == nil {
			return nil
		}
		_, err := tx.exec(ctx, `UPDATE credentials SET ciphertext = NULL, destroyed_at = ?
			WHERE assignment_id = ?`, utc(at), assignmentID)
		return err
	})
	return c, err
}

// DestroyCredential clears a credential that was never viewed.
func (s *Store) DestroyCredential(ctx context.Context, assignmentID string, at time.Time) error {
	_, err := s.w.exec(ctx, `UPDATE credentials SET ciphertext = NULL, destroyed_at = ?
		WHERE assignment_id = ? AND ciphertext IS NOT NULL`, utc(at), assignmentID)
	return wrap(err, "destroy credential for %s", assignmentID)
}

// GrantInForce is a grant in force with what the reconciler needs to find
// its workflow.
type GrantInForce struct {
	AssignmentID string `db:"assignment_id"`
	WorkflowID   string `db:"workflow_id"`
	Seq          int    `db:"seq"`
}

// GrantsInForce lists the grants in force at now, oldest first.
func (s *Store) GrantsInForce(ctx context.Context, now time.Time, limit int) ([]GrantInForce, error) {
	var gs []GrantInForce
	err := s.r.sel(ctx, &gs, `SELECT g.assignment_id, a.workflow_id, a.seq FROM access_grants g
		JOIN assignments a ON a.id = g.assignment_id
		WHERE g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?)
		ORDER BY g.granted_at LIMIT ?`, utc(now), limit)
	return gs, err
}

// ReplaceCredential stores a new temporary password in place of the old
// one, viewable once again, while the assignment's access is in force at
// at. It reports whether it did: false when access has ended or no
// credential was issued yet. Revocation destroys the credential after
// ending the grant, so a replacement that races with it is destroyed too.
func (s *Store) ReplaceCredential(ctx context.Context, assignmentID string, ciphertext []byte, at time.Time) (bool, error) {
	res, err := s.w.exec(ctx, `UPDATE credentials SET ciphertext = ?, created_at = ?, viewed_at = NULL, destroyed_at = NULL
		WHERE assignment_id = ? AND EXISTS (SELECT 1 FROM access_grants g WHERE g.assignment_id = credentials.assignment_id
			AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?))`,
		ciphertext, utc(at), assignmentID, utc(at))
	if err != nil {
		return false, wrap(err, "replace credential for %s", assignmentID)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
