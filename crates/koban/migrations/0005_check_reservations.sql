-- A password is checked only after an attempt was reserved for it in one
-- atomic statement: parallel guesses each read "no failures yet" before any
-- of them was counted, so 40 at once were all hashed where the threshold is
-- 5. A reservation counts here until the check settles (a failure counted,
-- or released); one older than a minute is from a node that died and counts
-- no more.
ALTER TABLE sign_in_guards ADD COLUMN checks_in_flight BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sign_in_guards ADD COLUMN checks_reserved_at BIGINT;
ALTER TABLE ip_failures ADD COLUMN checks_in_flight BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ip_failures ADD COLUMN checks_reserved_at BIGINT;

-- A code sent for one challenge (a sign-in's second step, a session's
-- step-up) completes that challenge alone.
ALTER TABLE verification_codes ADD COLUMN bound_to TEXT;
