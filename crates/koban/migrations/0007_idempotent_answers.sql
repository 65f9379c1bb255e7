-- Idempotent answers are kept sealed with the server key, and requests are
-- fingerprinted with a keyed hash: the old table held answers in plain
-- text and an unsalted hash of bodies that carried passwords. Its rows are
-- at most a day old and only spare a client a retry, so they are dropped.
DROP TABLE idempotent_responses;

CREATE TABLE idempotent_answers (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- 0 while the first request is still running.
    status BIGINT NOT NULL,
    content_type TEXT,
    sealed_body {blob},
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotent_answers_by_age ON idempotent_answers(created_at);
