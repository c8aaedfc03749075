-- +goose Up
-- The schema of migrations/sqlite/00001_schema.sql in PostgreSQL's types:
-- TIMESTAMPTZ for TIMESTAMP, BYTEA for BLOB, BOOLEAN for 0/1, an identity
-- column for AUTOINCREMENT, a unique index on lower(email) for COLLATE NOCASE,
-- and a PL/pgSQL trigger for RAISE(ABORT). The constraints are the same.

-- The directory: who exists, who belongs to whom, which sites there are.
CREATE TABLE partners (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL CHECK (name <> '')
);

CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL CHECK (name <> ''),
    -- The partner whose account the customer is under (R1).
    partner_id TEXT NOT NULL REFERENCES partners (id)
);

-- A customer's permission for its partner to assign users to its sites (R1).
CREATE TABLE partner_permissions (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    partner_id  TEXT NOT NULL REFERENCES partners (id),
    granted     BOOLEAN NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (customer_id, partner_id)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL CHECK (email LIKE '%_@_%'),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('partner', 'customer')),
    partner_id    TEXT REFERENCES partners (id),
    customer_id   TEXT REFERENCES customers (id),
    -- invited: not yet registered; active; suspended (R2).
    status        TEXT NOT NULL CHECK (status IN ('invited', 'active', 'suspended')),
    registered_at TIMESTAMPTZ,
    password_hash TEXT NOT NULL DEFAULT '',
    CHECK ((kind = 'partner' AND partner_id IS NOT NULL AND customer_id IS NULL)
        OR (kind = 'customer' AND customer_id IS NOT NULL AND partner_id IS NULL)),
    CHECK (status = 'invited' OR registered_at IS NOT NULL)
);
-- One user per email, whatever its case.
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_partner ON users (partner_id);
CREATE INDEX users_customer ON users (customer_id);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL CHECK (role IN (
        'Partner Support Agent', 'Partner Consultant', 'Partner Administrator',
        'Customer Administrator', 'Customer Operations Agent')),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE sites (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL CHECK (name <> ''),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    edition     TEXT NOT NULL CHECK (edition IN ('standard', 'professional'))
);

-- The projection of each assignment workflow, for fast reads. The workflow
-- history is the truth; seq orders the transitions it records.
CREATE TABLE assignments (
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
    requested_at    TIMESTAMPTZ NOT NULL,
    approval_deadline TIMESTAMPTZ,
    decided_by      TEXT NOT NULL DEFAULT '',
    decision        TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'approved', 'denied')),
    decided_at      TIMESTAMPTZ,
    activated_at    TIMESTAMPTZ,
    access_ends_at  TIMESTAMPTZ,
    ended_at        TIMESTAMPTZ,
    ended_by        TEXT NOT NULL DEFAULT '',
    end_reason      TEXT NOT NULL DEFAULT '',
    failure         TEXT NOT NULL DEFAULT '',
    updated_at      TIMESTAMPTZ NOT NULL
);
-- R8: at most one open assignment per (site, partner user). The workflow ID
-- enforces it in Temporal; this index keeps the projection honest.
CREATE UNIQUE INDEX assignments_one_open ON assignments (site_id, partner_user_id)
    WHERE state IN ('requested', 'pending_approval', 'provisioning', 'active');
CREATE INDEX assignments_site ON assignments (site_id, requested_at);
CREATE INDEX assignments_user ON assignments (partner_user_id);

-- One token per (assignment, approver); only its SHA-256 is kept.
CREATE TABLE approval_tokens (
    token_hash    BYTEA PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    approver_id   TEXT NOT NULL REFERENCES users (id),
    expires_at    TIMESTAMPTZ NOT NULL,
    voided_at     TIMESTAMPTZ,
    UNIQUE (assignment_id, approver_id)
);

-- Professional temporary directory passwords, encrypted; the ciphertext is
-- cleared once viewed or when access ends.
CREATE TABLE credentials (
    assignment_id TEXT PRIMARY KEY REFERENCES assignments (id),
    login         TEXT NOT NULL,
    ciphertext    BYTEA,
    created_at    TIMESTAMPTZ NOT NULL,
    viewed_at     TIMESTAMPTZ,
    destroyed_at  TIMESTAMPTZ,
    CHECK ((ciphertext IS NULL) = (destroyed_at IS NOT NULL))
);

-- What a gateway asks about: may this user reach this site now?
CREATE TABLE access_grants (
    assignment_id TEXT PRIMARY KEY REFERENCES assignments (id),
    site_id       TEXT NOT NULL REFERENCES sites (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    granted_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX access_grants_lookup ON access_grants (site_id, user_id) WHERE revoked_at IS NULL;

-- Every email, keyed by (assignment, kind, recipient) so a retried activity
-- does not send twice. Bodies are kept only for the local dev mailbox.
CREATE TABLE emails (
    idem_key      TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL,
    kind          TEXT NOT NULL,
    to_addr       TEXT NOT NULL,
    from_addr     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    text_body     TEXT NOT NULL DEFAULT '',
    html_body     TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'local', 'failed')),
    provider_id   TEXT NOT NULL DEFAULT '',
    error         TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX emails_assignment ON emails (assignment_id, created_at);
CREATE INDEX emails_local ON emails (created_at) WHERE status = 'local';

-- Append-only: every state change and every refused attempt.
CREATE TABLE audit_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    actor_id      TEXT NOT NULL,
    action        TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
    assignment_id TEXT NOT NULL DEFAULT '',
    site_id       TEXT NOT NULL DEFAULT '',
    customer_id   TEXT NOT NULL DEFAULT '',
    partner_id    TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '',
    -- Set by retried writers (workflow activities) so a retry adds nothing.
    event_key     TEXT UNIQUE
);
CREATE INDEX audit_assignment ON audit_log (assignment_id, id);
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only';
END
$$;
-- +goose StatementEnd
-- Per statement, so even one that touches no row (or TRUNCATE) is refused.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- +goose Down
DROP TABLE sessions;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only;
DROP TABLE emails;
DROP TABLE access_grants;
DROP TABLE credentials;
DROP TABLE approval_tokens;
DROP TABLE assignments;
DROP TABLE sites;
DROP TABLE user_roles;
DROP TABLE users;
DROP TABLE partner_permissions;
DROP TABLE customers;
DROP TABLE partners;
