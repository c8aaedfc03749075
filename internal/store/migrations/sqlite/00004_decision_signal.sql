-- +goose Up
-- The signal that settled the request: its server's voucher ID. The server
-- that sent a decision reads here that its own decision counted, in the
-- same moment the workflow records it (a second identical decision from
-- the same approver did not count, and must be told so).
ALTER TABLE assignments ADD COLUMN decision_signal TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE assignments DROP COLUMN decision_signal;
