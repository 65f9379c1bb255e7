-- Administrators who asked to be mailed when support replies on any of
-- their organization's tickets (as Zendesk's organization subscriptions).
-- Whether they may still follow the tickets (`support.read_all`, an
-- active membership) is judged when each mail is about to go, so a role
-- taken away stops the mail without touching this table.

CREATE TABLE org_support_subscriptions (
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, account_id)
);
