-- Foundation: accounts, sessions, verification codes, deliveries, jobs,
-- idempotent responses. Times are BIGINT milliseconds since the Unix epoch
-- (UTC); flags are BIGINT 0/1, so the same rows read alike on both backends.
-- {id} and {blob} are expanded per backend by store::dialect.

CREATE TABLE accounts (
    id {id},
    phone TEXT UNIQUE,
    email TEXT UNIQUE,
    phone_verified_at BIGINT,
    email_verified_at BIGINT,
    password_hash TEXT NOT NULL,
    password_changed_at BIGINT NOT NULL,
    role TEXT NOT NULL DEFAULT 'user',
    locale TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    created_at BIGINT NOT NULL,
    CHECK (phone IS NOT NULL OR email IS NOT NULL),
    CHECK (role IN ('user', 'agent', 'supervisor', 'admin')),
    CHECK (status IN ('pending', 'active', 'disabled'))
);

CREATE TABLE sessions (
    id {id},
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_by_account ON sessions(account_id);

CREATE TABLE verification_codes (
    id {id},
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    channel TEXT NOT NULL,
    destination TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT,
    superseded_at BIGINT
);
CREATE INDEX verification_codes_by_account ON verification_codes(account_id, purpose);

-- When codes were last sent to a destination (known account or not, so the
-- throttle itself reveals nothing), as comma-separated milliseconds.
CREATE TABLE send_throttle (
    destination TEXT PRIMARY KEY,
    sent_times TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE deliveries (
    id {id},
    account_id BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
    purpose TEXT NOT NULL,
    channel TEXT NOT NULL,
    destination TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_sealed {blob},
    status TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_message_id TEXT,
    error TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    delivered_at BIGINT,
    CHECK (channel IN ('email', 'sms')),
    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'delivered'))
);
CREATE INDEX deliveries_by_account ON deliveries(account_id, id);
CREATE INDEX deliveries_by_destination ON deliveries(destination, id);
CREATE INDEX deliveries_by_provider_id ON deliveries(provider_message_id);

CREATE TABLE jobs (
    id {id},
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending',
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 8,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    CHECK (status IN ('pending', 'running', 'done', 'failed'))
);
CREATE INDEX jobs_due ON jobs(status, run_at);

CREATE TABLE idempotent_responses (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE audit_log (
    id {id},
    at BIGINT NOT NULL,
    actor_account_id BIGINT,
    action TEXT NOT NULL,
    subject_account_id BIGINT,
    detail TEXT NOT NULL,
    ip TEXT
);
CREATE INDEX audit_log_by_subject ON audit_log(subject_account_id, id);
