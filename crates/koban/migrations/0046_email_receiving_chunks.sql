-- A large mail's deflated pieces while the SMTP listener is still reading
-- it, before it is accepted: the listener keeps only the first piece and
-- the one being filled, so a 25 MiB mail costs the server a few hundred
-- KiB during DATA rather than its deflated size (email run 7). Accepting
-- the mail moves its pieces to `email_inbound_chunks` in the transaction
-- that stores it; a session that ends without a 250 deletes its own, and
-- the hourly prune deletes what a crash left behind.
CREATE TABLE email_receiving_chunks (
    -- Random, one per DATA of one session.
    receipt TEXT NOT NULL,
    -- The `email_inbound_chunks.seq` the piece will have: 1, 2 …
    seq INTEGER NOT NULL,
    bytes {blob} NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (receipt, seq)
);
CREATE INDEX email_receiving_chunks_created ON email_receiving_chunks (created_at);
