//! SQL for the phrases desk admins add to triage's rule layer.

use crate::store::StoreError;
use sqlx::{Any, Executor, Row, Transaction};

/// A phrase as stored.
#[derive(Debug, Clone)]
pub struct PhraseRow {
    pub id: i64,
    pub target: String,
    pub phrase: String,
    pub weight: f64,
    pub created_by: i64,
    pub created_at: i64,
    pub removed_by: Option<i64>,
    pub removed_at: Option<i64>,
}

/// Every phrase ever added, oldest first; `live_only` leaves out removed ones.
pub async fn phrases<'e, E>(executor: E, live_only: bool) -> Result<Vec<PhraseRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let filter = if live_only {
        "WHERE removed_at IS NULL"
    } else {
        ""
    };
    let sql = format!(
        "SELECT id, target, phrase, weight, created_by, created_at, removed_by, removed_at
         FROM desk_triage_phrases {filter} ORDER BY id"
    );
    let rows = sqlx::query(&sql).fetch_all(executor).await?;
    rows.iter()
        .map(|row| {
            Ok(PhraseRow {
                id: row.try_get("id")?,
                target: row.try_get("target")?,
                phrase: row.try_get("phrase")?,
                weight: row.try_get("weight")?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                removed_by: row.try_get("removed_by")?,
                removed_at: row.try_get("removed_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// How many phrases are live.
pub async fn live_phrase_count(tx: &mut Transaction<'_, Any>) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM desk_triage_phrases WHERE removed_at IS NULL")
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("n")?)
}

/// Whether a live phrase already has this target and text.
pub async fn phrase_exists(
    tx: &mut Transaction<'_, Any>,
    target: &str,
    phrase: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM desk_triage_phrases
         WHERE target = $1 AND phrase = $2 AND removed_at IS NULL",
    )
    .bind(target)
    .bind(phrase)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Adds a phrase; its id.
pub async fn insert_phrase(
    tx: &mut Transaction<'_, Any>,
    target: &str,
    phrase: &str,
    weight: f64,
    by: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO desk_triage_phrases (target, phrase, weight, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(target)
    .bind(phrase)
    .bind(weight)
    .bind(by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// Removes a live phrase, keeping who and when; false if there was none.
pub async fn remove_phrase(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    by: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE desk_triage_phrases SET removed_by = $2, removed_at = $3
         WHERE id = $1 AND removed_at IS NULL",
    )
    .bind(id)
    .bind(by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
