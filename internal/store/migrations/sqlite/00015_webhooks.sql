-- +goose Up
-- Webhooks (SPEC §15): each organization's endpoints, and each event staged
-- for one of them. cursor is the last audit entry staged for the endpoint:
-- staging an entry and moving the cursor are one transaction, so an entry
-- is staged once and never skipped. The secret of an endpoint made through
-- the API is kept sealed (secret.Keys, bound to the endpoint's ID); one
-- from the directory file is never stored: secret_env or secret_file names
-- where the worker reads it.
CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    org_kind          TEXT NOT NULL CHECK (org_kind IN ('partner', 'customer')),
    org_id            TEXT NOT NULL,
    url               TEXT NOT NULL CHECK (url <> ''),
    events            TEXT NOT NULL DEFAULT '',
    secret_sealed     BLOB,
    secret_env        TEXT NOT NULL DEFAULT '',
    secret_file       TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL CHECK (source IN ('api', 'directory')),
    created_by        TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    cursor            INTEGER NOT NULL DEFAULT 0,
    paused_at         TIMESTAMP,
    paused_reason     TEXT NOT NULL DEFAULT '',
    deleted_at        TIMESTAMP,
    CHECK (secret_sealed IS NOT NULL OR secret_env <> '' OR secret_file <> '')
);
CREATE INDEX webhooks_org ON webhooks (org_kind, org_id);

CREATE TABLE webhook_deliveries (
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id),
    audit_id        INTEGER NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    type            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    staged_at       TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    delivered_at    TIMESTAMP,
    PRIMARY KEY (webhook_id, audit_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, status, audit_id);

-- The evidence report pages assignments by (requested_at, id).
CREATE INDEX assignments_requested ON assignments (requested_at, id);
CREATE INDEX audit_action ON audit_log (action, assignment_id);

-- +goose Down
DROP INDEX audit_action;
DROP INDEX assignments_requested;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
