-- Routing and SLA for the desk: calendars (business hours in a time zone,
-- holidays), teams with what they handle and who is in them, SLA policies,
-- each ticket's clock state, the requester's one escalation, and a log of
-- every change a desk admin makes. Times are BIGINT milliseconds (UTC).

-- spec: koban_policy::desk::calendar::CalendarSpec as JSON, checked by
-- Calendar::new before it is stored.
CREATE TABLE desk_calendars (
    id {id},
    name TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- languages, regions, categories and skills are JSON arrays of strings.
-- desk_tickets.team holds the slug.
CREATE TABLE desk_teams (
    id {id},
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    languages TEXT NOT NULL DEFAULT '[]',
    regions TEXT NOT NULL DEFAULT '[]',
    categories TEXT NOT NULL DEFAULT '[]',
    skills TEXT NOT NULL DEFAULT '[]',
    calendar_id BIGINT NOT NULL REFERENCES desk_calendars(id),
    enterprise_queue BIGINT NOT NULL DEFAULT 0,
    -- The team a ticket goes to when no team handles its category.
    is_default BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE desk_team_members (
    team_id BIGINT NOT NULL REFERENCES desk_teams(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    -- The most open tickets this agent takes from routing; 0 takes none.
    cap BIGINT NOT NULL DEFAULT 20,
    available BIGINT NOT NULL DEFAULT 1,
    last_assigned_at BIGINT,
    PRIMARY KEY (team_id, account_id)
);

-- One row per policy; a NULL criterion matches anything. Targets are
-- business minutes on the owning team's calendar; actions are JSON arrays
-- of raise_priority, notify_supervisor, reassign.
CREATE TABLE desk_sla_policies (
    id {id},
    position BIGINT NOT NULL,
    priority TEXT,
    tier TEXT,
    channel TEXT,
    first_response BIGINT,
    next_response BIGINT,
    resolution BIGINT,
    warn_percent BIGINT NOT NULL DEFAULT 75,
    on_warning TEXT NOT NULL DEFAULT '[]',
    on_breach TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL
);

-- Each ticket's clocks as last computed, so the queue can sort by due time
-- and the SLA job can compare; warned_at and breached_at are set once, by
-- a conditional UPDATE, so only one worker performs an escalation.
CREATE TABLE desk_sla_clocks (
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id),
    metric TEXT NOT NULL,
    state TEXT NOT NULL,
    target_minutes BIGINT NOT NULL,
    elapsed_minutes BIGINT NOT NULL,
    warn_at BIGINT,
    due_at BIGINT,
    warned_at BIGINT,
    breached_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, metric),
    CHECK (metric IN ('first_response', 'next_response', 'resolution')),
    CHECK (state IN ('running', 'paused', 'met', 'breached'))
);
CREATE INDEX desk_sla_clocks_by_due ON desk_sla_clocks(state, due_at);

-- The requester may escalate once.
ALTER TABLE desk_tickets ADD COLUMN escalated_at BIGINT;
ALTER TABLE desk_tickets ADD COLUMN escalation_reason TEXT;

-- Who changed what in the desk's administration (teams, members,
-- calendars, SLA policies); detail is the new value as JSON.
CREATE TABLE desk_admin_changes (
    id {id},
    actor_account_id BIGINT REFERENCES accounts(id),
    entity TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    at BIGINT NOT NULL
);
CREATE INDEX desk_admin_changes_by_entity ON desk_admin_changes(entity, entity_key, id);

-- A fresh install routes and promises: one generalist team, open around
-- the clock, and a policy per priority (business minutes).
INSERT INTO desk_calendars (name, spec, created_at, updated_at) VALUES ('always',
    '{"zone":"UTC","week":{"mon":"24h","tue":"24h","wed":"24h","thu":"24h","fri":"24h","sat":"24h","sun":"24h"}}',
    0, 0);
INSERT INTO desk_teams (slug, name, calendar_id, is_default, created_at, updated_at)
    SELECT 'general', 'General support', id, 1, 0, 0 FROM desk_calendars WHERE name = 'always';
INSERT INTO desk_sla_policies (position, priority, first_response, next_response, resolution, on_warning, on_breach, created_at)
    VALUES (0, 'urgent', 60, 120, 480, '["notify_supervisor"]', '["raise_priority","notify_supervisor","reassign"]', 0);
INSERT INTO desk_sla_policies (position, priority, first_response, next_response, resolution, on_warning, on_breach, created_at)
    VALUES (1, 'high', 240, 480, 1440, '["notify_supervisor"]', '["raise_priority","notify_supervisor"]', 0);
INSERT INTO desk_sla_policies (position, priority, first_response, next_response, resolution, on_warning, on_breach, created_at)
    VALUES (2, 'normal', 480, 960, 2880, '["notify_supervisor"]', '["raise_priority","notify_supervisor"]', 0);
INSERT INTO desk_sla_policies (position, priority, first_response, next_response, resolution, on_warning, on_breach, created_at)
    VALUES (3, 'low', 1440, 2880, 7200, '[]', '["raise_priority"]', 0);
