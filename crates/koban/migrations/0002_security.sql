-- Account security center: sign-in guards (failure counters and locks),
-- per-IP failure counts, devices, login history, the security timeline,
-- two-factor authentication, sign-in challenges and reminders.

-- Failure counters and locks, keyed by `account:ID` for an account and by
-- `identifier:VALUE` for an identifier with no account, so unknown
-- identifiers lock exactly like real ones and a lock reveals nothing.
CREATE TABLE sign_in_guards (
    guard_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL DEFAULT 0,
    last_failure_at BIGINT,
    locked_until BIGINT,
    locked_for_support BIGINT NOT NULL DEFAULT 0,
    lock_cause TEXT,
    lock_notified_at BIGINT,
    second_factor_failures BIGINT NOT NULL DEFAULT 0,
    second_factor_last_failure_at BIGINT,
    second_factor_locked_until BIGINT
);

CREATE TABLE ip_failures (
    ip TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures BIGINT NOT NULL
);

CREATE TABLE devices (
    id {id},
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device_key_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    client_version TEXT,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    last_ip TEXT,
    last_country TEXT,
    removed_at BIGINT
);
CREATE INDEX devices_by_account ON devices(account_id, removed_at);
CREATE INDEX devices_by_key ON devices(device_key_hash);

ALTER TABLE sessions ADD COLUMN device_id BIGINT;
ALTER TABLE sessions ADD COLUMN stepped_up_at BIGINT;

CREATE TABLE login_attempts (
    id {id},
    at BIGINT NOT NULL,
    account_id BIGINT,
    ip TEXT NOT NULL,
    country TEXT,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    device_id BIGINT,
    user_agent TEXT,
    outcome TEXT NOT NULL,
    risk_score BIGINT NOT NULL DEFAULT 0,
    reasons TEXT NOT NULL DEFAULT '',
    decision TEXT NOT NULL
);
CREATE INDEX login_attempts_by_account ON login_attempts(account_id, id);
CREATE INDEX login_attempts_by_time ON login_attempts(at);

CREATE TABLE security_events (
    id {id},
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT
);
CREATE INDEX security_events_by_account ON security_events(account_id, id);

ALTER TABLE accounts ADD COLUMN totp_secret_sealed {blob};
ALTER TABLE accounts ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT;

CREATE TABLE recovery_codes (
    id {id},
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_by_account ON recovery_codes(account_id);

-- Between a correct password and a session: what is still owed (a second
-- factor, or a device to remove), for whom, from where.
CREATE TABLE sign_in_challenges (
    id {id},
    token_hash TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    device_key_hash TEXT NOT NULL,
    device_name TEXT NOT NULL,
    platform TEXT NOT NULL,
    client_version TEXT,
    ip TEXT NOT NULL,
    country TEXT,
    user_agent TEXT,
    risk_score BIGINT NOT NULL DEFAULT 0,
    reasons TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE security_reminders (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind, period_start)
);
