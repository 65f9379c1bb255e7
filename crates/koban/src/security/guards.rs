//! The counters that decide locks, kept in the database and changed with
//! single atomic statements, so racing requests on any number of nodes never
//! lose a count.

use crate::store::{Store, StoreError};
use koban_policy::risk::{AccountLock, LockDecision, RiskConfig};
use sqlx::Row;

/// The guard of an account.
pub fn account_key(account_id: i64) -> String {
    format!("account:{account_id}")
}

/// The guard of one of the account's bound devices. Wrong passwords from a
/// device the account already knows count here, apart from everyone else's
/// (OWASP's "device cookies"): someone guessing from elsewhere locks the
/// account for every unknown client but not for its owner's own phone.
pub fn device_key(account_id: i64, device_key_hash: &str) -> String {
    format!("account:{account_id}:device:{device_key_hash}")
}

/// The guard of an identifier nobody registered: it locks like a real one.
pub fn identifier_key(identifier: &str) -> String {
    format!("identifier:{identifier}")
}

/// The same three keys built in SQL, for a statement that finds the account
/// and reads its guard at once ([`super::facts`]): over the columns `a.id`
/// (the account), `d.device_key_hash` (its bound device) and
/// `probe.identifier`. A test holds them equal to the functions above.
pub const ACCOUNT_KEY_SQL: &str = "('account:' || a.id)";
pub const DEVICE_KEY_SQL: &str = "('account:' || a.id || ':device:' || d.device_key_hash)";
pub const IDENTIFIER_KEY_SQL: &str = "('identifier:' || probe.identifier)";

/// A guard's state.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    pub failures: i64,
    pub last_failure_at: Option<i64>,
    pub locked_until: Option<i64>,
    pub locked_for_support: bool,
    pub lock_cause: Option<String>,
    pub second_factor_failures: i64,
    pub second_factor_locked_until: Option<i64>,
}

impl Guard {
    /// The lock as the risk engine reads it.
    pub fn lock(&self) -> AccountLock {
        AccountLock {
            locked_until_ms: self.locked_until,
            locked_for_support: self.locked_for_support,
        }
    }

    /// Nothing to forget: no failures, no lock. A successful sign-in skips
    /// the write that would clear such a guard. (A failure counted between
    /// the read and the sign-in's end then stays counted: the cautious side.)
    pub fn is_clear(&self) -> bool {
        self.failures == 0
            && self.last_failure_at.is_none()
            && self.locked_until.is_none()
            && !self.locked_for_support
            && self.lock_cause.is_none()
            && self.second_factor_failures == 0
            && self.second_factor_locked_until.is_none()
    }

    /// Its second-factor counter is at rest.
    pub fn second_factor_is_clear(&self) -> bool {
        self.second_factor_failures == 0 && self.second_factor_locked_until.is_none()
    }

    /// Locked now, for any reason?
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_for_support || self.locked_until.is_some_and(|t| t > now)
    }
}

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

const COLUMNS: &str = "failures, last_failure_at, locked_until, locked_for_support, lock_cause, second_factor_failures, second_factor_locked_until";

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

/// The account's lock in force, if any: its own or one of its devices'
/// (a support lock first), for the unlock paths, which do not know which
/// bucket the owner ran into.
pub async fn lock_in_force(
    store: &Store,
    account_id: i64,
    now: i64,
) -> Result<Option<Guard>, StoreError> {
    let own = account_key(account_id);
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sign_in_guards WHERE guard_key = $1 OR guard_key LIKE $2"
    ))
    .bind(&own)
    .bind(format!("{own}:device:%"))
    .fetch_all(store.write())
    .await?;
    let mut locked: Vec<Guard> = rows
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|g| g.is_locked(now))
        .collect();
    locked.sort_by_key(|g| !g.locked_for_support);
    Ok(locked.into_iter().next())
}

