//! Articles' own rows: created, moved, locked for a change, listed for editors.

use super::*;

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
