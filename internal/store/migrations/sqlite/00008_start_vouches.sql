-- +goose Up
-- A server's record of each workflow start it vouches for, written before
-- the start: what the run may do (grants), under which workflow ID. The
-- run's first step consumes it, so a start replayed byte for byte, or a run
-- reset to before that step, finds it used and grants nothing (SPEC §7).
CREATE TABLE start_vouches (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    grants      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    consumed_at TIMESTAMP,
    consumed_by TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE start_vouches;
