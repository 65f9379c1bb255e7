//! The help center's SQL: categories, articles, their versions and
//! revisions, change records, votes and suggestions.

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};
use std::collections::BTreeMap;

/// A category as stored; `names` by language tag.
#[derive(Debug, Clone)]
pub struct CategoryRow {
    pub id: i64,
    pub position: i64,
    pub names: BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An article's own row (its text is in its versions).
#[derive(Debug, Clone)]
pub struct ArticleRow {
    pub id: i64,
    pub category_id: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub views: i64,
}

/// One language of an article: its draft, and what readers read.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub article_id: i64,
    pub lang: String,
    pub title: String,
    pub body: String,
    pub author: String,
    pub updated_by: String,
    pub updated_at: i64,
    pub published_title: Option<String>,
    pub published_body: Option<String>,
    pub published_at: Option<i64>,
}

/// One recorded save, publish, unpublish or restore.
#[derive(Debug, Clone)]
pub struct RevisionRow {
    pub id: i64,
    pub lang: String,
    pub title: String,
    pub body: String,
    pub action: String,
    pub restored_from: Option<i64>,
    pub actor: String,
    pub at: i64,
}

/// What readers did with an article.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub views: i64,
    pub helpful_yes: i64,
    pub helpful_no: i64,
    /// Times the ticket form suggested it.
    pub shown: i64,
    /// Times a requester opened it from the form's suggestion.
    pub taken: i64,
}

/// A published version as readers and the suggester read it.
#[derive(Debug, Clone)]
pub struct Published {
    pub article_id: i64,
    pub category_id: i64,
    pub lang: String,
    pub title: String,
    pub body: String,
    pub published_at: i64,
}

/// How the accounts an editor sees are named.
const WHO: &str = "COALESCE(a.email, a.phone, '')";

fn category(row: &AnyRow) -> Result<CategoryRow, sqlx::Error> {
    let names: String = row.try_get("names")?;
    Ok(CategoryRow {
        id: row.try_get("id")?,
        position: row.try_get("position")?,
        names: serde_json::from_str(&names).unwrap_or_default(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The live categories, in their order.
pub async fn categories<'e, E>(executor: E) -> Result<Vec<CategoryRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id, position, names, created_at, updated_at FROM help_categories
         WHERE deleted_at IS NULL ORDER BY position, id",
    )
    .fetch_all(executor)
    .await?;
    Ok(rows.iter().map(category).collect::<Result<_, _>>()?)
}

/// The live categories in their order (position, then id): the first
/// `limit` after the one at (position, id) `after`, or from the start.
pub async fn categories_after<'e, E>(
    executor: E,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<CategoryRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let (position, id) = after.unwrap_or((i64::MIN, i64::MIN));
    let rows = sqlx::query(
        "SELECT id, position, names, created_at, updated_at FROM help_categories
         WHERE deleted_at IS NULL AND (position > $1 OR (position = $1 AND id > $2))
         ORDER BY position, id LIMIT $3",
    )
    .bind(position)
    .bind(id)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    Ok(rows.iter().map(category).collect::<Result<_, _>>()?)
}

/// One live category.
pub async fn category_by_id<'e, E>(executor: E, id: i64) -> Result<Option<CategoryRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT id, position, names, created_at, updated_at FROM help_categories
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(executor)
    .await?;
    Ok(row.as_ref().map(category).transpose()?)
}

