-- Email domains an organization claims and proves (a DNS TXT record, or a
-- code to an administrative mailbox of the domain); people with a verified
-- address at a proven domain may join on their own when the organization
-- allows it. Times are BIGINT milliseconds (UTC).

CREATE TABLE org_domains (
    id {id},
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    -- Lowercase ASCII (koban_policy::org::domains::checked).
    domain TEXT NOT NULL,
    -- 'dns' or 'email'.
    method TEXT NOT NULL,
    -- The token the TXT record must hold (not a secret: it is published).
    token TEXT NOT NULL,
    -- The mailbox a code went to, its keyed hash and wrong tries so far.
    mailbox TEXT,
    code_hash TEXT,
    code_failures BIGINT NOT NULL DEFAULT 0,
    -- 'pending' or 'verified'.
    status TEXT NOT NULL,
    -- 1: people with a verified address at the domain may join.
    auto_join BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    verified_at BIGINT,
    UNIQUE (org_id, domain)
);
-- A domain is proven by one organization at a time.
CREATE UNIQUE INDEX org_domains_one_owner ON org_domains(domain) WHERE status = 'verified';
CREATE INDEX org_domains_by_domain ON org_domains(domain, status);
