-- +goose Up
-- A customer's policy (R10, SPEC §13) may ask for several approvals and
-- start access later: an assignment records how many approvals it needs and
-- when its access starts, each approval that counted is kept, and the state
-- scheduled (approved, not started) is open, so R8 holds for it too.
ALTER TABLE assignments DROP CONSTRAINT assignments_state_check;
ALTER TABLE assignments ADD CONSTRAINT assignments_state_check CHECK (state IN (
    'requested', 'pending_approval', 'scheduled', 'provisioning', 'active',
    'expired', 'revoked', 'denied', 'approval_expired', 'withdrawn', 'failed'));
DROP INDEX assignments_one_open;
CREATE UNIQUE INDEX assignments_one_open ON assignments (site_id, partner_user_id)
    WHERE state IN ('requested', 'pending_approval', 'scheduled', 'provisioning', 'active');
ALTER TABLE assignments ADD COLUMN approvals_required INTEGER NOT NULL DEFAULT 1 CHECK (approvals_required > 0);
ALTER TABLE assignments ADD COLUMN starts_at TIMESTAMPTZ;
-- The approvals that counted, of the request (extension 0) and of each
-- extension request; an approver counts once for each.
CREATE TABLE approvals (
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    extension     INTEGER NOT NULL DEFAULT 0 CHECK (extension >= 0),
    approver_id   TEXT NOT NULL REFERENCES users (id),
    approved_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (assignment_id, extension, approver_id)
);

-- +goose Down
-- A scheduled assignment has no state to go back to: the old CHECK refuses
-- it, and the downgrade stops.
DROP TABLE approvals;
ALTER TABLE assignments DROP COLUMN starts_at;
ALTER TABLE assignments DROP COLUMN approvals_required;
DROP INDEX assignments_one_open;
CREATE UNIQUE INDEX assignments_one_open ON assignments (site_id, partner_user_id)
    WHERE state IN ('requested', 'pending_approval', 'provisioning', 'active');
ALTER TABLE assignments DROP CONSTRAINT assignments_state_check;
ALTER TABLE assignments ADD CONSTRAINT assignments_state_check CHECK (state IN (
    'requested', 'pending_approval', 'provisioning', 'active',
    'expired', 'revoked', 'denied', 'approval_expired', 'withdrawn', 'failed'));