pub async fn insert_category(
    tx: &mut Transaction<'_, Any>,
    names: &str,
    position: i64,
    actor: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO help_categories (position, names, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(position)
    .bind(names)
    .bind(actor)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// Changes a live category; false when there is none.
pub async fn update_category(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    names: &str,
    position: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE help_categories SET names = $2, position = $3, updated_at = $4
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(names)
    .bind(position)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many live articles a category holds.
pub async fn live_articles_in(
    tx: &mut Transaction<'_, Any>,
    category_id: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM help_articles WHERE category_id = $1 AND deleted_at IS NULL",
    )
    .bind(category_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("n")?)
}

/// Marks a live row of `table` deleted; false when there is none.
pub async fn soft_delete(
    tx: &mut Transaction<'_, Any>,
    table: Deletable,
    id: i64,
    actor: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let table = match table {
        Deletable::Category => "help_categories",
        Deletable::Article => "help_articles",
    };
    let done = sqlx::query(&format!(
        "UPDATE {table} SET deleted_by = $2, deleted_at = $3 WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .bind(actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What can be deleted.
#[derive(Debug, Clone, Copy)]
pub enum Deletable {
    Category,
    Article,
}

/// Records a change that is not a text revision.
pub async fn record_change(
    tx: &mut Transaction<'_, Any>,
    kind: &str,
    item_id: i64,
    action: &str,
    detail: &serde_json::Value,
    actor: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO help_changes (item_kind, item_id, action, detail, actor_id, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(item_id)
    .bind(action)
    .bind(detail.to_string())
    .bind(actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn article(row: &AnyRow) -> Result<ArticleRow, sqlx::Error> {
    Ok(ArticleRow {
        id: row.try_get("id")?,
        category_id: row.try_get("category_id")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        views: row.try_get("views")?,
    })
}

const ARTICLE: &str =
    "SELECT id, category_id, created_by, created_at, updated_at, views FROM help_articles";

/// One live article.
pub async fn article_by_id<'e, E>(executor: E, id: i64) -> Result<Option<ArticleRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(&format!("{ARTICLE} WHERE id = $1 AND deleted_at IS NULL"))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(article).transpose()?)
}

/// Every live article, newest first (editors' list), or those of one category.
pub async fn articles<'e, E>(
    executor: E,
    category_id: Option<i64>,
) -> Result<Vec<ArticleRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(&format!(
        "{ARTICLE} WHERE deleted_at IS NULL AND ($1 = 0 OR category_id = $1) ORDER BY id DESC LIMIT 1000"
    ))
    .bind(category_id.unwrap_or(0))
    .fetch_all(executor)
    .await?;
    Ok(rows.iter().map(article).collect::<Result<_, _>>()?)
}

pub async fn insert_article(
    tx: &mut Transaction<'_, Any>,
    category_id: i64,
    actor: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO help_articles (category_id, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(category_id)
    .bind(actor)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// Moves a live article; false when there is none.
pub async fn move_article(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    category_id: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE help_articles SET category_id = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(category_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Holds the article's row for the rest of the change (so two editors'
/// saves of one version queue), and says whether it is live.
pub async fn lock_article(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE help_articles SET updated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

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

fn published(row: &AnyRow) -> Result<Published, sqlx::Error> {
    Ok(Published {
        article_id: row.try_get("article_id")?,
        category_id: row.try_get("category_id")?,
        lang: row.try_get("lang")?,
        title: row.try_get("published_title")?,
        body: row.try_get("published_body")?,
        published_at: row.try_get("published_at")?,
    })
}

/// Every published version of the live articles in live categories (of
/// one article, or of one category), newest publication first.
pub async fn published_versions<'e, E>(
    executor: E,
    article_id: Option<i64>,
    category_id: Option<i64>,
) -> Result<Vec<Published>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT v.article_id, a.category_id, v.lang, v.published_title, v.published_body, v.published_at
         FROM help_versions v
         JOIN help_articles a ON a.id = v.article_id AND a.deleted_at IS NULL
         JOIN help_categories c ON c.id = a.category_id AND c.deleted_at IS NULL
         WHERE v.published_at IS NOT NULL
           AND ($1 = 0 OR v.article_id = $1) AND ($2 = 0 OR a.category_id = $2)
         ORDER BY v.published_at DESC, v.article_id DESC LIMIT 5000",
    )
    .bind(article_id.unwrap_or(0))
    .bind(category_id.unwrap_or(0))
    .fetch_all(executor)
    .await?;
    Ok(rows.iter().map(published).collect::<Result<_, _>>()?)
}

/// The published versions of the first `limit` live articles in live
/// categories (of one category) with a published version and an id below
/// `before`, newest article first: the API's pages of readers' articles
/// (an article is never split across pages).
pub async fn published_page<'e, E>(
    executor: E,
    category_id: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<Published>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT v.article_id, a.category_id, v.lang, v.published_title, v.published_body, v.published_at
         FROM help_versions v JOIN help_articles a ON a.id = v.article_id
         WHERE v.published_at IS NOT NULL AND v.article_id IN (
            SELECT a2.id FROM help_articles a2
            JOIN help_categories c ON c.id = a2.category_id AND c.deleted_at IS NULL
            WHERE a2.deleted_at IS NULL AND a2.id < $1 AND ($2 = 0 OR a2.category_id = $2)
              AND EXISTS (SELECT 1 FROM help_versions p
                          WHERE p.article_id = a2.id AND p.published_at IS NOT NULL)
            ORDER BY a2.id DESC LIMIT $3)
         ORDER BY v.article_id DESC, v.lang",
    )
    .bind(before)
    .bind(category_id.unwrap_or(0))
    .bind(limit)
    .fetch_all(executor)
    .await?;
    Ok(rows.iter().map(published).collect::<Result<_, _>>()?)
}

/// Counts one reader's visit.
pub async fn count_view<'e, E>(executor: E, article_id: i64) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("UPDATE help_articles SET views = views + 1 WHERE id = $1")
        .bind(article_id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Records (or changes) one reader's vote.
pub async fn vote<'e, E>(
    executor: E,
    article_id: i64,
    voter: &str,
    helpful: bool,
    now: i64,
) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO help_votes (article_id, voter, helpful, at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (article_id, voter) DO UPDATE SET helpful = excluded.helpful, at = excluded.at",
    )
    .bind(article_id)
    .bind(voter)
    .bind(i64::from(helpful))
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

/// The reader's own vote on an article, if any.
pub async fn vote_of<'e, E>(
    executor: E,
    article_id: i64,
    voter: &str,
) -> Result<Option<bool>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT helpful FROM help_votes WHERE article_id = $1 AND voter = $2")
        .bind(article_id)
        .bind(voter)
        .fetch_optional(executor)
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64, _>("helpful"))
        .transpose()?
        .map(|h| h == 1))
}

/// Views, votes, suggestions shown and taken, by article (all live ones,
/// or one).
pub async fn stats<'e, E>(
    executor: E,
    article_id: Option<i64>,
) -> Result<BTreeMap<i64, Stats>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT a.id, a.views,
            (SELECT COUNT(*) FROM help_votes v WHERE v.article_id = a.id AND v.helpful = 1) AS yes,
            (SELECT COUNT(*) FROM help_votes v WHERE v.article_id = a.id AND v.helpful = 0) AS no,
            (SELECT COUNT(*) FROM help_suggestions s WHERE s.article_id = a.id) AS shown,
            (SELECT COUNT(*) FROM help_suggestions s WHERE s.article_id = a.id AND s.taken_at IS NOT NULL) AS taken
         FROM help_articles a WHERE a.deleted_at IS NULL AND ($1 = 0 OR a.id = $1)",
    )
    .bind(article_id.unwrap_or(0))
    .fetch_all(executor)
    .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        out.insert(
            row.try_get("id")?,
            Stats {
                views: row.try_get("views")?,
                helpful_yes: row.try_get("yes")?,
                helpful_no: row.try_get("no")?,
                shown: row.try_get("shown")?,
                taken: row.try_get("taken")?,
            },
        );
    }
    Ok(out)
}

