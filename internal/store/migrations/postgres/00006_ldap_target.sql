-- +goose Up
-- The LDAP target (docs/operations.md, "Access in the customer's LDAP or
-- Active Directory"): a customer's access may be enforced in its own LDAP
-- directory. Its row reuses the columns by what they mean for a directory:
-- tenant_id holds the server's URL (where the directory is), client_id the
-- DN the worker binds as, user_domain the DN under which the partner
-- accounts are made; secret_env or secret_file names where the worker reads
-- the bind password.
ALTER TABLE access_targets DROP CONSTRAINT access_targets_kind_check;
ALTER TABLE access_targets ADD CONSTRAINT access_targets_kind_check CHECK (kind IN ('entra', 'ldap'));
ALTER TABLE access_targets ADD COLUMN ca_file TEXT NOT NULL DEFAULT '';
ALTER TABLE access_targets ADD COLUMN start_tls BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE access_targets ADD COLUMN insecure BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
DELETE FROM access_targets WHERE kind = 'ldap';
ALTER TABLE access_targets DROP COLUMN insecure;
ALTER TABLE access_targets DROP COLUMN start_tls;
ALTER TABLE access_targets DROP COLUMN ca_file;
ALTER TABLE access_targets DROP CONSTRAINT access_targets_kind_check;
ALTER TABLE access_targets ADD CONSTRAINT access_targets_kind_check CHECK (kind IN ('entra'));
