//! The counters that decide locks, kept in the database and changed with
//! single atomic statements, so racing requests on any number of nodes never
//! lose a count.

use super::store::guards as store;
use crate::store::{Store, StoreError};
use koban_policy::risk::{AccountLock, LockDecision, RiskConfig};

pub use store::{
    clear, clear_account, clear_second_factor, columns_as, count_ip_failure, from_row_prefixed,
    load, prune_idle_addresses, release_guard_sql, release_ip_sql, reserve_second_factor,
    ACCOUNT_KEY_SQL, DEVICE_KEY_SQL, IDENTIFIER_KEY_SQL,
};

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
    /// The reference of the lock in force, for its owner to quote to support.
    pub lock_reference: Option<i64>,
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

/// The account's lock in force, if any: its own or one of its devices'
/// (a support lock first), for the unlock paths, which do not know which
/// bucket the owner ran into.
pub async fn lock_in_force(
    store: &Store,
    account_id: i64,
    now: i64,
) -> Result<Option<Guard>, StoreError> {
    let guards = store::account_guards(store, account_id).await?;
    let mut locked: Vec<Guard> = guards.into_iter().filter(|g| g.is_locked(now)).collect();
    locked.sort_by_key(|g| !g.locked_for_support);
    Ok(locked.into_iter().next())
}

/// How long a reservation counts without being settled: far beyond any
/// hash's wait in the queue, so only a node that died mid-check leaves one
/// this old.
pub const RESERVATION_TTL_MS: i64 = 60_000;

/// Reserves the check of one password on `guard_key` and, when the per-address
/// rule applies to this sign-in, on `ip`: one statement (on SQLite two sent
/// at once to the single writer), each reservation taken only while the
/// checks in flight stay below what [`koban_policy::risk::checks_allowed`]
/// (and `ip_checks_allowed`) allow and no lock is in force. Whatever was
/// taken is held by the returned [`CheckReservation`], released when it is
/// settled or dropped.
pub async fn reserve_check(
    store: &Store,
    guard_key: &str,
    ip: Option<&str>,
    now: i64,
    cfg: &RiskConfig,
) -> Result<(CheckReservation, Reserved), StoreError> {
    let threshold = i64::from(koban_policy::risk::first_lock_at(cfg));
    let reserved = store::reserve(store, guard_key, ip, now, cfg, threshold).await?;
    let holding = CheckReservation {
        store: store.clone(),
        guard_key: reserved.guard.then(|| guard_key.to_string()),
        ip: ip.filter(|_| reserved.ip).map(str::to_string),
    };
    Ok((holding, reserved))
}

/// Which reservations were taken; a part that did not apply counts as taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    pub guard: bool,
    pub ip: bool,
}

impl Reserved {
    /// The password may be checked.
    pub fn all(self) -> bool {
        self.guard && self.ip
    }
}

/// Reservations held while a password is checked. Settle it with
/// [`count_password_failure`] and [`count_ip_failure`] (which release as
/// they count) or [`CheckReservation::release`]; dropped unsettled (an error
/// or a cancelled request), it releases itself in the background.
#[derive(Debug)]
pub struct CheckReservation {
    store: Store,
    guard_key: Option<String>,
    ip: Option<String>,
}

impl CheckReservation {
    /// Gives the reservations back without counting a failure.
    pub async fn release(mut self) -> Result<(), StoreError> {
        let (guard_key, ip) = (self.guard_key.take(), self.ip.take());
        store::release(&self.store, guard_key.as_deref(), ip.as_deref()).await
    }

    /// The guard's reservation was settled by a statement that released it
    /// ([`count_password_failure`]).
    pub fn guard_settled(&mut self) {
        self.guard_key = None;
    }

    /// The address's reservation was settled by a statement that released
    /// it ([`count_ip_failure`]).
    pub fn ip_settled(&mut self) {
        self.ip = None;
    }

    /// The guard and address to release, for a statement that settles them
    /// along with other writes (see [`RELEASE_GUARD_SQL`]); the reservation
    /// then counts as settled.
    pub fn take_for_statement(mut self) -> (Option<String>, Option<String>) {
        (self.guard_key.take(), self.ip.take())
    }
}

impl Drop for CheckReservation {
    fn drop(&mut self) {
        let (guard_key, ip) = (self.guard_key.take(), self.ip.take());
        if guard_key.is_none() && ip.is_none() {
            return;
        }
        let store = self.store.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store::release(&store, guard_key.as_deref(), ip.as_deref()).await {
                    tracing::warn!(error = %e, "releasing a password-check reservation failed; it lapses in a minute");
                }
            });
        }
    }
}

/// Counts one more wrong password, forgetting failures older than the
/// configured memory, releases the reservation the check held, and applies
/// the lock that count calls for, in one transaction: a reservation made
/// between the count and the lock would otherwise see five failures and no
/// lock yet, and check a sixth password. Returns the new count, the lock
/// decision, and what applying it did.
pub async fn count_password_failure(
    store: &Store,
    key: &str,
    now: i64,
    cfg: &RiskConfig,
) -> Result<(u32, LockDecision, Applied), StoreError> {
    let forget_before = cfg.failure_memory_ms.map(|m| now - m).unwrap_or(i64::MIN);
    let mut tx = store.write().begin().await?;
    let failures = store::count_failure(&mut tx, key, now, forget_before).await?;
    let failures = failures.clamp(0, u32::MAX as i64) as u32;
    let decision = koban_policy::risk::after_password_failure(failures, now, cfg);
    let applied = store::apply_lock(&mut tx, key, decision, "password", now).await?;
    tx.commit().await?;
    Ok((failures, decision, applied))
}

/// Applies a lock decision on its own (see [`apply_lock`]).
pub async fn lock(
    store: &Store,
    key: &str,
    decision: LockDecision,
    cause: &str,
    now: i64,
) -> Result<Applied, StoreError> {
    let mut tx = store.write().begin().await?;
    let applied = store::apply_lock(&mut tx, key, decision, cause, now).await?;
    tx.commit().await?;
    Ok(applied)
}

/// What applying a lock decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// A lock the owner has not been told about: a new one, or one that
    /// just became a support lock (whose way out is another). It is marked
    /// told; the caller tells.
    pub newly: bool,
    /// The lock's reference (new with each lock the owner is told about).
    pub reference: Option<i64>,
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
    let failures = store::count_second_factor(store, key, now).await?;
    if failures >= limit.max(1) {
        store::lock_second_factor(store, key, now + lock_ms).await?;
    }
    Ok(failures)
}

/// Settles a second-factor answer counted by [`reserve_second_factor`] at
/// `position`: a wrong one stays counted, and the one that reached `limit`
/// starts the second-factor lock; any other gives its count back.
pub async fn settle_second_factor(
    store: &Store,
    key: &str,
    position: i64,
    failed: bool,
    now: i64,
    limit: i64,
    lock_ms: i64,
) -> Result<(), StoreError> {
    match (failed, position >= limit.max(1)) {
        (true, false) => {}
        (true, true) => store::lock_second_factor(store, key, now + lock_ms).await?,
        (false, _) => store::give_back_second_factor(store, key).await?,
    }
    Ok(())
}
