-- The agent console: tags on tickets, which agent has which ticket open
-- (the "someone else is on it" warning), canned responses and macros, and
-- who changed those. Times are BIGINT milliseconds (UTC); JSON as TEXT.

CREATE TABLE desk_ticket_tags (
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX desk_ticket_tags_by_tag ON desk_ticket_tags(tag, ticket_id);

-- One row per agent and ticket, refreshed on each page view and action:
-- another agent seen within the last two minutes is shown a warning.
CREATE TABLE desk_presence (
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id),
    agent_id BIGINT NOT NULL REFERENCES accounts(id),
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, agent_id)
);

-- A canned response: its bodies by language tag, as a JSON object
-- ({"en": "...", "ja": "..."}), with {{variable}} slots.
CREATE TABLE desk_canned_responses (
    id {id},
    name TEXT NOT NULL UNIQUE,
    bodies TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A macro: fields to set (status, priority, category, a tag; each
-- optional) and a reply by language, applied in one step.
CREATE TABLE desk_macros (
    id {id},
    name TEXT NOT NULL UNIQUE,
    status TEXT,
    priority TEXT,
    category TEXT,
    tag TEXT,
    bodies TEXT NOT NULL DEFAULT '{}',
    public BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every change to canned responses and macros: who, when, what.
CREATE TABLE desk_library_changes (
    id {id},
    item_kind TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    actor_account_id BIGINT REFERENCES accounts(id),
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    at BIGINT NOT NULL,
    CHECK (item_kind IN ('canned', 'macro')),
    CHECK (action IN ('created', 'updated', 'deleted'))
);
CREATE INDEX desk_library_changes_by_item ON desk_library_changes(item_kind, item_id, id);
