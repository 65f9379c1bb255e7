//! Categories: their order, names and whether one still holds articles.

use super::*;

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
