//! SQL for verification codes and the send allowances that ration them.

use crate::store::{Store, StoreError};
use sqlx::{Any, Row, Transaction};

/// An allowance's recorded send times and its version, if it has a row.
pub async fn allowance(
    store: &Store,
    destination: &str,
) -> Result<Option<(Vec<i64>, i64)>, sqlx::Error> {
    let row = sqlx::query("SELECT sent_times, version FROM send_throttle WHERE destination = $1")
        .bind(destination)
        .fetch_optional(store.write())
        .await?;
    row.map(|r| {
        let text: String = r.try_get("sent_times")?;
        let times: Vec<i64> = text.split(',').filter_map(|t| t.parse().ok()).collect();
        Ok((times, r.try_get::<i64, _>("version")?))
    })
    .transpose()
}

/// Stores an allowance's send times: a new row when `version` is `None`,
/// else only if the row is still at `version`. Returns rows changed (0:
/// someone else got there first).
pub async fn save_allowance(
    store: &Store,
    destination: &str,
    times: &[i64],
    version: Option<i64>,
    expires_at: i64,
) -> Result<u64, sqlx::Error> {
    let text = times
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Ok(match version {
        None => sqlx::query(
            "INSERT INTO send_throttle (destination, sent_times, version, expires_at) VALUES ($1, $2, 1, $3)
             ON CONFLICT (destination) DO NOTHING",
        )
        .bind(destination)
        .bind(&text)
        .bind(expires_at)
        .execute(store.write())
        .await?
        .rows_affected(),
        Some(v) => sqlx::query(
            "UPDATE send_throttle SET sent_times = $1, version = version + 1, expires_at = $4
             WHERE destination = $2 AND version = $3",
        )
        .bind(&text)
        .bind(destination)
        .bind(v)
        .bind(expires_at)
        .execute(store.write())
        .await?
        .rows_affected(),
    })
}

/// Deletes the send allowances whose window has passed (the hourly job).
pub async fn prune_allowances(store: &Store, now: i64) -> Result<u64, StoreError> {
    let deleted = sqlx::query("DELETE FROM send_throttle WHERE expires_at < $1")
        .bind(now)
        .execute(store.write())
        .await?;
    Ok(deleted.rows_affected())
}

/// A code about to be stored.
pub struct NewCode<'a> {
    pub account_id: i64,
    pub purpose: &'a str,
    pub channel: &'a str,
    pub destination: &'a str,
    pub code_hash: String,
    pub bound_to: Option<&'a str>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Supersedes the account's unused codes for the purpose and stores `code`.
pub async fn replace(tx: &mut Transaction<'_, Any>, code: NewCode<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE verification_codes SET superseded_at = $1
         WHERE account_id = $2 AND purpose = $3 AND consumed_at IS NULL AND superseded_at IS NULL",
    )
    .bind(code.created_at)
    .bind(code.account_id)
    .bind(code.purpose)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO verification_codes (account_id, purpose, channel, destination, code_hash, created_at, expires_at, bound_to)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(code.account_id)
    .bind(code.purpose)
    .bind(code.channel)
    .bind(code.destination)
    .bind(code.code_hash)
    .bind(code.created_at)
    .bind(code.expires_at)
    .bind(code.bound_to)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Binds the account's live code for `purpose` to `bound_to`.
pub async fn rebind(
    store: &Store,
    account_id: i64,
    purpose: &str,
    bound_to: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE verification_codes SET bound_to = $1
         WHERE account_id = $2 AND purpose = $3 AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > $4",
    )
    .bind(bound_to)
    .bind(account_id)
    .bind(purpose)
    .bind(now)
    .execute(store.write())
    .await?;
    Ok(())
}

/// The live code a try was counted on.
pub struct Tried {
    pub id: i64,
    pub code_hash: String,
    pub channel: String,
    pub destination: String,
    pub bound_to: Option<String>,
}

/// Counts a try on the account's newest live code for `purpose`, if it
/// has had fewer than `max_attempts`; returns that code.
pub async fn count_try(
    store: &Store,
    account_id: i64,
    purpose: &str,
    max_attempts: i64,
    now: i64,
) -> Result<Option<Tried>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE verification_codes SET attempts = attempts + 1
         WHERE id = (SELECT id FROM verification_codes
                     WHERE account_id = $1 AND purpose = $2 AND consumed_at IS NULL AND superseded_at IS NULL
                     ORDER BY id DESC LIMIT 1)
           AND attempts < $3 AND expires_at > $4
         RETURNING id, code_hash, channel, destination, bound_to",
    )
    .bind(account_id)
    .bind(purpose)
    .bind(max_attempts)
    .bind(now)
    .fetch_optional(store.write())
    .await?;
    row.map(|row| {
        Ok(Tried {
            bound_to: row.try_get("bound_to")?,
            code_hash: row.try_get("code_hash")?,
            id: row.try_get("id")?,
            channel: row.try_get("channel")?,
            destination: row.try_get("destination")?,
        })
    })
    .transpose()
}

/// Uses up code `id` if it is still live; returns rows changed.
pub async fn use_up(tx: &mut Transaction<'_, Any>, id: i64, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE verification_codes SET consumed_at = $1
         WHERE id = $2 AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}
