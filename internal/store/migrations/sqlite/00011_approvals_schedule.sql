-- +goose NO TRANSACTION
-- +goose Up
-- A customer's policy (R10, SPEC §13) may ask for several approvals and
-- start access later: an assignment records how many approvals it needs and
-- when its access starts, each approval that counted is kept, and the state
-- scheduled (approved, not started) is open, so R8 holds for it too.
--
-- SQLite cannot change a CHECK, so assignments is made again, the way
-- SQLite's documentation asks for a table other tables reference
-- (https://www.sqlite.org/lang_altertable.html#otheralter): foreign keys off
-- outside the transaction, or dropping the old table would empty or break
-- its five children; the children's rows checked before the commit. This
-- runs on the store's one writer connection (goose holds it for the whole
-- migration), so the pragma and the transaction stay on it.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE assignments_new (
    id              TEXT PRIMARY KEY,
    workflow_id     TEXT NOT NULL,
    site_id         TEXT NOT NULL REFERENCES sites (id),
    partner_user_id TEXT NOT NULL REFERENCES users (id),
    role            TEXT NOT NULL,
    reason          TEXT NOT NULL CHECK (reason <> ''),
    edition         TEXT NOT NULL CHECK (edition IN ('standard', 'professional')),
    state           TEXT NOT NULL CHECK (state IN (
        'requested', 'pending_approval', 'scheduled', 'provisioning', 'active',
        'expired', 'revoked', 'denied', 'approval_expired', 'withdrawn', 'failed')),
    seq             INTEGER NOT NULL DEFAULT 0,
    requested_by    TEXT NOT NULL,
    requested_at    TIMESTAMP NOT NULL,
    approval_deadline TIMESTAMP,
    decided_by      TEXT NOT NULL DEFAULT '',
    decision        TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'approved', 'denied')),
    decided_at      TIMESTAMP,
    activated_at    TIMESTAMP,
    access_ends_at  TIMESTAMP,
    ended_at        TIMESTAMP,
    ended_by        TEXT NOT NULL DEFAULT '',
    end_reason      TEXT NOT NULL DEFAULT '',
    failure         TEXT NOT NULL DEFAULT '',
    updated_at      TIMESTAMP NOT NULL,
    decision_signal TEXT NOT NULL DEFAULT '',
    approvals_required INTEGER NOT NULL DEFAULT 1 CHECK (approvals_required > 0),
    starts_at       TIMESTAMP
);
INSERT INTO assignments_new (id, workflow_id, site_id, partner_user_id, role, reason, edition, state, seq,
        requested_by, requested_at, approval_deadline, decided_by, decision, decided_at, activated_at,
        access_ends_at, ended_at, ended_by, end_reason, failure, updated_at, decision_signal)
    SELECT id, workflow_id, site_id, partner_user_id, role, reason, edition, state, seq,
        requested_by, requested_at, approval_deadline, decided_by, decision, decided_at, activated_at,
        access_ends_at, ended_at, ended_by, end_reason, failure, updated_at, decision_signal
    FROM assignments;
DROP TABLE assignments;
ALTER TABLE assignments_new RENAME TO assignments;
-- R8: at most one open assignment per (site, partner user).
CREATE UNIQUE INDEX assignments_one_open ON assignments (site_id, partner_user_id)
    WHERE state IN ('requested', 'pending_approval', 'scheduled', 'provisioning', 'active');
CREATE INDEX assignments_site ON assignments (site_id, requested_at);
CREATE INDEX assignments_user ON assignments (partner_user_id);
-- The approvals that counted, of the request (extension 0) and of each
-- extension request; an approver counts once for each.
CREATE TABLE approvals (
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    extension     INTEGER NOT NULL DEFAULT 0 CHECK (extension >= 0),
    approver_id   TEXT NOT NULL REFERENCES users (id),
    approved_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (assignment_id, extension, approver_id)
);
-- A pragma's rows do not fail a statement: a row of foreign_key_check
-- breaks this table's CHECK, and the migration stops before its commit.
CREATE TEMP TABLE foreign_key_violations (n INTEGER CHECK (n = 0));
INSERT INTO foreign_key_violations SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE foreign_key_violations;
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
-- A scheduled assignment has no state to go back to: the old CHECK refuses
-- it, and the downgrade stops before its commit.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE approvals;
CREATE TABLE assignments_old (
    id              TEXT PRIMARY KEY,
    workflow_id     TEXT NOT NULL,
    site_id         TEXT NOT NULL REFERENCES sites (id),
    partner_user_id TEXT NOT NULL REFERENCES users (id),
    role            TEXT NOT NULL,
    reason          TEXT NOT NULL CHECK (reason <> ''),
    edition         TEXT NOT NULL CHECK (edition IN ('standard', 'professional')),
    state           TEXT NOT NULL CHECK (state IN (
        'requested', 'pending_approval', 'provisioning', 'active',
        'expired', 'revoked', 'denied', 'approval_expired', 'withdrawn', 'failed')),
    seq             INTEGER NOT NULL DEFAULT 0,
    requested_by    TEXT NOT NULL,
    requested_at    TIMESTAMP NOT NULL,
    approval_deadline TIMESTAMP,
    decided_by      TEXT NOT NULL DEFAULT '',
    decision        TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'approved', 'denied')),
    decided_at      TIMESTAMP,
    activated_at    TIMESTAMP,
    access_ends_at  TIMESTAMP,
    ended_at        TIMESTAMP,
    ended_by        TEXT NOT NULL DEFAULT '',
    end_reason      TEXT NOT NULL DEFAULT '',
    failure         TEXT NOT NULL DEFAULT '',
    updated_at      TIMESTAMP NOT NULL,
    decision_signal TEXT NOT NULL DEFAULT ''
);
INSERT INTO assignments_old (id, workflow_id, site_id, partner_user_id, role, reason, edition, state, seq,
        requested_by, requested_at, approval_deadline, decided_by, decision, decided_at, activated_at,
        access_ends_at, ended_at, ended_by, end_reason, failure, updated_at, decision_signal)
    SELECT id, workflow_id, site_id, partner_user_id, role, reason, edition, state, seq,
        requested_by, requested_at, approval_deadline, decided_by, decision, decided_at, activated_at,
        access_ends_at, ended_at, ended_by, end_reason, failure, updated_at, decision_signal
    FROM assignments;
DROP TABLE assignments;
ALTER TABLE assignments_old RENAME TO assignments;
CREATE UNIQUE INDEX assignments_one_open ON assignments (site_id, partner_user_id)
    WHERE state IN ('requested', 'pending_approval', 'provisioning', 'active');
CREATE INDEX assignments_site ON assignments (site_id, requested_at);
CREATE INDEX assignments_user ON assignments (partner_user_id);
CREATE TEMP TABLE foreign_key_violations (n INTEGER CHECK (n = 0));
INSERT INTO foreign_key_violations SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE foreign_key_violations;
COMMIT;
PRAGMA foreign_keys = ON;
