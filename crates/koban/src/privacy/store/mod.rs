//! The privacy domain's SQL: its own tables (exports, deletion requests),
//! and the reads and erasures it does on other domains' tables. Those
//! live here, each commented, because an archive and an erasure must see
//! every table in one place and one transaction, which the other domains'
//! paged, per-screen services do not offer.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

mod erasure;
pub mod retention;
mod sections;

pub use erasure::{erase_account, ERASED_TEXT};
pub use retention::prune_deliveries;
pub use sections::{section_query, section_rows, ticket_messages, Col, MessageRow, SectionQuery};

/// One export as stored.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: i64,
    pub account_id: i64,
    pub status: String,
    pub progress: i64,
    pub blob_id: Option<String>,
    pub bytes: Option<i64>,
    pub created_at: i64,
    pub ready_at: Option<i64>,
    pub expires_at: Option<i64>,
}

const EXPORT_COLUMNS: &str =
    "id, account_id, status, progress, blob_id, bytes, created_at, ready_at, expires_at";

fn export_row(row: &AnyRow) -> Result<ExportRow, sqlx::Error> {
    Ok(ExportRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        status: row.try_get("status")?,
        progress: row.try_get("progress")?,
        blob_id: row.try_get("blob_id")?,
        bytes: row.try_get("bytes")?,
        created_at: row.try_get("created_at")?,
        ready_at: row.try_get("ready_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// Adds a queued export unless the account has one in progress (the
/// unique `in_progress_for` refuses a second, however close in time).
pub async fn insert_export<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO privacy_exports (account_id, in_progress_for, status, progress, created_at)
         VALUES ($1, $1, 'queued', 0, $2)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(now)
    .fetch_optional(executor)
    .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// The account's export in progress, if any.
pub async fn in_progress<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Option<ExportRow>, sqlx::Error> {
    let sql = format!("SELECT {EXPORT_COLUMNS} FROM privacy_exports WHERE in_progress_for = $1");
    let row = sqlx::query(&sql)
        .bind(account_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(export_row).transpose()
}

/// One export of `account_id` (None for another person's).
pub async fn export_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    id: i64,
) -> Result<Option<ExportRow>, sqlx::Error> {
    let sql =
        format!("SELECT {EXPORT_COLUMNS} FROM privacy_exports WHERE id = $1 AND account_id = $2");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(account_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(export_row).transpose()
}

/// The account's newest exports, newest first.
pub async fn exports_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    limit: i64,
) -> Result<Vec<ExportRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {EXPORT_COLUMNS} FROM privacy_exports WHERE account_id = $1 ORDER BY id DESC LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    rows.iter().map(export_row).collect()
}

/// Records how far the preparation is.
pub async fn set_progress<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
    progress: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE privacy_exports SET status = 'preparing', progress = $2
         WHERE id = $1 AND status IN ('queued', 'preparing')",
    )
    .bind(id)
    .bind(progress)
    .execute(executor)
    .await?;
    Ok(())
}

/// The archive is stored: ready until `expires_at`, and no longer in progress.
pub async fn finish_export<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
    blob_id: &str,
    bytes: i64,
    ready_at: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE privacy_exports SET status = 'ready', progress = 100, in_progress_for = NULL,
             blob_id = $2, bytes = $3, ready_at = $4, expires_at = $5
         WHERE id = $1 AND status IN ('queued', 'preparing')",
    )
    .bind(id)
    .bind(blob_id)
    .bind(bytes)
    .bind(ready_at)
    .bind(expires_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// The job gave up: the account may ask again.
pub async fn fail_export<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE privacy_exports SET status = 'failed', in_progress_for = NULL
         WHERE id = $1 AND status IN ('queued', 'preparing')",
    )
    .bind(id)
    .execute(executor)
    .await?;
    Ok(())
}

/// Ready exports whose link ran out by `now`: (id, blob id).
pub async fn expired_exports<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    now: i64,
) -> Result<Vec<(i64, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, blob_id FROM privacy_exports WHERE status = 'ready' AND expires_at <= $1
         ORDER BY id LIMIT 500",
    )
    .bind(now)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("blob_id")?)))
        .collect()
}

/// Marks an export expired once its bytes are deleted.
pub async fn mark_expired<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE privacy_exports SET status = 'expired', blob_id = NULL WHERE id = $1")
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}

/// One deletion request as stored.
#[derive(Debug, Clone)]
pub struct DeletionRow {
    pub id: i64,
    pub account_id: i64,
    pub status: String,
    pub requested_at: i64,
    pub erase_after: i64,
    pub cancelled_at: Option<i64>,
    pub cancelled_by: Option<String>,
    pub erased_at: Option<i64>,
}

const DELETION_COLUMNS: &str =
    "id, account_id, status, requested_at, erase_after, cancelled_at, cancelled_by, erased_at";

fn deletion_row(row: &AnyRow) -> Result<DeletionRow, sqlx::Error> {
    Ok(DeletionRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        status: row.try_get("status")?,
        requested_at: row.try_get("requested_at")?,
        erase_after: row.try_get("erase_after")?,
        cancelled_at: row.try_get("cancelled_at")?,
        cancelled_by: row.try_get("cancelled_by")?,
        erased_at: row.try_get("erased_at")?,
    })
}

/// Adds a pending deletion unless one is pending (unique `pending_for`).
pub async fn insert_deletion(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    now: i64,
    erase_after: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO privacy_deletions (account_id, pending_for, status, requested_at, erase_after)
         VALUES ($1, $1, 'requested', $2, $3)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(now)
    .bind(erase_after)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// The account's newest deletion request, pending or not.
pub async fn latest_deletion<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Option<DeletionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {DELETION_COLUMNS} FROM privacy_deletions WHERE account_id = $1 ORDER BY id DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(account_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(deletion_row).transpose()
}

/// Pending requests after id `after`, oldest first, for the sweep.
pub async fn pending_deletions<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    after: i64,
    limit: i64,
) -> Result<Vec<DeletionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {DELETION_COLUMNS} FROM privacy_deletions WHERE status = 'requested' AND id > $1
         ORDER BY id LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    rows.iter().map(deletion_row).collect()
}

/// Cancels a pending request; false when it is no longer pending (another
/// node, or the erasure, got there first).
pub async fn cancel_deletion(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    by: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE privacy_deletions SET status = 'cancelled', pending_for = NULL,
             cancelled_at = $2, cancelled_by = $3
         WHERE id = $1 AND status = 'requested'",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a pending request erased; false when it was no longer pending.
pub async fn mark_erased(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE privacy_deletions SET status = 'erased', pending_for = NULL, erased_at = $2
         WHERE id = $1 AND status = 'requested'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When the account last signed in: its newest session's start. Read from
/// the accounts domain's `sessions` table, which has no such query.
pub async fn last_sign_in<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT MAX(created_at) AS at FROM sessions WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(executor)
        .await?;
    row.try_get("at")
}

/// Whose export `id` is (the preparing job starts from the id alone).
pub async fn owner_of_export<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT account_id FROM privacy_exports WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.map(|r| r.try_get("account_id")).transpose()
}

/// The account's exports that still hold an archive: (id, blob id).
pub async fn archives_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, blob_id FROM privacy_exports WHERE account_id = $1 AND blob_id IS NOT NULL",
    )
    .bind(account_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("blob_id")?)))
        .collect()
}

/// Ends every export of an account being erased.
pub async fn expire_exports_of(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE privacy_exports SET status = 'expired', blob_id = NULL, in_progress_for = NULL
         WHERE account_id = $1",
    )
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
