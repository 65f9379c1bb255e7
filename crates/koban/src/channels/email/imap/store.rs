//! The SQL of IMAP polling (migration 0020): each mailbox's progress and
//! lease. Every statement works on SQLite and PostgreSQL alike; the lease
//! is taken by one conditional UPDATE, so two nodes racing for it cannot
//! both get it.

use crate::store::StoreError;
use sqlx::{Any, Executor, Row};

/// A mailbox's progress: UIDVALIDITY and the last UID processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub uid_validity: u32,
    pub last_uid: u32,
}

/// The progress recorded for `mailbox`, if it was ever polled.
pub async fn progress<'e, E>(executor: E, mailbox: &str) -> Result<Option<Progress>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row =
        sqlx::query("SELECT uid_validity, last_uid FROM email_imap_mailboxes WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(executor)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let validity: i64 = row.try_get("uid_validity")?;
    let last: i64 = row.try_get("last_uid")?;
    Ok(Some(Progress {
        uid_validity: u32::try_from(validity).unwrap_or(0),
        last_uid: u32::try_from(last).unwrap_or(0),
    }))
}

/// Takes or renews the lease of `mailbox` for `holder` until `until`, if
/// `koban_policy::mail::imap::may_hold` allows it; whether it is held now.
pub async fn take_lease<'e, E>(
    executor: E,
    mailbox: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<bool, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    // The row exists from the first poll on; creating it takes the lease.
    let created = sqlx::query(
        "INSERT INTO email_imap_mailboxes (mailbox, lease_holder, lease_until, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (mailbox) DO NOTHING",
    )
    .bind(mailbox)
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(executor)
    .await?;
    if created.rows_affected() == 1 {
        return Ok(true);
    }
    let taken = sqlx::query(
        "UPDATE email_imap_mailboxes SET lease_holder = $2, lease_until = $4, updated_at = $3
         WHERE mailbox = $1
           AND (lease_holder IS NULL OR lease_holder = $2 OR lease_until <= $3)",
    )
    .bind(mailbox)
    .bind(holder)
    .bind(now)
    .bind(until)
    .execute(executor)
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// Gives the lease up (at shutdown), so another node takes over at once.
pub async fn release_lease<'e, E>(
    executor: E,
    mailbox: &str,
    holder: &str,
) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "UPDATE email_imap_mailboxes SET lease_holder = NULL, lease_until = 0
         WHERE mailbox = $1 AND lease_holder = $2",
    )
    .bind(mailbox)
    .bind(holder)
    .execute(executor)
    .await?;
    Ok(())
}

/// Records that every UID up to `last_uid` under `uid_validity` was
/// processed, if `holder` still holds the lease; false when it does not
/// (another node took over: this one stops).
pub async fn record<'e, E>(
    executor: E,
    mailbox: &str,
    holder: &str,
    progress: Progress,
    now: i64,
) -> Result<bool, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let done = sqlx::query(
        "UPDATE email_imap_mailboxes SET uid_validity = $3, last_uid = $4, updated_at = $5
         WHERE mailbox = $1 AND lease_holder = $2",
    )
    .bind(mailbox)
    .bind(holder)
    .bind(i64::from(progress.uid_validity))
    .bind(i64::from(progress.last_uid))
    .bind(now)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}
