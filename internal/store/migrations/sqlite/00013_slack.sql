-- +goose Up
-- Approvals in Slack (SPEC §14). A customer that opts in names its own Slack
-- app's workspace and where the server and the worker read the app's bot
-- token and signing secret; the secrets themselves are never stored.
CREATE TABLE slack_workspaces (
    customer_id         TEXT PRIMARY KEY REFERENCES customers (id),
    team_id             TEXT NOT NULL UNIQUE,
    bot_token_env       TEXT NOT NULL DEFAULT '',
    bot_token_file      TEXT NOT NULL DEFAULT '',
    signing_secret_env  TEXT NOT NULL DEFAULT '',
    signing_secret_file TEXT NOT NULL DEFAULT ''
);
-- The direct message of each approver of each request (extension 0) and
-- extension request: where it went (channel and ts, once Slack answered the
-- post, so a retry does not post again), to which Slack user, and whether
-- its buttons decide (in_chat) or open the approval page (sign_in), and
-- the request as asked (JSON), so that the message is redrawn as it stands.
CREATE TABLE slack_messages (
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    extension     INTEGER NOT NULL DEFAULT 0 CHECK (extension >= 0),
    approver_id   TEXT NOT NULL REFERENCES users (id),
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    slack_user_id TEXT NOT NULL DEFAULT '',
    channel_id    TEXT NOT NULL DEFAULT '',
    ts            TEXT NOT NULL DEFAULT '',
    decisions     TEXT NOT NULL DEFAULT 'in_chat' CHECK (decisions IN ('in_chat', 'sign_in')),
    request       TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT '',
    sent_at       TIMESTAMP,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (assignment_id, extension, approver_id)
);
-- Each signed click answered, by the hash of its signature: a replay of it
-- (the same body and timestamp, within the 5 minutes a signature is
-- accepted) is answered again and never decides twice.
CREATE TABLE slack_clicks (
    signature_hash TEXT PRIMARY KEY,
    assignment_id  TEXT NOT NULL,
    approver_id    TEXT NOT NULL,
    answer         TEXT NOT NULL DEFAULT '',
    at             TIMESTAMP NOT NULL
);
CREATE INDEX slack_clicks_at ON slack_clicks (at);

-- +goose Down
DROP TABLE slack_clicks;
DROP TABLE slack_messages;
DROP TABLE slack_workspaces;
