-- The tamper-evident audit log: per scope (`platform`, later one per
-- organization) a chain in which each entry holds the hash of the one
-- before it and of its own content (koban_policy::audit). Verification
-- reads the entries in the order they were written (id) and compares the
-- last with the head kept apart, so a changed, removed, inserted or
-- reordered entry is named.
CREATE TABLE audit_entries (
    id {id},
    scope TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    -- `account:<id>`, or `system`.
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    -- `account:<id>`, `ticket:<reference>` …
    target TEXT NOT NULL,
    -- JSON.
    details TEXT NOT NULL,
    prev_hash {blob} NOT NULL,
    hash {blob} NOT NULL,
    -- Two appends racing cannot both become entry n: one fails and nothing
    -- forks the chain.
    UNIQUE (scope, seq)
);
CREATE INDEX audit_entries_by_actor ON audit_entries(scope, actor, seq);
CREATE INDEX audit_entries_by_target ON audit_entries(scope, target, seq);

-- Each chain's last entry, kept apart from the entries: removing the last
-- entries, or rewriting the last one, is seen against it.
CREATE TABLE audit_heads (
    scope TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash {blob} NOT NULL
);
