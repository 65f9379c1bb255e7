-- The directory's trigram indexes (migration 0034) take new entries
-- straight into the index rather than into a pending list. With the
-- pending list on, PostgreSQL adds rows to an unsorted list of up to 4 MB
-- that every search reads in full until autovacuum merges it: after
-- 100,000 members joined, a search found one member through 655 pages
-- instead of 130 (organizations run 3). A member's join costs a few index
-- entries more; a search's time then does not depend on when autovacuum
-- last ran. SQLite's FTS5 indexes have no such list.

-- only postgres
ALTER INDEX org_members_name_grams SET (fastupdate = off);
ALTER INDEX accounts_email_grams SET (fastupdate = off);
ALTER INDEX accounts_phone_grams SET (fastupdate = off);
-- Turning the list off leaves what is in it; this merges it now.
SELECT gin_clean_pending_list('org_members_name_grams'::regclass);
SELECT gin_clean_pending_list('accounts_email_grams'::regclass);
SELECT gin_clean_pending_list('accounts_phone_grams'::regclass);
-- end only
