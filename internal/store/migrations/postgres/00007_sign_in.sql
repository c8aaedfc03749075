-- +goose Up
-- Sign-in through an organization's own OpenID Connect provider
-- (docs/operations.md, "Sign-in through your identity provider"). The
-- client secret itself is never stored: secret_env or secret_file names
-- where the server reads it.
CREATE TABLE sso_providers (
    org_kind        TEXT NOT NULL CHECK (org_kind IN ('partner', 'customer')),
    org_id          TEXT NOT NULL,
    issuer          TEXT NOT NULL CHECK (issuer <> ''),
    client_id       TEXT NOT NULL CHECK (client_id <> ''),
    secret_env      TEXT NOT NULL DEFAULT '',
    secret_file     TEXT NOT NULL DEFAULT '',
    local_passwords TEXT NOT NULL DEFAULT 'allowed' CHECK (local_passwords IN ('allowed', 'disabled')),
    PRIMARY KEY (org_kind, org_id),
    CHECK ((secret_env = '') <> (secret_file = ''))
);

-- The provider's subject, bound to the user at its first sign-in there: a
-- later sign-in with another subject for the same email is refused.
ALTER TABLE users ADD COLUMN sso_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN sso_subject TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_sso_subject ON users (sso_issuer, sso_subject) WHERE sso_subject <> '';

-- How a session was opened: 'password', or 'sso' and the issuer.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
ALTER TABLE sessions ADD COLUMN issuer TEXT NOT NULL DEFAULT '';

-- Sign-ins under way, between the redirect to the provider and its answer:
-- found by the state's hash, for the browser whose cookie hashes to
-- browser_hash, once (the row is deleted as it is read), until expires_at.
-- The PKCE verifier is sealed with the service's key.
CREATE TABLE sso_pending (
    state_hash   BYTEA PRIMARY KEY,
    browser_hash BYTEA NOT NULL,
    org_kind     TEXT NOT NULL,
    org_id       TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    nonce_hash   BYTEA NOT NULL,
    verifier     BYTEA NOT NULL,
    next_path    TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE sso_pending;
ALTER TABLE sessions DROP COLUMN issuer;
ALTER TABLE sessions DROP COLUMN method;
DROP INDEX users_sso_subject;
ALTER TABLE users DROP COLUMN sso_subject;
ALTER TABLE users DROP COLUMN sso_issuer;
DROP TABLE sso_providers;
