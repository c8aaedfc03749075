-- +goose Up
-- The LDAP target (docs/operations.md, "Access in the customer's LDAP or
-- Active Directory"): a customer's access may be enforced in its own LDAP
-- directory. Its row reuses the columns by what they mean for a directory:
-- tenant_id holds the server's URL (where the directory is), client_id the
-- DN the worker binds as, user_domain the DN under which the partner
-- accounts are made; secret_env or secret_file names where the worker reads
-- the bind password. SQLite cannot change a CHECK, so the table is made
-- again with the new kind and columns.
CREATE TABLE access_targets_new (
    customer_id TEXT PRIMARY KEY REFERENCES customers (id),
    kind        TEXT NOT NULL CHECK (kind IN ('entra', 'ldap')),
    tenant_id   TEXT NOT NULL CHECK (tenant_id <> ''),
    client_id   TEXT NOT NULL CHECK (client_id <> ''),
    secret_env  TEXT NOT NULL DEFAULT '',
    secret_file TEXT NOT NULL DEFAULT '',
    user_domain TEXT NOT NULL CHECK (user_domain <> ''),
    ca_file     TEXT NOT NULL DEFAULT '',
    start_tls   BOOLEAN NOT NULL DEFAULT 0,
    insecure    BOOLEAN NOT NULL DEFAULT 0,
    CHECK ((secret_env = '') <> (secret_file = ''))
);
INSERT INTO access_targets_new (customer_id, kind, tenant_id, client_id, secret_env, secret_file, user_domain)
    SELECT customer_id, kind, tenant_id, client_id, secret_env, secret_file, user_domain FROM access_targets;
DROP TABLE access_targets;
ALTER TABLE access_targets_new RENAME TO access_targets;

-- +goose Down
DELETE FROM access_targets WHERE kind = 'ldap';
ALTER TABLE access_targets DROP COLUMN insecure;
ALTER TABLE access_targets DROP COLUMN start_tls;
ALTER TABLE access_targets DROP COLUMN ca_file;
