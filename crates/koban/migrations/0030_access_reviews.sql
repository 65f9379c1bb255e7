-- Access reviews: who held which roles when a review began, each
-- reviewer's decision on each member, and the sign-off. Times are BIGINT
-- milliseconds (UTC).

CREATE TABLE org_access_reviews (
    id {id},
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    started_by BIGINT NOT NULL REFERENCES accounts(id),
    started_at BIGINT NOT NULL,
    signed_off_by BIGINT REFERENCES accounts(id),
    signed_off_at BIGINT,
    note TEXT
);
-- One review in progress per organization.
CREATE UNIQUE INDEX org_access_reviews_one_open ON org_access_reviews(org_id) WHERE signed_off_at IS NULL;
CREATE INDEX org_access_reviews_by_org ON org_access_reviews(org_id, id);

CREATE TABLE org_access_review_items (
    review_id BIGINT NOT NULL REFERENCES org_access_reviews(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    display_name TEXT NOT NULL,
    -- Role keys and marks (koban_policy::org::review::Mark) as they were
    -- when the review began, comma-separated.
    roles TEXT NOT NULL,
    marks TEXT NOT NULL,
    -- 'keep' or 'revoke'; NULL until decided.
    decision TEXT,
    decided_by BIGINT REFERENCES accounts(id),
    decided_at BIGINT,
    note TEXT,
    PRIMARY KEY (review_id, account_id)
);

-- How often an organization reviews access, and the due date its owners
-- were last reminded of. No row: every 90 days, never reminded.
CREATE TABLE org_review_schedules (
    org_id BIGINT PRIMARY KEY REFERENCES orgs(id),
    every_days BIGINT NOT NULL,
    reminded_for BIGINT
);
