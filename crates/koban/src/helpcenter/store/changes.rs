//! Deletions and the record of changes that are not text revisions.

use super::*;

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
