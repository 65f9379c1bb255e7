-- The member directory's search without reading every member: a search of
-- three characters or more finds its candidates through a trigram index of
-- names, emails and phones (FTS5's trigram tokenizer on SQLite, pg_trgm on
-- PostgreSQL); a shorter one matches the start of them through ordinary
-- indexes. The directory still checks each candidate against the search
-- itself, so an index only narrows, it never decides.

-- only sqlite
CREATE VIRTUAL TABLE org_member_name_grams USING fts5(display_name, tokenize = 'trigram');
INSERT INTO org_member_name_grams (rowid, display_name) SELECT rowid, display_name FROM org_members;
CREATE TRIGGER org_member_name_grams_insert AFTER INSERT ON org_members
BEGIN
    INSERT INTO org_member_name_grams (rowid, display_name) VALUES (NEW.rowid, NEW.display_name);
END;
CREATE TRIGGER org_member_name_grams_update AFTER UPDATE OF display_name ON org_members
BEGIN
    UPDATE org_member_name_grams SET display_name = NEW.display_name WHERE rowid = OLD.rowid;
END;
CREATE TRIGGER org_member_name_grams_delete AFTER DELETE ON org_members
BEGIN
    DELETE FROM org_member_name_grams WHERE rowid = OLD.rowid;
END;

CREATE VIRTUAL TABLE account_contact_grams USING fts5(email, phone, tokenize = 'trigram');
INSERT INTO account_contact_grams (rowid, email, phone) SELECT id, email, phone FROM accounts;
CREATE TRIGGER account_contact_grams_insert AFTER INSERT ON accounts
BEGIN
    INSERT INTO account_contact_grams (rowid, email, phone) VALUES (NEW.id, NEW.email, NEW.phone);
END;
CREATE TRIGGER account_contact_grams_update AFTER UPDATE OF email, phone ON accounts
BEGIN
    UPDATE account_contact_grams SET email = NEW.email, phone = NEW.phone WHERE rowid = OLD.id;
END;
CREATE TRIGGER account_contact_grams_delete AFTER DELETE ON accounts
BEGIN
    DELETE FROM account_contact_grams WHERE rowid = OLD.id;
END;

CREATE INDEX org_members_name_prefix ON org_members (org_id, LOWER(display_name));
CREATE INDEX accounts_email_prefix ON accounts (LOWER(email));
-- end only
-- only postgres
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX org_members_name_grams ON org_members USING gin (LOWER(display_name) gin_trgm_ops);
CREATE INDEX accounts_email_grams ON accounts USING gin (LOWER(email) gin_trgm_ops);
CREATE INDEX accounts_phone_grams ON accounts USING gin (phone gin_trgm_ops);
CREATE INDEX org_members_name_prefix ON org_members (org_id, LOWER(display_name) text_pattern_ops);
CREATE INDEX accounts_email_prefix ON accounts (LOWER(email) text_pattern_ops);
CREATE INDEX accounts_phone_prefix ON accounts (phone text_pattern_ops);
-- end only
