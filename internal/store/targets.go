package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Kinds of access target: where a customer's access is enforced.
const (
	// TargetGateway is the rows a gateway reads (GET /api/v1/access), the
	// only target of a customer that names no directory. They are kept for
	// every target.
	TargetGateway = "gateway"
	// TargetEntra is the customer's Microsoft Entra ID tenant.
	TargetEntra = "entra"
	// TargetLDAP is the customer's LDAP directory (OpenLDAP, Active
	// Directory).
	TargetLDAP = "ldap"
)

// Target is where a customer's access is enforced, and how the worker
// reaches it. The client secret itself is never stored: SecretEnv or
// SecretFile names where the worker reads it.
//
// For TargetLDAP the columns named for Entra ID hold a directory's own
// (read them by LDAPURL, BindDN and UsersDN), and the secret is the bind
// password; CAFile, StartTLS and Insecure say how to reach it.
type Target struct {
	Kind       string `db:"kind"`
	TenantID   string `db:"tenant_id"` // LDAP: the server's URL
	ClientID   string `db:"client_id"` // LDAP: the DN the worker binds as
	SecretEnv  string `db:"secret_env"`
	SecretFile string `db:"secret_file"`
	UserDomain string `db:"user_domain"` // LDAP: the DN the partner accounts are made under
	CAFile     string `db:"ca_file"`
	StartTLS   bool   `db:"start_tls"`
	Insecure   bool   `db:"insecure"`
	// AVD names the customer's Azure Virtual Desktop host pools (Entra ID
	// only; empty: none).
	AVDSubscription  string `db:"avd_subscription"`
	AVDResourceGroup string `db:"avd_resource_group"`
	AVDHostPools     string `db:"avd_host_pools"` // comma-separated
}

// HostPools are the AVD host pools the target names, nil for none.
func (t Target) HostPools() []string {
	if t.AVDHostPools == "" {
		return nil
	}
	return strings.Split(t.AVDHostPools, ",")
}

// LDAPURL is an LDAP target's server URL (kept in tenant_id).
func (t Target) LDAPURL() string { return t.TenantID }

// BindDN is the DN the worker binds as to an LDAP target (kept in
// client_id).
func (t Target) BindDN() string { return t.ClientID }

// UsersDN is the DN under which an LDAP target's partner accounts are made
// (kept in user_domain).
func (t Target) UsersDN() string { return t.UserDomain }

// CustomerTarget is the customer's access target; Kind TargetGateway when
// it names none.
func (s *Store) CustomerTarget(ctx context.Context, customerID string) (Target, error) {
	var t Target
	err := s.r.get(ctx, &t, `SELECT kind, tenant_id, client_id, secret_env, secret_file, user_domain, ca_file, start_tls, insecure,
		avd_subscription, avd_resource_group, avd_host_pools
		FROM access_targets WHERE customer_id = ?`, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return Target{Kind: TargetGateway}, nil
	}
	return t, wrap(err, "access target of %s", customerID)
}

// ErrAccessHeld: the change would move where access is enforced (a
// customer's target or tenant, a site's group) while an assignment still
// holds access there. Its removal reads the target when it runs, so it
// would go to the new place and leave the access in the old one.
var ErrAccessHeld = errors.New("an assignment still holds access where it is enforced")

// holding is an SQL condition on an assignment a: it may still hold access
// in a directory. Open, or ended with its removal from the directory not
// yet done (the final state is recorded before the directory lets go).
var holding = `(a.state IN ` + openStates + ` OR EXISTS (SELECT 1 FROM revocations_pending p WHERE p.assignment_id = a.id))`

// customerHeld is true while an assignment on a site of the customer (the
// one bound parameter) holds access.
var customerHeld = `EXISTS (SELECT 1 FROM assignments a JOIN sites s ON s.id = a.site_id
	WHERE s.customer_id = ? AND ` + holding + `)`

