-- +goose Up
-- The email domains whose addresses sign in through an organization's own
-- provider. The login page hands over by the email's domain alone, so its
-- answer is the same for every address of a domain, known or not; a domain
-- is one organization's.
CREATE TABLE sso_domains (
    domain   TEXT PRIMARY KEY CHECK (domain <> '' AND domain = lower(domain)),
    org_kind TEXT NOT NULL,
    org_id   TEXT NOT NULL,
    FOREIGN KEY (org_kind, org_id) REFERENCES sso_providers (org_kind, org_id) ON DELETE CASCADE
);
CREATE INDEX sso_domains_org ON sso_domains (org_kind, org_id);

-- A provider set before domains were named keeps handing over its users:
-- it gets the email domains of its organization's users, each one that no
-- user of another organization has (that user would be handed over to a
-- provider that refuses them).
WITH user_domains AS (
    SELECT DISTINCT lower(substr(email, instr(email, '@') + 1)) AS domain, kind AS org_kind,
           COALESCE(partner_id, customer_id) AS org_id
    FROM users
), one_org AS (
    SELECT domain, MIN(org_kind) AS org_kind, MIN(org_id) AS org_id
    FROM user_domains GROUP BY domain HAVING COUNT(*) = 1
)
INSERT INTO sso_domains (domain, org_kind, org_id)
SELECT o.domain, o.org_kind, o.org_id
FROM one_org o JOIN sso_providers p ON p.org_kind = o.org_kind AND p.org_id = o.org_id;

-- +goose Down
DROP TABLE sso_domains;
