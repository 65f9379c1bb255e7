-- The help center: categories and articles with one version per language,
-- every save of a version kept as a revision, "Was this helpful?" votes,
-- and the suggestions the ticket form showed and the ones taken.
-- Times are BIGINT milliseconds (UTC). Deleting is soft: the rows stay,
-- with who deleted them and when.

CREATE TABLE help_categories (
    id {id},
    position BIGINT NOT NULL DEFAULT 0,
    -- The name by language tag, as a JSON object ({"en": "...", "ja": "..."}).
    names TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_by BIGINT REFERENCES accounts(id),
    deleted_at BIGINT
);

CREATE TABLE help_articles (
    id {id},
    category_id BIGINT NOT NULL REFERENCES help_categories(id),
    created_by BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Readers' visits, counted as they come.
    views BIGINT NOT NULL DEFAULT 0,
    deleted_by BIGINT REFERENCES accounts(id),
    deleted_at BIGINT
);
CREATE INDEX help_articles_by_category ON help_articles(category_id, id);

-- One language of an article: the draft editors work on, and what readers
-- read (published_*), which a save leaves alone until it is published.
CREATE TABLE help_versions (
    article_id BIGINT NOT NULL REFERENCES help_articles(id),
    lang TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES accounts(id),
    updated_by BIGINT NOT NULL REFERENCES accounts(id),
    updated_at BIGINT NOT NULL,
    published_title TEXT,
    published_body TEXT,
    published_by BIGINT REFERENCES accounts(id),
    published_at BIGINT,
    PRIMARY KEY (article_id, lang)
);
CREATE INDEX help_versions_published ON help_versions(published_at);

-- Every save of a version (and every publish, unpublish and restore), with
-- the text as it then was.
CREATE TABLE help_revisions (
    id {id},
    article_id BIGINT NOT NULL REFERENCES help_articles(id),
    lang TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    action TEXT NOT NULL,
    restored_from BIGINT,
    actor_id BIGINT NOT NULL REFERENCES accounts(id),
    at BIGINT NOT NULL,
    CHECK (action IN ('created', 'saved', 'published', 'unpublished', 'restored'))
);
CREATE INDEX help_revisions_by_version ON help_revisions(article_id, lang, id);

-- Who changed what besides the text: categories, moves, deletions.
CREATE TABLE help_changes (
    id {id},
    item_kind TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    actor_id BIGINT NOT NULL REFERENCES accounts(id),
    at BIGINT NOT NULL,
    CHECK (item_kind IN ('category', 'article'))
);
CREATE INDEX help_changes_by_item ON help_changes(item_kind, item_id, id);

-- One vote per reader and article, changeable: `voter` is `a:<account id>`
-- for a signed-in reader, `v:<hash of the visitor cookie>` otherwise.
CREATE TABLE help_votes (
    article_id BIGINT NOT NULL REFERENCES help_articles(id),
    voter TEXT NOT NULL,
    helpful BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (article_id, voter)
);

-- Each article the ticket form suggested, and whether the requester
-- opened it (through the link's token).
CREATE TABLE help_suggestions (
    id {id},
    token TEXT NOT NULL UNIQUE,
    article_id BIGINT NOT NULL REFERENCES help_articles(id),
    lang TEXT NOT NULL,
    shown_at BIGINT NOT NULL,
    taken_at BIGINT
);
CREATE INDEX help_suggestions_by_article ON help_suggestions(article_id);