// SetCustomerTarget sets the customer's access target; nil (or the
// gateway) removes it. It refuses with ErrAccessHeld to remove the target,
// or to change its kind or tenant, while an assignment of the customer
// holds access (AccessHolds). The check and the write are one statement:
// an assignment recorded before it is seen, and one recorded after reads
// the new target when it activates.
func (s *Store) SetCustomerTarget(ctx context.Context, customerID string, t *Target) error {
	if t == nil || t.Kind == TargetGateway {
		res, err := s.w.exec(ctx, `DELETE FROM access_targets WHERE customer_id = ? AND NOT `+customerHeld, customerID, customerID)
		if err == nil && noRow(res) {
			var kept bool
			if err = s.w.get(ctx, &kept, `SELECT EXISTS (SELECT 1 FROM access_targets WHERE customer_id = ?)`, customerID); err == nil && kept {
				err = ErrAccessHeld
			}
		}
		return wrap(err, "remove access target of %s", customerID)
	}
	res, err := s.w.exec(ctx, `INSERT INTO access_targets (customer_id, kind, tenant_id, client_id, secret_env, secret_file, user_domain,
			ca_file, start_tls, insecure, avd_subscription, avd_resource_group, avd_host_pools)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (customer_id) DO UPDATE SET kind = excluded.kind, tenant_id = excluded.tenant_id,
			client_id = excluded.client_id, secret_env = excluded.secret_env, secret_file = excluded.secret_file,
			user_domain = excluded.user_domain, ca_file = excluded.ca_file, start_tls = excluded.start_tls, insecure = excluded.insecure,
			avd_subscription = excluded.avd_subscription, avd_resource_group = excluded.avd_resource_group,
			avd_host_pools = excluded.avd_host_pools
		WHERE (access_targets.kind = excluded.kind AND access_targets.tenant_id = excluded.tenant_id) OR NOT `+customerHeld,
		customerID, t.Kind, t.TenantID, t.ClientID, t.SecretEnv, t.SecretFile, t.UserDomain, t.CAFile, t.StartTLS, t.Insecure,
		t.AVDSubscription, t.AVDResourceGroup, t.AVDHostPools, customerID)
	if err == nil && noRow(res) {
		err = ErrAccessHeld
	}
	return wrap(err, "set access target of %s", customerID)
}

