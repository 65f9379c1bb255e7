//! SQL for the sign-in guards and the per-address counters: single atomic
//! statements, so racing requests on any number of nodes never lose a count.

use crate::security::guards::{account_key, Applied, Guard, Reserved, RESERVATION_TTL_MS};
use crate::store::{Backend, Store, StoreError};
use koban_policy::risk::{LockDecision, RiskConfig};
use sqlx::Row;

/// The same three keys built in SQL, for a statement that finds the account
/// and reads its guard at once ([`super::facts`]): over the columns `a.id`
/// (the account), `d.device_key_hash` (its bound device) and
/// `probe.identifier`. A test holds them equal to the functions above.
pub const ACCOUNT_KEY_SQL: &str = "('account:' || a.id)";
pub const DEVICE_KEY_SQL: &str = "('account:' || a.id || ':device:' || d.device_key_hash)";
pub const IDENTIFIER_KEY_SQL: &str = "('identifier:' || probe.identifier)";

/// Reads a guard (a fresh one when none is stored).
pub async fn load(store: &Store, key: &str) -> Result<Guard, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sign_in_guards WHERE guard_key = $1"
    ))
    .bind(key)
    .fetch_optional(store.write())
    .await?;
    row.map(|r| from_row(&r))
        .transpose()
        .map(Option::unwrap_or_default)
}

const COLUMNS: &str = "failures, last_failure_at, locked_until, locked_for_support, lock_cause, second_factor_failures, second_factor_locked_until, lock_reference";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Guard, StoreError> {
    fields(r, "")
}

/// A guard's columns, each named with `prefix`.
fn fields(r: &sqlx::any::AnyRow, prefix: &str) -> Result<Guard, StoreError> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(Guard {
        failures: r.try_get(col("failures").as_str())?,
        last_failure_at: r.try_get(col("last_failure_at").as_str())?,
        locked_until: r.try_get(col("locked_until").as_str())?,
        locked_for_support: r.try_get::<i64, _>(col("locked_for_support").as_str())? != 0,
        lock_cause: r.try_get(col("lock_cause").as_str())?,
        second_factor_failures: r.try_get(col("second_factor_failures").as_str())?,
        second_factor_locked_until: r.try_get(col("second_factor_locked_until").as_str())?,
        lock_reference: r.try_get(col("lock_reference").as_str())?,
    })
}

