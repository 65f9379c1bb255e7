//! An article's versions (draft and published) and their revisions.

use super::*;

fn version(row: &AnyRow) -> Result<VersionRow, sqlx::Error> {
    Ok(VersionRow {
        article_id: row.try_get("article_id")?,
        lang: row.try_get("lang")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        author: row.try_get("author")?,
        updated_by: row.try_get("updater")?,
        updated_at: row.try_get("updated_at")?,
        published_title: row.try_get("published_title")?,
        published_body: row.try_get("published_body")?,
        published_at: row.try_get("published_at")?,
    })
}

/// The versions of an article, in no particular order.
pub async fn versions<'e, E>(executor: E, article_id: i64) -> Result<Vec<VersionRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT v.article_id, v.lang, v.title, v.body, v.updated_at, v.published_title,
                v.published_body, v.published_at,
                {WHO} AS author,
                (SELECT COALESCE(u.email, u.phone, '') FROM accounts u WHERE u.id = v.updated_by) AS updater
         FROM help_versions v JOIN accounts a ON a.id = v.author_id
         WHERE v.article_id = $1"
    );
    let rows = sqlx::query(&sql)
        .bind(article_id)
        .fetch_all(executor)
        .await?;
    Ok(rows.iter().map(version).collect::<Result<_, _>>()?)
}

/// Whether the article has a version in `lang`.
pub async fn has_version(
    tx: &mut Transaction<'_, Any>,
    article_id: i64,
    lang: &str,
) -> Result<bool, StoreError> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM help_versions WHERE article_id = $1 AND lang = $2")
            .bind(article_id)
            .bind(lang)
            .fetch_one(&mut **tx)
            .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Writes the draft of a version, creating the version if it is new (its
/// author is then `actor`).
pub async fn save_draft(
    tx: &mut Transaction<'_, Any>,
    article_id: i64,
    lang: &str,
    title: &str,
    body: &str,
    actor: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO help_versions (article_id, lang, title, body, author_id, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5, $6)
         ON CONFLICT (article_id, lang) DO UPDATE
         SET title = excluded.title, body = excluded.body, updated_by = excluded.updated_by,
             updated_at = excluded.updated_at",
    )
    .bind(article_id)
    .bind(lang)
    .bind(title)
    .bind(body)
    .bind(actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Publishes a version's draft, or takes the published text away
/// (`publish` false); false when there is no such version.
pub async fn set_published(
    tx: &mut Transaction<'_, Any>,
    article_id: i64,
    lang: &str,
    publish: bool,
    actor: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let sql = if publish {
        "UPDATE help_versions SET published_title = title, published_body = body,
             published_by = $3, published_at = $4
         WHERE article_id = $1 AND lang = $2"
    } else {
        "UPDATE help_versions SET published_title = NULL, published_body = NULL,
             published_by = $3, published_at = NULL
         WHERE article_id = $1 AND lang = $2 AND $4 > 0"
    };
    let done = sqlx::query(sql)
        .bind(article_id)
        .bind(lang)
        .bind(actor)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The draft's title and body, for a revision record.
pub async fn draft_of(
    tx: &mut Transaction<'_, Any>,
    article_id: i64,
    lang: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let row =
        sqlx::query("SELECT title, body FROM help_versions WHERE article_id = $1 AND lang = $2")
            .bind(article_id)
            .bind(lang)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row
        .map(|r| Ok::<_, sqlx::Error>((r.try_get("title")?, r.try_get("body")?)))
        .transpose()?)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_revision(
    tx: &mut Transaction<'_, Any>,
    article_id: i64,
    lang: &str,
    title: &str,
    body: &str,
    action: &str,
    restored_from: Option<i64>,
    actor: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO help_revisions (article_id, lang, title, body, action, restored_from, actor_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(article_id)
    .bind(lang)
    .bind(title)
    .bind(body)
    .bind(action)
    .bind(restored_from)
    .bind(actor)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

fn revision(row: &AnyRow) -> Result<RevisionRow, sqlx::Error> {
    Ok(RevisionRow {
        id: row.try_get("id")?,
        lang: row.try_get("lang")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        action: row.try_get("action")?,
        restored_from: row.try_get("restored_from")?,
        actor: row.try_get("actor")?,
        at: row.try_get("at")?,
    })
}

/// The revisions of a version with ids below `before`, newest first, at
/// most `limit`.
pub async fn revisions<'e, E>(
    executor: E,
    article_id: i64,
    lang: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<RevisionRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT r.id, r.lang, r.title, r.body, r.action, r.restored_from, r.at, {WHO} AS actor
         FROM help_revisions r JOIN accounts a ON a.id = r.actor_id
         WHERE r.article_id = $1 AND r.lang = $2 AND r.id < $3 ORDER BY r.id DESC LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(article_id)
        .bind(lang)
        .bind(before)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    Ok(rows.iter().map(revision).collect::<Result<_, _>>()?)
}

/// One revision of a version.
pub async fn revision_by_id<'e, E>(
    executor: E,
    article_id: i64,
    lang: &str,
    id: i64,
) -> Result<Option<RevisionRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT r.id, r.lang, r.title, r.body, r.action, r.restored_from, r.at, {WHO} AS actor
         FROM help_revisions r JOIN accounts a ON a.id = r.actor_id
         WHERE r.article_id = $1 AND r.lang = $2 AND r.id = $3"
    );
    let row = sqlx::query(&sql)
        .bind(article_id)
        .bind(lang)
        .bind(id)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(revision).transpose()?)
}
