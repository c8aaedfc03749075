-- +goose Up
-- Requests for more Standard access (issue 13). Each is numbered within
-- its assignment; it is decided like the first request, by an approver's
-- one-time link, before its deadline.
CREATE TABLE extensions (
    assignment_id     TEXT NOT NULL REFERENCES assignments (id),
    n                 INTEGER NOT NULL CHECK (n > 0),
    duration          TEXT NOT NULL,
    reason            TEXT NOT NULL,
    requested_by      TEXT NOT NULL,
    requested_at      TIMESTAMPTZ NOT NULL,
    approval_deadline TIMESTAMPTZ NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'lapsed')),
    decided_by        TEXT NOT NULL DEFAULT '',
    decided_at        TIMESTAMPTZ,
    ends_before       TIMESTAMPTZ NOT NULL,
    ends_after        TIMESTAMPTZ,
    PRIMARY KEY (assignment_id, n)
);

-- One token per (extension, approver), like approval_tokens.
CREATE TABLE extension_tokens (
    token_hash    BYTEA PRIMARY KEY,
    assignment_id TEXT NOT NULL,
    extension     INTEGER NOT NULL,
    approver_id   TEXT NOT NULL REFERENCES users (id),
    expires_at    TIMESTAMPTZ NOT NULL,
    voided_at     TIMESTAMPTZ,
    FOREIGN KEY (assignment_id, extension) REFERENCES extensions (assignment_id, n),
    UNIQUE (assignment_id, extension, approver_id)
);

-- +goose Down
DROP TABLE extension_tokens;
DROP TABLE extensions;
