-- The tamper-evident audit log: one hash chain per scope ('platform', or
-- 'org:<organization id>'). Rows are only ever inserted; a row before a
-- signed checkpoint may be pruned by retention.

CREATE TABLE audit_entries (
    id {id},
    scope TEXT NOT NULL,
    -- 1, 2, 3, … within the scope, with no gaps.
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    -- JSON text, hashed byte for byte as stored.
    details TEXT NOT NULL,
    -- Hex SHA-256: the previous entry's hash, and this entry's hash over
    -- that and its canonical content (koban_policy::audit).
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (scope, seq)
);
CREATE INDEX audit_entries_by_actor ON audit_entries(scope, actor, seq);
CREATE INDEX audit_entries_by_action ON audit_entries(scope, action, seq);
CREATE INDEX audit_entries_by_target ON audit_entries(scope, target, seq);
CREATE INDEX audit_entries_by_time ON audit_entries(scope, at);

-- The last entry of each scope, updated in the same transaction as the
-- insert: appends serialise on this row, and verify knows where the chain
-- must end (an entry removed from the end is seen).
CREATE TABLE audit_heads (
    scope TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

-- Where retention cut a chain: the last pruned entry's sequence and hash,
-- signed with the server key. Verify starts from the newest one.
CREATE TABLE audit_checkpoints (
    id {id},
    scope TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    at BIGINT NOT NULL,
    signature TEXT NOT NULL,
    UNIQUE (scope, seq)
);
