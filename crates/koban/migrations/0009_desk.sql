-- The support desk: tickets with their reference numbers, the people who
-- ask (an account, or a contact known only by email or phone), the
-- conversation and every change as an event. Times are BIGINT milliseconds
-- (UTC); flags BIGINT 0/1; JSON as TEXT.

CREATE TABLE desk_contacts (
    id {id},
    email TEXT UNIQUE,
    phone TEXT UNIQUE,
    name TEXT,
    -- Set once the same person proves the contact with a code, never by
    -- matching text alone.
    account_id BIGINT REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);

CREATE TABLE desk_tickets (
    id {id},
    -- 11 digits, the last a Damm check digit; random, never sequential.
    reference TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    category TEXT NOT NULL,
    subcategory TEXT,
    urgent BIGINT NOT NULL DEFAULT 0,
    channel TEXT NOT NULL,
    requester_account_id BIGINT REFERENCES accounts(id),
    requester_contact_id BIGINT REFERENCES desk_contacts(id),
    team TEXT,
    assignee_id BIGINT REFERENCES accounts(id),
    language TEXT NOT NULL,
    region TEXT,
    time_zone TEXT,
    -- Filled by the enterprise domain; the tier picks the SLA and the queue.
    organization_id BIGINT,
    tier TEXT NOT NULL DEFAULT 'standard',
    -- The form's answers, secrets masked, as a JSON object.
    fields TEXT NOT NULL DEFAULT '{}',
    completeness BIGINT NOT NULL DEFAULT 0,
    -- What triage decided and why, as JSON.
    triage TEXT NOT NULL DEFAULT '{}',
    -- The account whose security context the ticket carries, once known
    -- (the requester's own, or proved by a verification), and the snapshot
    -- taken with the requester's consent, sealed with the server key.
    security_account_id BIGINT REFERENCES accounts(id),
    security_consent BIGINT NOT NULL DEFAULT 0,
    security_snapshot_sealed {blob},
    merged_into BIGINT REFERENCES desk_tickets(id),
    follow_up_of BIGINT REFERENCES desk_tickets(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    solved_at BIGINT,
    closed_at BIGINT,
    CHECK (requester_account_id IS NOT NULL OR requester_contact_id IS NOT NULL),
    CHECK (status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')),
    CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    CHECK (channel IN ('web', 'email', 'chat', 'phone', 'line', 'api'))
);
CREATE INDEX desk_tickets_by_requester ON desk_tickets(requester_account_id, id);
CREATE INDEX desk_tickets_by_contact ON desk_tickets(requester_contact_id, id);
CREATE INDEX desk_tickets_by_queue ON desk_tickets(team, status, id);
CREATE INDEX desk_tickets_by_assignee ON desk_tickets(assignee_id, status, id);

CREATE TABLE desk_messages (
    id {id},
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id),
    author_account_id BIGINT REFERENCES accounts(id),
    -- requester, agent or system.
    author_kind TEXT NOT NULL,
    public BIGINT NOT NULL,
    -- Secrets the author pasted are masked here; the original, when masking
    -- changed it, is kept sealed with the server key.
    body TEXT NOT NULL,
    original_sealed {blob},
    created_at BIGINT NOT NULL,
    CHECK (author_kind IN ('requester', 'agent', 'system'))
);
CREATE INDEX desk_messages_by_ticket ON desk_messages(ticket_id, id);

CREATE TABLE desk_events (
    id {id},
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id),
    actor_account_id BIGINT REFERENCES accounts(id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    at BIGINT NOT NULL
);
CREATE INDEX desk_events_by_ticket ON desk_events(ticket_id, id);

-- An identity verification an agent started on a ticket: passed only when
-- the check itself passed (a code sent by the server to the account's
-- verified contact, read back). Account actions need a passed one, on the
-- same ticket, for the same account, not older than 30 minutes.
CREATE TABLE desk_verifications (
    id {id},
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    agent_id BIGINT NOT NULL REFERENCES accounts(id),
    method TEXT NOT NULL,
    destination TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    passed_at BIGINT,
    CHECK (status IN ('pending', 'passed', 'failed'))
);
CREATE INDEX desk_verifications_by_ticket ON desk_verifications(ticket_id, id);