// SetSiteAccessGroup names the site's access group in its customer's
// directory ("" for none). It refuses with ErrAccessHeld to change a group
// while an assignment of the site holds access; a site without a group
// may get one at any time (nothing of it is in a group yet).
func (s *Store) SetSiteAccessGroup(ctx context.Context, siteID, group string) error {
	res, err := s.w.exec(ctx, `UPDATE sites SET access_group = ? WHERE id = ?
		AND (access_group = '' OR access_group = ? OR NOT EXISTS (SELECT 1 FROM assignments a WHERE a.site_id = sites.id AND `+holding+`))`,
		group, siteID, group)
	if err == nil && noRow(res) {
		var exists bool
		if err = s.w.get(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM sites WHERE id = ?)`, siteID); err == nil {
			err = ErrNotFound
			if exists {
				err = ErrAccessHeld
			}
		}
	}
	return wrap(err, "set access group of site %s", siteID)
}

// noRow reports whether a statement that succeeded changed no row.
func noRow(res sql.Result) bool {
	n, err := res.RowsAffected()
	return err == nil && n == 0
}

// Holds is what may keep a site's access in its customer's directory.
type Holds struct {
	Open    int `db:"open"`    // assignments not yet ended
	Pending int `db:"pending"` // ended, their revocation not yet let through by the directory
}

// Any reports whether anything holds access.
func (h Holds) Any() bool { return h.Open+h.Pending > 0 }

// AccessHolds counts, per site of the customer, the assignments that may
// still hold access in its directory; a site holding none is left out.
func (s *Store) AccessHolds(ctx context.Context, customerID string) (map[string]Holds, error) {
	var rows []struct {
		SiteID string `db:"site_id"`
		Holds
	}
	err := s.r.sel(ctx, &rows, `SELECT a.site_id,
			SUM(CASE WHEN a.state IN `+openStates+` THEN 1 ELSE 0 END) AS open,
			SUM(CASE WHEN a.state IN `+openStates+` THEN 0 ELSE 1 END) AS pending
		FROM assignments a JOIN sites s ON s.id = a.site_id
		WHERE s.customer_id = ? AND `+holding+` GROUP BY a.site_id`, customerID)
	if err != nil {
		return nil, wrap(err, "access held at %s", customerID)
	}
	holds := make(map[string]Holds, len(rows))
	for _, r := range rows {
		holds[r.SiteID] = r.Holds
	}
	return holds, nil
}

// DirectoryAccount is an account this product made for a partner user in a
// customer's directory.
type DirectoryAccount struct {
	UserID     string    `db:"user_id"`
	CustomerID string    `db:"customer_id"`
	Kind       string    `db:"kind"`
	TenantID   string    `db:"tenant_id"`
	ObjectID   string    `db:"object_id"` // the directory's ID of it
	Login      string    `db:"login"`     // its sign-in name (UPN)
	Enabled    bool      `db:"enabled"`
	CreatedAt  time.Time `db:"created_at"`
	UpdatedAt  time.Time `db:"updated_at"`
}

const directoryAccountColumns = `user_id, customer_id, kind, tenant_id, object_id, login, enabled, created_at, updated_at`

// DirectoryAccount is the partner user's account in the customer's
// directory (ErrNotFound when none was made).
func (s *Store) DirectoryAccount(ctx context.Context, userID, customerID string) (DirectoryAccount, error) {
	var a DirectoryAccount
	err := s.r.get(ctx, &a, `SELECT `+directoryAccountColumns+` FROM directory_accounts WHERE user_id = ? AND customer_id = ?`,
		userID, customerID)
	return a, notFound(err, "directory account")
}

// DirectoryAccounts are the accounts made in the customer's directory.
func (s *Store) DirectoryAccounts(ctx context.Context, customerID string) ([]DirectoryAccount, error) {
	var as []DirectoryAccount
	err := s.r.sel(ctx, &as, `SELECT `+directoryAccountColumns+` FROM directory_accounts WHERE customer_id = ? ORDER BY login`, customerID)
	return as, wrap(err, "directory accounts of %s", customerID)
}

// SaveDirectoryAccount records an account, or its new state; the time it
// was made stays the first one recorded.
func (s *Store) SaveDirectoryAccount(ctx context.Context, a DirectoryAccount) error {
	a.CreatedAt, a.UpdatedAt = utc(a.CreatedAt), utc(a.UpdatedAt)
	_, err := s.w.namedExec(ctx, `INSERT INTO directory_accounts (`+directoryAccountColumns+`)
		VALUES (:user_id, :customer_id, :kind, :tenant_id, :object_id, :login, :enabled, :created_at, :updated_at)
		ON CONFLICT (user_id, customer_id) DO UPDATE SET kind = excluded.kind, tenant_id = excluded.tenant_id,
			object_id = excluded.object_id, login = excluded.login, enabled = excluded.enabled, updated_at = excluded.updated_at`, a)
	return wrap(err, "save directory account of %s at %s", a.UserID, a.CustomerID)
}

// DirectoryGrantsInForce counts the user's grants in force at now on the
// customer's sites, other than the assignment's: while there is one, the
// account in the customer's directory stays enabled.
func (s *Store) DirectoryGrantsInForce(ctx context.Context, customerID, userID, exceptAssignment string, now time.Time) (int, error) {
	var n int
	err := s.r.get(ctx, &n, `SELECT COUNT(*) FROM access_grants g JOIN sites s ON s.id = g.site_id
		WHERE s.customer_id = ? AND g.user_id = ? AND g.assignment_id <> ?
		AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?)`, customerID, userID, exceptAssignment, utc(now))
	return n, wrap(err, "grants of %s at %s", userID, customerID)
}

// SetCredential stores the assignment's temporary credential, replacing
// one stored before (a directory's password set again): it is viewable
// once, like the first.
func (s *Store) SetCredential(ctx context.Context, c Credential) error {
	c.CreatedAt = utc(c.CreatedAt)
	_, err := s.w.namedExec(ctx, `INSERT INTO credentials (assignment_id, login, ciphertext, created_at)
		VALUES (:assignment_id, :login, :ciphertext, :created_at)
		ON CONFLICT (assignment_id) DO UPDATE SET login = excluded.login, ciphertext = excluded.ciphertext,
			created_at = excluded.created_at, viewed_at = NULL, destroyed_at = NULL`, c)
	return wrap(err, "set credential for %s", c.AssignmentID)
}

// PendingRevocation is a revocation its directory has not let happen yet.
type PendingRevocation struct {
	AssignmentID string    `db:"assignment_id"`
	Since        time.Time `db:"since"`
	LastError    string    `db:"last_error"`
	Attempts     int       `db:"attempts"`
}

// SetRevocationPending records a failed attempt to revoke, and why.
func (s *Store) SetRevocationPending(ctx context.Context, assignmentID string, at time.Time, why string) error {
	_, err := s.w.exec(ctx, `INSERT INTO revocations_pending (assignment_id, since, last_error) VALUES (?, ?, ?)
		ON CONFLICT (assignment_id) DO UPDATE SET last_error = excluded.last_error,
			attempts = revocations_pending.attempts + 1`, assignmentID, utc(at), why)
	return wrap(err, "record pending revocation of %s", assignmentID)
}

// ClearRevocationPending records that the revocation is done and proven.
func (s *Store) ClearRevocationPending(ctx context.Context, assignmentID string) error {
	_, err := s.w.exec(ctx, `DELETE FROM revocations_pending WHERE assignment_id = ?`, assignmentID)
	return wrap(err, "clear pending revocation of %s", assignmentID)
}

// RevocationsPending counts the revocations still waiting for a directory.
func (s *Store) RevocationsPending(ctx context.Context) (int, error) {
	var n int
	err := s.r.get(ctx, &n, `SELECT COUNT(*) FROM revocations_pending`)
	return n, wrap(err, "count pending revocations")
}

// PendingRevocationOf is the assignment's revocation still waiting, if any
// (ErrNotFound when none).
func (s *Store) PendingRevocationOf(ctx context.Context, assignmentID string) (PendingRevocation, error) {
	var p PendingRevocation
	err := s.r.get(ctx, &p, `SELECT assignment_id, since, last_error, attempts FROM revocations_pending WHERE assignment_id = ?`, assignmentID)
	return p, notFound(err, "pending revocation")
}

// CustomersWithTarget lists the customers whose access target is of kind.
func (s *Store) CustomersWithTarget(ctx context.Context, kind string) ([]string, error) {
	var ids []string
	err := s.r.sel(ctx, &ids, `SELECT customer_id FROM access_targets WHERE kind = ? ORDER BY customer_id`, kind)
	return ids, wrap(err, "customers with %s targets", kind)
}

// GrantsOnSite lists the grants in force on a site at now.
func (s *Store) GrantsOnSite(ctx context.Context, siteID string, now time.Time) ([]Grant, error) {
	var gs []Grant
	err := s.r.sel(ctx, &gs, `SELECT assignment_id, site_id, user_id, granted_at, expires_at, revoked_at FROM access_grants
		WHERE site_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY granted_at`, siteID, utc(now))
	return gs, wrap(err, "grants on %s", siteID)
}

// Phases of a directory's steps.
const (
	PhaseActivate = "activate"
	PhaseRevoke   = "revoke"
)

// DirectoryStep is a step of an activation or a revocation that the
// customer's directory answered.
type DirectoryStep struct {
	AssignmentID string    `db:"assignment_id"`
	Phase        string    `db:"phase"`
	Step         string    `db:"step"`
	Detail       string    `db:"detail"`
	DoneAt       time.Time `db:"done_at"`
}

// DirectorySteps are the assignment's steps answered, of both phases,
// oldest first.
func (s *Store) DirectorySteps(ctx context.Context, assignmentID string) ([]DirectoryStep, error) {
	var steps []DirectoryStep
	err := s.r.sel(ctx, &steps, `SELECT assignment_id, phase, step, detail, done_at FROM directory_steps
		WHERE assignment_id = ? ORDER BY done_at, step`, assignmentID)
	return steps, wrap(err, "directory steps of %s", assignmentID)
}

// SaveDirectoryStep records a step answered; a step recorded again keeps
// its new detail and time.
func (s *Store) SaveDirectoryStep(ctx context.Context, st DirectoryStep) error {
	st.DoneAt = utc(st.DoneAt)
	_, err := s.w.namedExec(ctx, `INSERT INTO directory_steps (assignment_id, phase, step, detail, done_at)
		VALUES (:assignment_id, :phase, :step, :detail, :done_at)
		ON CONFLICT (assignment_id, phase, step) DO UPDATE SET detail = excluded.detail, done_at = excluded.done_at`, st)
	return wrap(err, "save directory step %s of %s", st.Step, st.AssignmentID)
}

// ClearDirectorySteps forgets the assignment's steps in the phase: a phase
// that starts again (a run reset to before it) does every step again.
func (s *Store) ClearDirectorySteps(ctx context.Context, assignmentID, phase string) error {
	_, err := s.w.exec(ctx, `DELETE FROM directory_steps WHERE assignment_id = ? AND phase = ?`, assignmentID, phase)
	return wrap(err, "clear directory steps of %s", assignmentID)
}
