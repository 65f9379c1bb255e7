//! What readers read and do: published versions, views, votes, counts, suggestions.

use super::*;

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