/// Records the suggestions shown, one row per article with its token.
pub async fn record_shown(
    tx: &mut Transaction<'_, Any>,
    shown: &[(i64, String)],
    lang: &str,
    now: i64,
) -> Result<(), StoreError> {
    for (article_id, token) in shown {
        sqlx::query(
            "INSERT INTO help_suggestions (token, article_id, lang, shown_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token)
        .bind(article_id)
        .bind(lang)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Marks the suggestion with `token` for `article_id` taken, once.
pub async fn record_taken<'e, E>(
    executor: E,
    article_id: i64,
    token: &str,
    now: i64,
) -> Result<bool, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let done = sqlx::query(
        "UPDATE help_suggestions SET taken_at = $3 WHERE token = $1 AND article_id = $2 AND taken_at IS NULL",
    )
    .bind(token)
    .bind(article_id)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A version as search indexes it: what readers read when it is
/// published, the draft otherwise (found by staff only).
#[derive(Debug, Clone)]
pub struct Indexed {
    pub article_id: i64,
    pub lang: String,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub created_at: i64,
}

const INDEXED: &str = "SELECT v.article_id, v.lang, v.title, v.body, v.published_title,
        v.published_body, v.published_at, a.created_at
     FROM help_versions v
     JOIN help_articles a ON a.id = v.article_id AND a.deleted_at IS NULL
     JOIN help_categories c ON c.id = a.category_id AND c.deleted_at IS NULL";

fn indexed(row: &AnyRow) -> Result<Indexed, sqlx::Error> {
    let published_at: Option<i64> = row.try_get("published_at")?;
    let published_title: Option<String> = row.try_get("published_title")?;
    let published_body: Option<String> = row.try_get("published_body")?;
    let (title, body, published) = match (published_at, published_title, published_body) {
        (Some(_), Some(title), Some(body)) => (title, body, true),
        _ => (row.try_get("title")?, row.try_get("body")?, false),
    };
    Ok(Indexed {
        article_id: row.try_get("article_id")?,
        lang: row.try_get("lang")?,
        title,
        body,
        published,
        created_at: row.try_get("created_at")?,
    })
}

/// Every version of these live articles, for search.
pub async fn indexed_of(pool: &sqlx::AnyPool, ids: &[i64]) -> Result<Vec<Indexed>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(200) {
        let marks = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("{INDEXED} WHERE v.article_id IN ({marks})");
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(pool).await? {
            out.push(indexed(&row)?);
        }
    }
    Ok(out)
}

/// The versions of the first `limit` live articles with ids above
/// `after`, in id order: search's rebuild pages (an article is never
/// split across pages).
pub async fn indexed_after(
    pool: &sqlx::AnyPool,
    after: i64,
    limit: i64,
) -> Result<Vec<Indexed>, StoreError> {
    let sql = format!(
        "{INDEXED} WHERE v.article_id IN (
            SELECT a2.id FROM help_articles a2 WHERE a2.id > $1 AND a2.deleted_at IS NULL
            ORDER BY a2.id LIMIT $2)
         ORDER BY v.article_id, v.lang"
    );
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(indexed).collect::<Result<_, _>>()?)
}
