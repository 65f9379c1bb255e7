//! The `idempotent_answers` table: one row per (caller scope, key), claimed
//! before the request runs and filled with its sealed answer after.

use crate::store::{Store, StoreError};
use sqlx::Row;

/// What an earlier request with the same scope and key left.
pub struct Stored {
    pub fingerprint: String,
    /// 0 while that request is still running.
    pub status: i64,
    pub content_type: Option<String>,
    pub sealed_body: Option<Vec<u8>>,
}

/// Claims the key for a request; false when an earlier request holds it.
/// A row older than `keep_ms` that the hourly prune has not reached yet is
/// taken over, so a key is never remembered longer than promised.
pub async fn claim(
    store: &Store,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
    keep_ms: i64,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO idempotent_answers (scope, idem_key, fingerprint, status, created_at)
         VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (scope, idem_key) DO UPDATE SET fingerprint = excluded.fingerprint,
             status = 0, content_type = NULL, sealed_body = NULL, created_at = excluded.created_at
         WHERE idempotent_answers.created_at < $5",
    )
    .bind(scope)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .bind(now - keep_ms)
    .execute(store.write())
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The row an earlier request left, if it is still there.
pub async fn find(store: &Store, scope: &str, key: &str) -> Result<Option<Stored>, StoreError> {
    let row = sqlx::query(
        "SELECT fingerprint, status, content_type, sealed_body FROM idempotent_answers
         WHERE scope = $1 AND idem_key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(store.write())
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Stored {
        fingerprint: row.try_get("fingerprint")?,
        status: row.try_get("status")?,
        content_type: row.try_get("content_type")?,
        sealed_body: row.try_get("sealed_body")?,
    }))
}

/// Fills a claimed row with the answer to replay.
pub async fn record(
    store: &Store,
    scope: &str,
    key: &str,
    status: u16,
    content_type: &str,
    sealed_body: &[u8],
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idempotent_answers SET status = $1, content_type = $2, sealed_body = $3
         WHERE scope = $4 AND idem_key = $5",
    )
    .bind(i64::from(status))
    .bind(content_type)
    .bind(sealed_body)
    .bind(scope)
    .bind(key)
    .execute(store.write())
    .await?;
    Ok(())
}

/// Gives a claimed key back, so a retry runs the request again.
pub async fn release(store: &Store, scope: &str, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM idempotent_answers WHERE scope = $1 AND idem_key = $2")
        .bind(scope)
        .bind(key)
        .execute(store.write())
        .await?;
    Ok(())
}

/// Deletes the rows made before `before` (run by the hourly job).
pub async fn prune(store: &Store, before: i64) -> Result<u64, StoreError> {
    let deleted = sqlx::query("DELETE FROM idempotent_answers WHERE created_at < $1")
        .bind(before)
        .execute(store.write())
        .await?;
    Ok(deleted.rows_affected())
}
