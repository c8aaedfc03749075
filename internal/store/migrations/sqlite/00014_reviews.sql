-- +goose Up
-- A customer's permission for its partner may end (SPEC §15): NULL lasts
-- until withdrawn. A lapse is a withdrawal (R1).
ALTER TABLE partner_permissions ADD COLUMN granted_until TIMESTAMP;

-- Access reviews (SPEC §15): one per organization and period, kept after
-- its workflow is gone, as the report of what was confirmed and removed.
CREATE TABLE reviews (
    id          TEXT PRIMARY KEY,
    org_kind    TEXT NOT NULL CHECK (org_kind IN ('partner', 'customer')),
    org_id      TEXT NOT NULL,
    started_by  TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    due_at      TIMESTAMP NOT NULL,
    on_missed   TEXT NOT NULL CHECK (on_missed IN ('suspend', 'report')),
    state       TEXT NOT NULL CHECK (state IN ('open', 'finished')),
    finished_at TIMESTAMP
);
CREATE INDEX reviews_org ON reviews (org_id, started_at);
-- One open review per organization at a time.
CREATE UNIQUE INDEX reviews_one_open ON reviews (org_id) WHERE state = 'open';

-- What a review asks to confirm, and what became of it.
CREATE TABLE review_items (
    review_id  TEXT NOT NULL REFERENCES reviews (id),
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'permission', 'professional_access')),
    subject_id TEXT NOT NULL,
    subject    TEXT NOT NULL,
    decision   TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'keep', 'remove', 'missed')),
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TIMESTAMP,
    outcome    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (review_id, id)
);

-- An organization's own review settings, from the directory file (none:
-- REVIEW_EVERY, 30 days to answer, suspend what nobody confirmed).
CREATE TABLE review_settings (
    org_id    TEXT PRIMARY KEY,
    every_s   BIGINT NOT NULL CHECK (every_s > 0),
    due_in_s  BIGINT NOT NULL CHECK (due_in_s > 0),
    on_missed TEXT NOT NULL CHECK (on_missed IN ('suspend', 'report'))
);

-- +goose Down
DROP TABLE review_settings;
DROP TABLE review_items;
DROP TABLE reviews;
ALTER TABLE partner_permissions DROP COLUMN granted_until;
