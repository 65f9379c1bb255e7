-- A large mail's raw copy in pieces: `email_inbound.raw_deflated` holds the
-- first 256 KiB of the deflated stream and this table the rest, in order.
-- One row of 20 MB made SQLite hold it three times at once (the record
-- being built, the column read back, the page cache); pieces keep a large
-- mail's cost in the database layer to one piece at a time.
CREATE TABLE email_inbound_chunks (
    inbound_id BIGINT NOT NULL REFERENCES email_inbound(id) ON DELETE CASCADE,
    -- 1 for the piece after `raw_deflated`, then 2, 3 …
    seq INTEGER NOT NULL,
    bytes {blob} NOT NULL,
    PRIMARY KEY (inbound_id, seq)
);