/// The guard columns of table alias `table`, each renamed with `prefix`,
/// plus `{prefix}guard_key`, for a statement that joins guards in.
pub fn columns_as(table: &str, prefix: &str) -> String {
    std::iter::once("guard_key")
        .chain(COLUMNS.split(", "))
        .map(|c| format!("{table}.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A guard read through [`columns_as`]; a fresh one when the join found none.
pub fn from_row_prefixed(r: &sqlx::any::AnyRow, prefix: &str) -> Result<Guard, StoreError> {
    let key = format!("{prefix}guard_key");
    if r.try_get::<Option<String>, _>(key.as_str())?.is_none() {
        return Ok(Guard::default());
    }
    fields(r, prefix)
}

/// The account's own guard and its devices', as stored.
pub async fn account_guards(store: &Store, account_id: i64) -> Result<Vec<Guard>, StoreError> {
    let own = account_key(account_id);
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sign_in_guards WHERE guard_key = $1 OR guard_key LIKE $2"
    ))
    .bind(&own)
    .bind(format!("{own}:device:%"))
    .fetch_all(store.write())
    .await?;
    rows.iter().map(from_row).collect()
}

/// A guard's (or address's) reservations still counting, as SQL over `table`
/// with the stale-before time as parameter `stale`.
fn in_flight_sql(table: &str, stale: &str) -> String {
    format!(
        "(CASE WHEN {table}.checks_reserved_at IS NULL OR {table}.checks_reserved_at < {stale} THEN 0 ELSE {table}.checks_in_flight END)"
    )
}

/// Takes the reservations of [`crate::security::guards::reserve_check`]:
/// one statement (on SQLite two sent at once to the single writer), on the
/// lane. `threshold` is the failure count of the first lock.
pub async fn reserve(
    store: &Store,
    guard_key: &str,
    ip: Option<&str>,
    now: i64,
    cfg: &RiskConfig,
    threshold: i64,
) -> Result<Reserved, StoreError> {
    let stale_before = now - RESERVATION_TTL_MS;
    let forget_before = cfg.failure_memory_ms.map(|m| now - m).unwrap_or(i64::MIN);
    let guard_in_flight = in_flight_sql("sign_in_guards", "$3");
    let failures = "(CASE WHEN sign_in_guards.last_failure_at IS NULL OR sign_in_guards.last_failure_at < $4 THEN 0 ELSE sign_in_guards.failures END)";
    let guard_sql = format!(
        "INSERT INTO sign_in_guards (guard_key, checks_in_flight, checks_reserved_at) VALUES ($1, 1, $2)
         ON CONFLICT (guard_key) DO UPDATE SET checks_in_flight = {guard_in_flight} + 1, checks_reserved_at = $2
         WHERE sign_in_guards.locked_for_support = 0
           AND (sign_in_guards.locked_until IS NULL OR sign_in_guards.locked_until <= $2)
           AND {guard_in_flight} < (CASE WHEN {failures} < $5 THEN $5 - {failures} ELSE 1 END)
         RETURNING 'guard' AS reserved"
    );
    let ip_in_flight = in_flight_sql("ip_failures", "$8");
    let ip_sql = format!(
        "INSERT INTO ip_failures (ip, window_start, failures, checks_in_flight, checks_reserved_at) VALUES ($6, $7, 0, 1, $7)
         ON CONFLICT (ip) DO UPDATE SET checks_in_flight = {ip_in_flight} + 1, checks_reserved_at = $7
         WHERE {ip_in_flight} < $10 - (CASE WHEN ip_failures.window_start < $9 THEN 0 ELSE ip_failures.failures END)
         RETURNING 'ip' AS reserved"
    );
    let sql = match (ip, store.backend()) {
        (None, _) => guard_sql,
        (Some(_), Backend::Postgres) => format!(
            "WITH g AS ({guard_sql}), i AS ({ip_sql}) SELECT reserved FROM g UNION ALL SELECT reserved FROM i"
        ),
        (Some(_), Backend::Sqlite) => format!("{guard_sql}; {ip_sql}"),
    };
    let rows = store
        .run_on_lane(async |conn| {
            let query = sqlx::query(&sql)
                .bind(guard_key)
                .bind(now)
                .bind(stale_before)
                .bind(forget_before)
                .bind(threshold);
            let query = match ip {
                Some(ip) => query
                    .bind(ip)
                    .bind(now)
                    .bind(stale_before)
                    .bind(now - cfg.ip_failure_window_ms)
                    .bind(i64::from(cfg.ip_failure_limit)),
                None => query,
            };
            query.fetch_all(conn).await
        })
        .await?;
    let mut reserved = Reserved {
        guard: false,
        ip: ip.is_none(),
    };
    for row in rows {
        match row.try_get::<String, _>("reserved")?.as_str() {
            "guard" => reserved.guard = true,
            _ => reserved.ip = true,
        }
    }
    Ok(reserved)
}

/// One reservation of a guard given back, with its key as parameter `$N`.
pub fn release_guard_sql(key_param: usize) -> String {
    format!(
        "UPDATE sign_in_guards SET checks_in_flight = CASE WHEN checks_in_flight > 0 THEN checks_in_flight - 1 ELSE 0 END WHERE guard_key = ${key_param}"
    )
}

/// One reservation of an address given back, with the address as parameter `$N`.
pub fn release_ip_sql(ip_param: usize) -> String {
    format!(
        "UPDATE ip_failures SET checks_in_flight = CASE WHEN checks_in_flight > 0 THEN checks_in_flight - 1 ELSE 0 END WHERE ip = ${ip_param}"
    )
}

/// Gives back the reservations of a guard and an address, either or both,
/// on the lane.
pub async fn release(
    store: &Store,
    guard_key: Option<&str>,
    ip: Option<&str>,
) -> Result<(), StoreError> {
    let sql = match (guard_key, ip, store.backend()) {
        (None, None, _) => return Ok(()),
        (Some(_), None, _) => release_guard_sql(1),
        (None, Some(_), _) => release_ip_sql(1),
        (Some(_), Some(_), Backend::Postgres) => {
            format!("WITH g AS ({}) {}", release_guard_sql(1), release_ip_sql(2))
        }
        (Some(_), Some(_), Backend::Sqlite) => {
            format!("{}; {}", release_guard_sql(1), release_ip_sql(2))
        }
    };
    store
        .run_on_lane(async |conn| {
            let mut query = sqlx::query(&sql);
            for value in [guard_key, ip].into_iter().flatten() {
                query = query.bind(value);
            }
            query.execute(conn).await
        })
        .await?;
    Ok(())
}

/// Counts one more wrong password on `key` in `tx`, forgetting failures
/// from before `forget_before`, and releases the reservation the check
/// held; returns the new count.
pub async fn count_failure(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &str,
    now: i64,
    forget_before: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO sign_in_guards (guard_key, failures, last_failure_at) VALUES ($1, 1, $2)
         ON CONFLICT (guard_key) DO UPDATE SET
             failures = CASE WHEN sign_in_guards.last_failure_at IS NULL OR sign_in_guards.last_failure_at < $3
                             THEN 1 ELSE sign_in_guards.failures + 1 END,
             last_failure_at = $2,
             checks_in_flight = CASE WHEN sign_in_guards.checks_in_flight > 0 THEN sign_in_guards.checks_in_flight - 1 ELSE 0 END
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(forget_before)
    .fetch_one(&mut **tx)
    .await?;
    let failures: i64 = row.try_get("failures")?;
    Ok(failures)
}

/// Applies a lock decision. Locks only ever lengthen here.
pub async fn apply_lock(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &str,
    decision: LockDecision,
    cause: &str,
    now: i64,
) -> Result<Applied, StoreError> {
    let (until, support) = match decision {
        LockDecision::NoLock => return Ok(Applied::default()),
        LockDecision::TemporaryLock { until_ms } => (until_ms, 0i64),
        LockDecision::LockUntilVerifiedSupport => (i64::MAX, 1),
    };
    // Told before the lock is written, so that "became a support lock" can
    // still see the lock it was.
    let told = sqlx::query(
        "UPDATE sign_in_guards SET lock_notified_at = $1, lock_reference = $2
         WHERE guard_key = $3 AND (lock_notified_at IS NULL OR ($4 = 1 AND locked_for_support = 0))",
    )
    .bind(now)
    .bind(crate::accounts::LockReference::random().0)
    .bind(key)
    .bind(support)
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(
        "UPDATE sign_in_guards SET
             locked_until = CASE WHEN locked_until IS NULL OR locked_until < $1 THEN $1 ELSE locked_until END,
             locked_for_support = CASE WHEN $2 = 1 THEN 1 ELSE locked_for_support END,
             lock_cause = $3
         WHERE guard_key = $4
         RETURNING lock_reference",
    )
    .bind(until)
    .bind(support)
    .bind(cause)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    let reference = match row {
        Some(row) => row.try_get("lock_reference")?,
        None => None,
    };
    Ok(Applied {
        newly: told.rows_affected() == 1,
        reference,
    })
}

/// After a successful sign-in or a verified unlock: failures forgotten, lock lifted.
pub async fn clear(store: &Store, key: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sign_in_guards SET failures = 0, last_failure_at = NULL, locked_until = NULL, locked_for_support = 0,
                lock_cause = NULL, lock_notified_at = NULL, lock_reference = NULL, second_factor_failures = 0, second_factor_locked_until = NULL
         WHERE guard_key = $1",
    )
    .bind(key)
    .execute(store.write())
    .await?;
    Ok(())
}

