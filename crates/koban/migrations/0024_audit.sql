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

-- Entries are never changed, and deleted only behind a checkpoint of their
-- scope (retention writes the checkpoint first, in the same transaction).
-- This stops mistakes and application bugs; someone who can drop triggers
-- can also edit rows, which is what verify is for.
-- only sqlite
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
CREATE TRIGGER audit_entries_delete_behind_checkpoint BEFORE DELETE ON audit_entries
WHEN NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.scope = OLD.scope AND c.seq >= OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit entries are deleted only behind a checkpoint');
END;
-- end only
-- only postgres
CREATE FUNCTION audit_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit entries are append-only';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.scope = OLD.scope AND c.seq >= OLD.seq) THEN
        RAISE EXCEPTION 'audit entries are deleted only behind a checkpoint';
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER audit_entries_guard BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_guard();
-- end only
