//! SQL for security reminders.

use crate::store::{now_ms, Store};
use sqlx::Row;

/// The names of the account's bound devices last seen before `stale_before`.
pub async fn stale_devices(
    store: &Store,
    account_id: i64,
    stale_before: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT name FROM devices WHERE account_id = $1 AND removed_at IS NULL AND last_seen_at < $2 ORDER BY id")
        .bind(account_id)
        .bind(stale_before)
        .fetch_all(store.read())
        .await?;
    rows.iter().map(|r| r.try_get("name")).collect()
}

/// Claims the sending of reminder `kind` to the account for the period
/// starting at `period_start`; false when it was already claimed.
pub async fn claim(
    store: &Store,
    account_id: i64,
    kind: &str,
    period_start: i64,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "INSERT INTO security_reminders (account_id, kind, period_start, sent_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, kind, period_start) DO NOTHING",
    )
    .bind(account_id)
    .bind(kind)
    .bind(period_start)
    .bind(now_ms())
    .execute(store.write())
    .await?;
    Ok(claimed.rows_affected() == 1)
}