/// Forgets wrong second factors after a complete sign-in.
pub async fn clear_second_factor(store: &Store, account_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sign_in_guards SET second_factor_failures = 0, second_factor_locked_until = NULL WHERE guard_key = $1")
        .bind(account_key(account_id))
        .execute(store.write())
        .await?;
    Ok(())
}

/// Lifts every lock of the account: its own and its devices'.
pub async fn clear_account<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    account_id: i64,
) -> Result<(), StoreError> {
    let own = account_key(account_id);
    sqlx::query(
        "UPDATE sign_in_guards SET failures = 0, last_failure_at = NULL, locked_until = NULL, locked_for_support = 0,
                lock_cause = NULL, lock_notified_at = NULL, lock_reference = NULL, second_factor_failures = 0, second_factor_locked_until = NULL
         WHERE guard_key = $1 OR guard_key LIKE $2",
    )
    .bind(&own)
    .bind(format!("{own}:device:%"))
    .execute(executor)
    .await?;
    Ok(())
}

/// Counts a wrong second factor; returns the new count.
pub async fn count_second_factor(store: &Store, key: &str, now: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO sign_in_guards (guard_key, second_factor_failures, second_factor_last_failure_at) VALUES ($1, 1, $2)
         ON CONFLICT (guard_key) DO UPDATE SET
             second_factor_failures = sign_in_guards.second_factor_failures + 1,
             second_factor_last_failure_at = $2
         RETURNING second_factor_failures",
    )
    .bind(key)
    .bind(now)
    .fetch_one(store.write())
    .await?;
    Ok(row.try_get("second_factor_failures")?)
}

