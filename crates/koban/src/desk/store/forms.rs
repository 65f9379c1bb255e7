//! The SQL of category forms changed by desk admins, and their history.

use crate::store::StoreError;
use sqlx::{Any, Executor, Row, Transaction};

/// Every stored form: (category, definition as JSON).
pub async fn all<'e, E>(executor: E) -> Result<Vec<(String, String)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query("SELECT category, definition FROM desk_forms ORDER BY category")
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("category")?, r.try_get("definition")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// One category's stored form, if an admin changed it.
pub async fn one<'e, E>(executor: E, category: &str) -> Result<Option<String>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT definition FROM desk_forms WHERE category = $1")
        .bind(category)
        .fetch_optional(executor)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("definition")?),
        None => None,
    })
}

/// Stores a category's form and records the change with who made it.
pub async fn save(
    tx: &mut Transaction<'_, Any>,
    category: &str,
    definition: &str,
    actor: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO desk_forms (category, definition, updated_by, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (category) DO UPDATE SET definition = excluded.definition,
            updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(category)
    .bind(definition)
    .bind(actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO desk_form_changes (category, definition, actor_account_id, at) VALUES ($1, $2, $3, $4)",
    )
    .bind(category)
    .bind(definition)
    .bind(actor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
