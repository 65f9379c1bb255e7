-- A device frozen by an administrator of an organization the account is
-- in: its sessions ended when it was frozen, and signing in from it is
-- refused until it is unfrozen. The reason is shown to the account.
ALTER TABLE devices ADD COLUMN frozen_at BIGINT;
ALTER TABLE devices ADD COLUMN frozen_reason TEXT;
