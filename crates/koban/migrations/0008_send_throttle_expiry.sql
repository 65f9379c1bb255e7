-- When a send allowance stops mattering (its window after the last send),
-- so an hourly job can delete it: every identifier anyone asks a code for
-- leaves a row, and without this they would pile up for ever.
ALTER TABLE send_throttle ADD COLUMN expires_at BIGINT;
CREATE INDEX send_throttle_by_expiry ON send_throttle(expires_at);
