-- Signed-out lookup of a ticket by its reference number and a code sent to
-- the contact on file, the grants a right code gives, and who changed whose
-- desk role. Times are BIGINT milliseconds (UTC).

-- One row per lookup asked for, whether or not the number is a ticket's, so
-- that asking, checking and the try count behave the same for both: only a
-- code that was sent can ever match (the others hash a code nobody saw).
CREATE TABLE desk_lookups (
    id {id},
    -- The reference number as stored (11 digits).
    reference TEXT NOT NULL,
    -- Set by the job that sends the code, when the number is a ticket's.
    ticket_id BIGINT REFERENCES desk_tickets(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    destination TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX desk_lookups_by_reference ON desk_lookups(reference, id);

-- What a right code gives: the holder may read the ticket and add to it as
-- its requester until `expires_at`. Only a keyed hash of the token is kept.
CREATE TABLE desk_lookup_grants (
    id {id},
    token_hash TEXT NOT NULL UNIQUE,
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Every change of a desk role: whose, from what to what, by whom.
CREATE TABLE desk_role_changes (
    id {id},
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    from_role TEXT NOT NULL,
    to_role TEXT NOT NULL,
    changed_by BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
    at BIGINT NOT NULL
);
CREATE INDEX desk_role_changes_by_time ON desk_role_changes(at);
