-- Every lock gets a reference its owner can quote to support (shown as
-- LK-1234-5678): the support desk finds the lock from the ticket by it. A
-- new lock, or one that turns into a support lock, gets a new reference.
ALTER TABLE sign_in_guards ADD COLUMN lock_reference BIGINT;
CREATE INDEX sign_in_guards_by_lock_reference ON sign_in_guards(lock_reference);
