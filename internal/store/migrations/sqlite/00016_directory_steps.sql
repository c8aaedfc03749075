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
    done_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (assignment_id, phase, step)
);
-- A customer on Entra ID may name its Azure Virtual Desktop host pools: the
-- partner accounts' open sessions there are warned and logged off.
ALTER TABLE access_targets ADD COLUMN avd_subscription TEXT NOT NULL DEFAULT '';
ALTER TABLE access_targets ADD COLUMN avd_resource_group TEXT NOT NULL DEFAULT '';
ALTER TABLE access_targets ADD COLUMN avd_host_pools TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE access_targets DROP COLUMN avd_host_pools;
ALTER TABLE access_targets DROP COLUMN avd_resource_group;
ALTER TABLE access_targets DROP COLUMN avd_subscription;
DROP TABLE directory_steps;
