-- Passkeys (WebAuthn credentials) as a second factor, and the half-finished
-- WebAuthn ceremonies between "here are the options" and "here is the
-- browser's answer", kept in the database so any node can finish them.

-- One registered passkey. `credential` is webauthn-rs's serialized Passkey:
-- the credential id, public key, signature counter and backup flags. None of
-- it is secret (a public key proves nothing to whoever reads it), so it is
-- stored in the clear rather than sealed like the TOTP secret. `sign_count`
-- repeats the counter so a use can be claimed with one compare-and-set: two
-- racing assertions, or a cloned authenticator, cannot both move it forward.
CREATE TABLE passkeys (
    id {id},
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    credential TEXT NOT NULL,
    sign_count BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_by_account ON passkeys(account_id);

-- A ceremony in progress: `state` is webauthn-rs's registration or
-- authentication state (the challenge and the credentials allowed), bound to
-- the account and to what it is for: `binding` is the session (registration,
-- step-up) or the sign-in challenge (sign-in). Used once; expires.
CREATE TABLE webauthn_ceremonies (
    id {id},
    token_hash TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    binding BIGINT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies(expires_at);
