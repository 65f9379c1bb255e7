//! SQL for the login history and the security timeline.

use crate::security::history::{Attempt, AttemptView, EventView};
use crate::store::{now_ms, Backend, Store, StoreError};
use sqlx::{Any, Executor, Row};

/// Rows per INSERT; a flood's batch is cut into statements of this size.
const ROWS_PER_STATEMENT: usize = 1000;

/// The INSERT of the attempts in the JSON array bound as `$param`, each as
/// [`attempt_json`] makes it: the rows go to the database as one parameter,
/// which the database unpacks itself. Binding a dozen values per row cost
/// more than the insert.
///
/// A missing location travels as a JSON null. (Bound directly, a
/// `None::<f64>` is sent by sqlx 0.8.6's Any driver as a PostgreSQL `real`,
/// which broke the next statement with a location on that connection.)
pub fn insert_sql(backend: Backend, param: usize) -> String {
    use crate::store::dialect::JsonKind::{Integer, Real, Text};
    format!(
        "INSERT INTO login_attempts (at, account_id, ip, country, device_id, user_agent, outcome, risk_score, reasons, decision, latitude, longitude) {}",
        backend.select_json_rows(
            param,
            &[Integer, Integer, Text, Text, Integer, Text, Text, Integer, Text, Text, Real, Real]
        )
    )
}

/// One attempt made at `at` as a row of [`insert_sql`]'s array.
pub fn attempt_json(at: i64, a: &Attempt) -> serde_json::Value {
    serde_json::json!([
        at,
        a.account_id,
        a.ip,
        a.country,
        a.device_id,
        a.user_agent,
        a.outcome,
        a.risk_score,
        a.reasons.join(","),
        a.decision,
        a.latitude.filter(|_| a.longitude.is_some()),
        a.longitude.filter(|_| a.latitude.is_some()),
    ])
}

/// Writes attempts, each with the time it happened.
pub(crate) async fn write_batch(
    store: &Store,
    attempts: &[(i64, Attempt)],
) -> Result<(), StoreError> {
    let sql = insert_sql(store.backend(), 1);
    for chunk in attempts.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<serde_json::Value> =
            chunk.iter().map(|(at, a)| attempt_json(*at, a)).collect();
        sqlx::query(&sql)
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(store.write())
            .await?;
    }
    Ok(())
}

/// Adds an entry to an account's security timeline.
pub async fn event<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    kind: &str,
    detail: &str,
    ip: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO security_events (account_id, at, kind, detail, ip) VALUES ($1, $2, $3, $4, $5)")
        .bind(account_id)
        .bind(now_ms())
        .bind(kind)
        .bind(detail)
        .bind(ip)
        .execute(executor)
        .await?;
    Ok(())
}

/// An account's attempts before id `before`, newest first: at most `limit`.
pub async fn attempts(
    store: &Store,
    account_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<AttemptView>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, at, ip, country, device_id, user_agent, outcome, risk_score, reasons, decision FROM login_attempts
         WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(before)
    .bind(limit)
    .fetch_all(store.read())
    .await?;
    rows.iter()
        .map(|r| {
            let reasons: String = r.try_get("reasons")?;
            Ok(AttemptView {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                ip: r.try_get("ip")?,
                country: r.try_get("country")?,
                device_id: r.try_get("device_id")?,
                user_agent: r.try_get("user_agent")?,
                outcome: r.try_get("outcome")?,
                risk_score: r.try_get("risk_score")?,
                reasons: reasons
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                decision: r.try_get("decision")?,
            })
        })
        .collect()
}

/// An account's timeline before id `before`, newest first: at most `limit`.
pub async fn events(
    store: &Store,
    account_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<EventView>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, at, kind, detail, ip FROM security_events WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(before)
    .bind(limit)
    .fetch_all(store.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventView {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                detail: r.try_get("detail")?,
                ip: r.try_get("ip")?,
            })
        })
        .collect()
}

/// Deletes attempts older than `before`; returns how many.
pub async fn prune(store: &Store, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM login_attempts WHERE at < $1")
        .bind(before)
        .execute(store.write())
        .await?;
    Ok(done.rows_affected())
}
