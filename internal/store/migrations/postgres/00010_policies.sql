-- +goose Up
-- Each customer's own policy (R10, SPEC §13), and each site's override of
-- it field by field: the policy as written (JSON, durations as Go duration
-- strings), checked before it is stored; '' sets nothing, so a customer
-- without a policy keeps the seed's behaviour.
ALTER TABLE customers ADD COLUMN policy TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN policy TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sites DROP COLUMN policy;
ALTER TABLE customers DROP COLUMN policy;
