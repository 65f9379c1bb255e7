-- Users' data rights (docs/privacy.md): exports of everything Koban holds
-- about an account, and deletion requests with their grace period. Times
-- are BIGINT milliseconds (UTC).

CREATE TABLE privacy_exports (
    id {id},
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    -- The account while the export is queued or preparing, NULL after:
    -- UNIQUE (NULLs apart) makes "one in progress per account" hold
    -- under parallel requests on both databases.
    in_progress_for BIGINT UNIQUE,
    status TEXT NOT NULL,
    -- Percent of the sections gathered; 100 only once ready.
    progress BIGINT NOT NULL DEFAULT 0,
    -- The archive in the blob store (content-addressed).
    blob_id TEXT,
    bytes BIGINT,
    created_at BIGINT NOT NULL,
    ready_at BIGINT,
    expires_at BIGINT,
    CHECK (status IN ('queued', 'preparing', 'ready', 'failed', 'expired'))
);
CREATE INDEX privacy_exports_by_account ON privacy_exports(account_id, id);
CREATE INDEX privacy_exports_by_expiry ON privacy_exports(status, expires_at);

-- A deletion request: erased after `erase_after` unless the owner signs in
-- (or cancels) first. The row outlives the erasure and holds no personal
-- data: it is the record that the account was erased and when.
CREATE TABLE privacy_deletions (
    id {id},
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    -- The account while the request is pending, NULL after (as above).
    pending_for BIGINT UNIQUE,
    status TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    erase_after BIGINT NOT NULL,
    cancelled_at BIGINT,
    -- 'sign_in' or 'owner'.
    cancelled_by TEXT,
    erased_at BIGINT,
    CHECK (status IN ('requested', 'cancelled', 'erased'))
);
CREATE INDEX privacy_deletions_by_account ON privacy_deletions(account_id, id);
CREATE INDEX privacy_deletions_due ON privacy_deletions(status, erase_after);
