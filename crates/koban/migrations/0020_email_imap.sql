-- IMAP polling: per mailbox, where polling got to and which node polls it.
-- A mail's UID is recorded only after the mail was stored, so a restart
-- neither skips nor repeats one (and a repeat would be stored once anyway,
-- by its Message-ID).
CREATE TABLE email_imap_mailboxes (
    -- `user@host/mailbox`: another account or server starts afresh.
    mailbox TEXT PRIMARY KEY,
    -- The server's UIDVALIDITY when `last_uid` was recorded (0: not yet).
    uid_validity BIGINT NOT NULL DEFAULT 0,
    -- The highest UID stored (or passed over as too large, with a row
    -- in email_inbound saying so).
    last_uid BIGINT NOT NULL DEFAULT 0,
    -- The node polling it and until when (ms); another node takes it over
    -- once it has expired.
    lease_holder TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
