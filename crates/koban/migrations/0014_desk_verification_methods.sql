-- Two more ways to verify the owner of an account on a ticket, beside a
-- code to a verified contact (`method` = 'code'):
-- * 'second_factor': the requester opens a link sent to them and answers
--   with the account's authenticator code or a recovery code; the link's
--   token is kept only as a keyed hash and expires.
-- * 'documented': for the owner who lost every factor, the agent records
--   the answers the requester gave (sealed with the server key) and a
--   supervisor other than that agent approves or rejects them.
ALTER TABLE desk_verifications ADD COLUMN link_token_hash TEXT;
ALTER TABLE desk_verifications ADD COLUMN expires_at BIGINT;
ALTER TABLE desk_verifications ADD COLUMN answers_sealed {blob};
ALTER TABLE desk_verifications ADD COLUMN decided_by BIGINT REFERENCES accounts(id);
ALTER TABLE desk_verifications ADD COLUMN decided_at BIGINT;
CREATE UNIQUE INDEX desk_verifications_by_link ON desk_verifications(link_token_hash);
