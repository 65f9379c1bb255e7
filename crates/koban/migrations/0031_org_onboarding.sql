-- Member security onboarding: the organization's security notice (a new
-- version must be read again), and what members acknowledged. Whether
-- two-step verification is on and recovery codes exist is read from the
-- security center's tables, never stored here.

CREATE TABLE org_security_notices (
    org_id BIGINT PRIMARY KEY REFERENCES orgs(id),
    body TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES accounts(id)
);

CREATE TABLE org_onboarding_acks (
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    -- 'devices_reviewed' or 'security_notice' (koban_policy::org::onboarding::Item).
    item TEXT NOT NULL,
    -- The notice version read; 0 for the device review.
    version BIGINT NOT NULL,
    done_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, account_id, item)
);
