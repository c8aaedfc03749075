-- +goose Up
-- The steps of an activation or a revocation in a customer's directory
-- that the directory answered (SPEC §16): a retried step resumes after the
-- last one recorded, so no answered write is sent again, even after the
-- worker that made it died.
CREATE TABLE directory_steps (
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    phase         TEXT NOT NULL CHECK (phase IN ('activate', 'revoke')),
    step          TEXT NOT NULL CHECK (step <> ''),
    detail        TEXT NOT NULL DEFAULT '',
    done_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (assignment_id, phase, step)
);

-- +goose Down
DROP TABLE directory_steps;