/// Locks second-factor sign-in on `key` until `until`, starting the count afresh.
pub async fn lock_second_factor(store: &Store, key: &str, until: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sign_in_guards SET second_factor_locked_until = $1, second_factor_failures = 0 WHERE guard_key = $2")
        .bind(until)
        .bind(key)
        .execute(store.write())
        .await?;
    Ok(())
}

/// Gives back one counted second-factor answer.
pub async fn give_back_second_factor(store: &Store, key: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sign_in_guards SET second_factor_failures = CASE WHEN second_factor_failures > 0 THEN second_factor_failures - 1 ELSE 0 END
         WHERE guard_key = $1",
    )
    .bind(key)
    .execute(store.write())
    .await?;
    Ok(())
}

/// Counts a second-factor answer before it is checked, unless the
/// second-factor lock is in force or `limit` answers are already counted
/// (failed, or being checked). Returns the answer's place in the count, or
/// `None` when it must not be checked.
pub async fn reserve_second_factor(
    store: &Store,
    key: &str,
    now: i64,
    limit: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO sign_in_guards (guard_key, second_factor_failures, second_factor_last_failure_at) VALUES ($1, 1, $2)
         ON CONFLICT (guard_key) DO UPDATE SET
             second_factor_failures = sign_in_guards.second_factor_failures + 1,
             second_factor_last_failure_at = $2
         WHERE (sign_in_guards.second_factor_locked_until IS NULL OR sign_in_guards.second_factor_locked_until <= $2)
           AND sign_in_guards.second_factor_failures < $3
         RETURNING second_factor_failures",
    )
    .bind(key)
    .bind(now)
    .bind(limit.max(1))
    .fetch_optional(store.write())
    .await?;
    row.map(|r| r.try_get("second_factor_failures"))
        .transpose()
        .map_err(Into::into)
}

/// Counts a failure from `ip` in the current window and releases the
/// reservation the check held there, if any; returns the window's count.
pub async fn count_ip_failure(
    store: &Store,
    ip: &str,
    now: i64,
    window_ms: i64,
) -> Result<u32, StoreError> {
    let row = sqlx::query(
        "INSERT INTO ip_failures (ip, window_start, failures) VALUES ($1, $2, 1)
         ON CONFLICT (ip) DO UPDATE SET
             failures = CASE WHEN ip_failures.window_start < $3 THEN 1 ELSE ip_failures.failures + 1 END,
             window_start = CASE WHEN ip_failures.window_start < $3 THEN $2 ELSE ip_failures.window_start END,
             checks_in_flight = CASE WHEN ip_failures.checks_in_flight > 0 THEN ip_failures.checks_in_flight - 1 ELSE 0 END
         RETURNING failures",
    )
    .bind(ip)
    .bind(now)
    .bind(now - window_ms)
    .fetch_one(store.write())
    .await?;
    let failures: i64 = row.try_get("failures")?;
    Ok(failures.clamp(0, u32::MAX as i64) as u32)
}

/// Forgets addresses whose failure window has passed and which hold no
/// reservation: every sign-in now leaves its address here, not only a
/// failing one. Returns how many.
pub async fn prune_idle_addresses(
    store: &Store,
    now: i64,
    window_ms: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM ip_failures WHERE window_start < $1
           AND (checks_in_flight = 0 OR checks_reserved_at IS NULL OR checks_reserved_at < $2)",
    )
    .bind(now - window_ms.max(0))
    .bind(now - RESERVATION_TTL_MS)
    .execute(store.write())
    .await?;
    Ok(done.rows_affected())
}
