-- Outbound mail: the files a mail carries and the addresses that bounced.

-- The files an outgoing mail carries, as references (blob key, name,
-- type, size) in JSON: the bytes stay in the blob store and are read when
-- the mail is sent, so the row stays small. NULL: no files.
ALTER TABLE deliveries ADD COLUMN mail_attachments TEXT;

-- An address whose mail came back for good (a permanent bounce): the
-- desk warns the agent and holds its automatic notices. A mail received
-- from the address later (it works again) deletes the row.
CREATE TABLE mail_bounced_addresses (
    -- Lower-cased.
    address TEXT PRIMARY KEY,
    bounced_at BIGINT NOT NULL,
    -- The enhanced status code (5.1.1) and the remote server's words.
    status TEXT,
    reason TEXT NOT NULL,
    -- The delivery that bounced.
    delivery_id BIGINT REFERENCES deliveries(id) ON DELETE SET NULL
);
