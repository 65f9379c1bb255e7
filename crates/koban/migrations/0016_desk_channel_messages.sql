-- The id a channel gave a message (an email's Message-ID, a LINE webhook
-- event id) and the ticket it belongs to. A message arriving twice (a
-- resend, two IMAP folders) is stored once, and a reply that names one
-- finds its ticket. Koban's own outgoing ids are here too ('out').
CREATE TABLE desk_channel_messages (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES desk_tickets(id),
    message_id BIGINT REFERENCES desk_messages(id),
    direction TEXT NOT NULL,
    -- Who sent it, as the channel names people (an address), lower-cased:
    -- whoever wrote on the ticket takes part in it.
    sender TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, external_id),
    CHECK (direction IN ('in', 'out'))
);
CREATE INDEX desk_channel_messages_by_ticket ON desk_channel_messages(ticket_id, sender);
