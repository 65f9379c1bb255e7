-- Search: every node keeps its own full-text index and follows the
-- database through this ordered change log. Triggers on the desk's tables
-- write it, so no write path (an API, a page, a job, a bulk action, another
-- engineer's new feature) can forget to tell search. A change names what
-- changed, never its content: the follower reads the current row, so
-- applying a change twice or late is harmless.

CREATE TABLE search_changes (
    seq {id},
    -- ticket, message, contact (whose tickets' requester may have changed)
    -- or article.
    kind TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    -- Milliseconds (UTC) when the change was written, for pruning.
    at BIGINT NOT NULL
);
CREATE INDEX search_changes_by_time ON search_changes(at);

-- One row: the highest seq the pruning job has deleted. An index whose
-- cursor is below it missed changes and is rebuilt from the database.
CREATE TABLE search_log (
    id BIGINT PRIMARY KEY,
    pruned_through BIGINT NOT NULL
);
INSERT INTO search_log (id, pruned_through) VALUES (1, 0);

-- Only the columns search shows or filters on: the desk touches
-- `updated_at` and the SLA columns far more often than these.
-- only sqlite
CREATE TRIGGER search_ticket_insert AFTER INSERT ON desk_tickets
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('ticket', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_ticket_update AFTER UPDATE OF
    subject, status, category, team, assignee_id, requester_account_id,
    requester_contact_id, organization_id, fields, channel, reference, created_at
ON desk_tickets
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('ticket', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_ticket_delete AFTER DELETE ON desk_tickets
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('ticket', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_message_insert AFTER INSERT ON desk_messages
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('message', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_message_update AFTER UPDATE OF body, public, ticket_id ON desk_messages
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('message', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_message_delete AFTER DELETE ON desk_messages
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('message', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_contact_update AFTER UPDATE OF account_id ON desk_contacts
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('contact', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
-- end only
-- only postgres
-- clock_timestamp, not now(): now() is the transaction's start, and a long
-- transaction would write a time the pruning job already considers old.
CREATE FUNCTION search_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD.id;
    ELSE
        changed := NEW.id;
    END IF;
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES (TG_ARGV[0], changed, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
    RETURN NULL;
END;
$$;
CREATE TRIGGER search_ticket_insert AFTER INSERT OR DELETE ON desk_tickets
    FOR EACH ROW EXECUTE FUNCTION search_change('ticket');
CREATE TRIGGER search_ticket_update AFTER UPDATE OF
    subject, status, category, team, assignee_id, requester_account_id,
    requester_contact_id, organization_id, fields, channel, reference, created_at
ON desk_tickets
    FOR EACH ROW EXECUTE FUNCTION search_change('ticket');
CREATE TRIGGER search_message_change AFTER INSERT OR DELETE OR UPDATE OF body, public, ticket_id ON desk_messages
    FOR EACH ROW EXECUTE FUNCTION search_change('message');
CREATE TRIGGER search_contact_update AFTER UPDATE OF account_id ON desk_contacts
    FOR EACH ROW EXECUTE FUNCTION search_change('contact');
-- end only
