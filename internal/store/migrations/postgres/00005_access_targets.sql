-- +goose Up
-- Where a customer's access is enforced (docs/operations.md, "Access
-- targets"): no row is the gateway rows alone; a row names the customer's
-- Entra ID tenant and how the worker reads the client secret (the secret
-- itself is never stored). Each site names its access group there.
CREATE TABLE access_targets (
    customer_id TEXT PRIMARY KEY REFERENCES customers (id),
    kind        TEXT NOT NULL CHECK (kind IN ('entra')),
    tenant_id   TEXT NOT NULL CHECK (tenant_id <> ''),
    client_id   TEXT NOT NULL CHECK (client_id <> ''),
    secret_env  TEXT NOT NULL DEFAULT '',
    secret_file TEXT NOT NULL DEFAULT '',
    user_domain TEXT NOT NULL CHECK (user_domain <> ''),
    CHECK ((secret_env = '') <> (secret_file = ''))
);
ALTER TABLE sites ADD COLUMN access_group TEXT NOT NULL DEFAULT '';

-- The accounts this product made in customers' directories: one per
-- partner user and customer, named the same on every retry. Drift repair
-- tells them apart from the customer's own members by object_id.
CREATE TABLE directory_accounts (
    user_id     TEXT NOT NULL REFERENCES users (id),
    customer_id TEXT NOT NULL REFERENCES customers (id),
    kind        TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    login       TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL ,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, customer_id)
);
CREATE INDEX directory_accounts_object ON directory_accounts (customer_id, object_id);

-- Revocations the directory has not let happen yet, with what blocks them:
-- the customer's page shows it, partner_access_revocations_pending counts it.
CREATE TABLE revocations_pending (
    assignment_id TEXT PRIMARY KEY REFERENCES assignments (id),
    since         TIMESTAMPTZ NOT NULL,
    last_error    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1
);

-- +goose Down
DROP TABLE revocations_pending;
DROP TABLE directory_accounts;
ALTER TABLE sites DROP COLUMN access_group;
DROP TABLE access_targets;
