-- Every inbound mail as it was received, written before the SMTP listener
-- answers 250 (or before IMAP is told the mail was read): a crash after
-- that loses nothing, and a parsing fix can read the raw mail again.
CREATE TABLE email_inbound (
    id {id},
    -- `smtp`, or `imap:<mailbox>`.
    source TEXT NOT NULL,
    -- The envelope: MAIL FROM (empty for a bounce) and RCPT TO, as JSON.
    envelope_from TEXT NOT NULL,
    recipients TEXT NOT NULL,
    -- The Message-ID header without brackets, or `sha256:<hex>` of the raw
    -- mail when it has none: the same mail arriving twice is stored once.
    message_id TEXT NOT NULL UNIQUE,
    -- The raw mail, deflated; NULL once older than the retention.
    raw_deflated {blob},
    raw_size BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    -- received: waiting for the ingest job; then joined (a message on an
    -- existing ticket), opened (a new ticket), review (held for an agent),
    -- held (a sender over its hourly limit), automatic (a machine's mail
    -- that pointed at no ticket), bounce, or unreadable.
    status TEXT NOT NULL,
    ticket_id BIGINT REFERENCES desk_tickets(id),
    -- What ingesting decided and why, as JSON (clue, related ticket, problems).
    detail TEXT NOT NULL DEFAULT '{}',
    -- The From address, lower-cased, once parsed: the per-sender limit counts it.
    sender TEXT,
    processed_at BIGINT,
    CHECK (status IN ('received', 'joined', 'opened', 'review', 'held',
                      'automatic', 'bounce', 'unreadable', 'discarded'))
);
CREATE INDEX email_inbound_by_status ON email_inbound(status, id);
CREATE INDEX email_inbound_by_sender ON email_inbound(sender, received_at);
CREATE INDEX email_inbound_by_received ON email_inbound(received_at);
