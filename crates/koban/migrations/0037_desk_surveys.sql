-- Satisfaction surveys: one per ticket, sent after it is solved. Times are
-- BIGINT milliseconds (UTC).
--
-- `ticket_id` is UNIQUE so a ticket solved twice, or a job run twice after
-- a crash, still makes one survey. The answer is written by an UPDATE that
-- requires `score IS NULL`, so two answers arriving at once cannot both
-- land: the database decides, not a read before the write.
--
-- Who the ticket was with when it was solved (agent, team, channel,
-- category) is copied here: a report of last month's ratings must not move
-- when a ticket is reassigned or recategorised today.
CREATE TABLE desk_surveys (
    id {id},
    ticket_id BIGINT NOT NULL UNIQUE REFERENCES desk_tickets(id) ON DELETE CASCADE,
    -- A keyed hash of the link's token; the token itself is only in the link.
    token_hash TEXT NOT NULL UNIQUE,
    -- How the link went out: 'email', 'sms', or NULL when the requester has
    -- no contact (the ticket page still asks them).
    sent_by TEXT,
    agent_id BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
    team TEXT,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    score BIGINT CHECK (score IS NULL OR (score >= 1 AND score <= 5)),
    comment TEXT,
    -- The account that answered, when signed in; NULL through the link.
    answered_by BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
    answered_at BIGINT
);
CREATE INDEX desk_surveys_by_sent ON desk_surveys(sent_at);
