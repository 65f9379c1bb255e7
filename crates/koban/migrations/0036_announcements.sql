-- Announcements: service status, security notices and maintenance, by
-- language and region, shown between a start and an optional end.
-- Times are BIGINT milliseconds (UTC).

CREATE TABLE announcements (
    id {id},
    kind TEXT NOT NULL,
    -- Title and Markdown body by language tag, as a JSON object
    -- ({"th": {"title": "...", "body": "..."}}).
    texts TEXT NOT NULL,
    -- Upper-case ISO 3166 alpha-2 codes, comma-separated; empty means everywhere.
    regions TEXT NOT NULL DEFAULT '',
    starts_at BIGINT NOT NULL,
    ends_at BIGINT,
    -- draft, published or withdrawn.
    status TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES accounts(id),
    updated_at BIGINT NOT NULL,
    -- Counts every change, so an editor's save over another's is refused.
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX announcements_by_status ON announcements(status, starts_at);

-- Every change, who made it and when, with the announcement as it became.
CREATE TABLE announcement_changes (
    id {id},
    announcement_id BIGINT NOT NULL REFERENCES announcements(id),
    actor_id BIGINT NOT NULL REFERENCES accounts(id),
    at BIGINT NOT NULL,
    -- created, edited, published, withdrawn or pushed.
    action TEXT NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE INDEX announcement_changes_by_announcement ON announcement_changes(announcement_id, id);

-- A security notice pushed to the reminders of the accounts it concerns:
-- one row per account, so a push run twice adds nobody twice.
CREATE TABLE announcement_recipients (
    announcement_id BIGINT NOT NULL REFERENCES announcements(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    pushed_at BIGINT NOT NULL,
    PRIMARY KEY (announcement_id, account_id)
);
CREATE INDEX announcement_recipients_by_account ON announcement_recipients(account_id);
