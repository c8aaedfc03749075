-- +goose Up
-- Approvals where people work (SPEC §14): the channel each decision came
-- through (email, page, teams, slack) on the audit log, the assignment and
-- each approval that counted; the chat workspaces customers opted in to;
-- each request delivered to an approver in a chat; and the Teams
-- conversations bound to customer users.
ALTER TABLE audit_log ADD COLUMN via TEXT NOT NULL DEFAULT '';
ALTER TABLE assignments ADD COLUMN decided_via TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN via TEXT NOT NULL DEFAULT '';
-- A customer's workspace in a chat service: its Entra tenant for Teams,
-- its team ID for Slack. One workspace belongs to one customer.
CREATE TABLE chat_workspaces (
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    channel      TEXT NOT NULL CHECK (channel <> ''),
    workspace_id TEXT NOT NULL CHECK (workspace_id <> ''),
    PRIMARY KEY (customer_id, channel),
    UNIQUE (channel, workspace_id)
);
-- One request (the first, extension 0, or extension request n) delivered
-- to one approver in one channel: where it went (ref, the channel's own
-- reference) and how the delivery stands.
CREATE TABLE chat_deliveries (
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    extension     INTEGER NOT NULL DEFAULT 0 CHECK (extension >= 0),
    approver_id   TEXT NOT NULL REFERENCES users (id),
    channel       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'unreachable', 'failed', 'skipped')),
    ref           TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (assignment_id, extension, approver_id, channel)
);
-- The Teams 1:1 conversation of a customer user, bound when the bot was
-- installed for them; the member's Entra object ID proves a click is theirs.
CREATE TABLE teams_bindings (
    user_id         TEXT PRIMARY KEY REFERENCES users (id),
    customer_id     TEXT NOT NULL REFERENCES customers (id),
    tenant_id       TEXT NOT NULL,
    aad_object_id   TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    service_url     TEXT NOT NULL,
    bound_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, aad_object_id)
);

-- +goose Down
DROP TABLE teams_bindings;
DROP TABLE chat_deliveries;
DROP TABLE chat_workspaces;
ALTER TABLE approvals DROP COLUMN via;
ALTER TABLE assignments DROP COLUMN decided_via;
ALTER TABLE audit_log DROP COLUMN via;