/// Counts one more wrong password, forgetting failures older than the
/// configured memory, in one statement; returns the new count.
pub async fn count_password_failure(
    store: &Store,
    key: &str,
    now: i64,
    cfg: &RiskConfig,
) -> Result<u32, StoreError> {
    let forget_before = cfg.failure_memory_ms.map(|m| now - m).unwrap_or(i64::MIN);
    let row = sqlx::query(
        "INSERT INTO sign_in_guards (guard_key, failures, last_failure_at) VALUES ($1, 1, $2)
         ON CONFLICT (guard_key) DO UPDATE SET
             failures = CASE WHEN sign_in_guards.last_failure_at IS NULL OR sign_in_guards.last_failure_at < $3
                             THEN 1 ELSE sign_in_guards.failures + 1 END,
             last_failure_at = $2
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(forget_before)
    .fetch_one(store.write())
    .await?;
    let failures: i64 = row.try_get("failures")?;
    Ok(failures.clamp(0, u32::MAX as i64) as u32)
}

/// Applies a lock decision. Locks only ever lengthen here; returns true when
/// this lock is one the owner has not been told about yet (and marks it told).
pub async fn apply_lock(
    store: &Store,
    key: &str,
    decision: LockDecision,
    cause: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let (until, support) = match decision {
        LockDecision::NoLock => return Ok(false),
        LockDecision::TemporaryLock { until_ms } => (until_ms, 0i64),
        LockDecision::LockUntilVerifiedSupport => (i64::MAX, 1),
    };
    sqlx::query(
        "UPDATE sign_in_guards SET
             locked_until = CASE WHEN locked_until IS NULL OR locked_until < $1 THEN $1 ELSE locked_until END,
             locked_for_support = CASE WHEN $2 = 1 THEN 1 ELSE locked_for_support END,
             lock_cause = $3
         WHERE guard_key = $4",
    )
    .bind(until)
    .bind(support)
    .bind(cause)
    .bind(key)
    .execute(store.write())
    .await?;
    let told = sqlx::query("UPDATE sign_in_guards SET lock_notified_at = $1 WHERE guard_key = $2 AND lock_notified_at IS NULL")
        .bind(now)
        .bind(key)
        .execute(store.write())
        .await?;
    Ok(told.rows_affected() == 1)
}

/// After a successful sign-in or a verified unlock: failures forgotten, lock lifted.
pub async fn clear(store: &Store, key: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sign_in_guards SET failures = 0, last_failure_at = NULL, locked_until = NULL, locked_for_support = 0,
                lock_cause = NULL, lock_notified_at = NULL, second_factor_failures = 0, second_factor_locked_until = NULL
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
pub async fn clear_account(store: &Store, account_id: i64) -> Result<(), StoreError> {
    let own = account_key(account_id);
    sqlx::query(
        "UPDATE sign_in_guards SET failures = 0, last_failure_at = NULL, locked_until = NULL, locked_for_support = 0,
                lock_cause = NULL, lock_notified_at = NULL, second_factor_failures = 0, second_factor_locked_until = NULL
         WHERE guard_key = $1 OR guard_key LIKE $2",
    )
    .bind(&own)
    .bind(format!("{own}:device:%"))
    .execute(store.write())
    .await?;
    Ok(())
}

/// Counts a wrong second factor; locks second-factor sign-in at `limit`.
/// Returns the new count.
pub async fn count_second_factor_failure(
    store: &Store,
    key: &str,
    now: i64,
    limit: i64,
    lock_ms: i64,
) -> Result<i64, StoreError> {
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
    let failures: i64 = row.try_get("second_factor_failures")?;
    if failures >= limit.max(1) {
        sqlx::query("UPDATE sign_in_guards SET second_factor_locked_until = $1, second_factor_failures = 0 WHERE guard_key = $2")
            .bind(now + lock_ms)
            .bind(key)
            .execute(store.write())
            .await?;
    }
    Ok(failures)
}

/// Counts a failure from `ip` in the current window; returns the window's count.
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
             window_start = CASE WHEN ip_failures.window_start < $3 THEN $2 ELSE ip_failures.window_start END
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
