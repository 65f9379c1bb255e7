-- Search follows the help center: any change to what an article's
-- versions say, whether they are published, whether the article is live
-- or which category it is in writes ('article', article id) into the log
-- `0040_search.sql` made; the follower re-reads every version of the
-- article. Views and votes touch other columns and log nothing.
-- Deleting a category is refused while it holds live articles, so a
-- category's own changes never hide or show an article.

-- only sqlite
CREATE TRIGGER search_help_version_insert AFTER INSERT ON help_versions
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('article', NEW.article_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_help_version_update AFTER UPDATE OF
    title, body, published_title, published_body, published_at, article_id, lang
ON help_versions
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('article', NEW.article_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_help_version_delete AFTER DELETE ON help_versions
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('article', OLD.article_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_help_article_update AFTER UPDATE OF deleted_at, category_id ON help_articles
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('article', NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER search_help_article_delete AFTER DELETE ON help_articles
BEGIN
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('article', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
-- end only
-- only postgres
-- A version's row has no `id`: its article is `article_id`.
CREATE FUNCTION search_help_version_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD.article_id;
    ELSE
        changed := NEW.article_id;
    END IF;
    INSERT INTO search_changes (kind, entity_id, at)
    VALUES ('article', changed, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
    RETURN NULL;
END;
$$;
CREATE TRIGGER search_help_version_change AFTER INSERT OR DELETE OR UPDATE OF
    title, body, published_title, published_body, published_at, article_id, lang
ON help_versions
    FOR EACH ROW EXECUTE FUNCTION search_help_version_change();
CREATE TRIGGER search_help_article_change AFTER DELETE OR UPDATE OF deleted_at, category_id
ON help_articles
    FOR EACH ROW EXECUTE FUNCTION search_change('article');
-- end only
