-- +goose Up
-- One-time links of the user lifecycle (R2): an invitation to register and a
-- password reset. Only the token's SHA-256 is kept; a link works once
-- (used_at), until it expires, and a newer link of the same purpose voids
-- the older ones.
CREATE TABLE user_tokens (
    token_hash BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    voided_at  TIMESTAMPTZ,
    CHECK (expires_at > created_at)
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);

-- Who invited a user, and when its status last changed (the Users page).
ALTER TABLE users ADD COLUMN invited_by TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_changed_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE users DROP COLUMN status_changed_at;
ALTER TABLE users DROP COLUMN invited_by;
DROP TABLE user_tokens;
