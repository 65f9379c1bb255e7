//! SQL for sessions.

use super::Account;
use crate::store::{Store, StoreError};
use sqlx::{Any, Executor, Row};

/// The INSERT of a session, its values `$first` to `$first + 7` in the
/// order [`crate::accounts::sessions::Draft`] binds them: account, token
/// hash, created, idle expiry, absolute expiry, ip, user agent, device.
pub fn insert_sql(first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "INSERT INTO sessions (account_id, token_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, device_id)
         VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
        p(0), p(1), p(2), p(2), p(3), p(4), p(5), p(6), p(7)
    )
}

/// Stores a session drafted by [`crate::accounts::sessions::Draft`]; returns its id.
pub async fn insert(
    store: &Store,
    account_id: i64,
    draft: &crate::accounts::sessions::Draft,
    ip: Option<&str>,
    device_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(&insert_sql(1))
        .bind(account_id)
        .bind(&draft.token_hash)
        .bind(draft.created_at)
        .bind(draft.idle_expires_at)
        .bind(draft.absolute_expires_at)
        .bind(ip)
        .bind(&draft.user_agent)
        .bind(device_id)
        .fetch_one(store.write())
        .await?;
    row.try_get("id")
}

/// A live session found by its token, with its account.
pub struct Live {
    pub session_id: i64,
    pub account: Account,
    pub last_seen_at: i64,
    pub absolute_expires_at: i64,
    pub device_id: Option<i64>,
    pub stepped_up_at: Option<i64>,
}

/// The live session whose token hashes to `token_hash`, read on the lane
/// (every authenticated request makes this read).
pub async fn find_live(
    store: &Store,
    token_hash: &str,
    now: i64,
) -> Result<Option<Live>, StoreError> {
    let sql = format!(
        "SELECT s.id AS session_id, s.last_seen_at, s.absolute_expires_at, s.device_id, s.stepped_up_at, {}
         FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.idle_expires_at > $2 AND s.absolute_expires_at > $2",
        super::columns_of("a")
    );
    let row = store
        .read_on_lane(async |conn| {
            sqlx::query(&sql)
                .bind(token_hash)
                .bind(now)
                .fetch_optional(conn)
                .await
        })
        .await?;
    let live = |row: sqlx::any::AnyRow| -> Result<Live, sqlx::Error> {
        Ok(Live {
            account: Account::from_row(&row)?,
            session_id: row.try_get("session_id")?,
            last_seen_at: row.try_get("last_seen_at")?,
            absolute_expires_at: row.try_get("absolute_expires_at")?,
            device_id: row.try_get("device_id")?,
            stepped_up_at: row.try_get("stepped_up_at")?,
        })
    };
    Ok(row.map(live).transpose()?)
}

/// Moves a session's idle expiry on, as it is used.
pub async fn touch(store: &Store, session_id: i64, now: i64, idle: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3")
        .bind(now)
        .bind(idle)
        .bind(session_id)
        .execute(store.write())
        .await?;
    Ok(())
}

/// Ends one session.
pub async fn revoke(store: &Store, session_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(session_id)
        .execute(store.write())
        .await?;
    Ok(())
}

/// Ends every session of the account except `keep`; returns how many ended.
pub async fn revoke_all<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    keep: Option<i64>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL AND id <> $3")
        .bind(now)
        .bind(account_id)
        .bind(keep.unwrap_or(-1))
        .execute(executor)
        .await?;
    Ok(done.rows_affected())
}

/// Brings the account's live sessions' expiries to no later than `cap` ms
/// after each began; returns how many changed.
pub async fn cap_lifetime<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    cap: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sessions SET absolute_expires_at = created_at + $1,
             idle_expires_at = CASE WHEN idle_expires_at > created_at + $1
                                    THEN created_at + $1 ELSE idle_expires_at END
         WHERE account_id = $2 AND revoked_at IS NULL AND absolute_expires_at > created_at + $1",
    )
    .bind(cap)
    .bind(account_id)
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}

/// How many live sessions the account has besides `keep`.
pub async fn count_others(
    store: &Store,
    account_id: i64,
    keep: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM sessions WHERE account_id = $1 AND id <> $2 AND revoked_at IS NULL AND idle_expires_at > $3 AND absolute_expires_at > $3",
    )
    .bind(account_id)
    .bind(keep)
    .bind(now)
    .fetch_one(store.read())
    .await?;
    row.try_get("n")
}
