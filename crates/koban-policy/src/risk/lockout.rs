//! Account locks after failed passwords, with a doubling back-off, and the
//! failure count they are computed from.

use super::config::RiskConfig;

/// An account's lock as stored: a temporary lock end and a support flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountLock {
    /// Sign-ins are refused until this time (unix ms); `None` or a past time
    /// means no temporary lock.
    pub locked_until_ms: Option<i64>,
    /// Sign-ins are refused until support (or a verified recovery) clears it.
    pub locked_for_support: bool,
}

/// What to store on the account after a failed password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockDecision {
    /// No lock yet.
    NoLock,
    /// Refuse sign-ins until `until_ms` (unix ms).
    TemporaryLock {
        /// When the lock ends.
        until_ms: i64,
    },
    /// Refuse sign-ins until support or a verified recovery unlocks.
    LockUntilVerifiedSupport,
}

/// The consecutive failures still counting at `now_ms`: all of them, or none
/// when the last one is older than [`RiskConfig::failure_memory_ms`].
pub fn failures_in_force(
    consecutive_failures: u32,
    last_failure_ms: Option<i64>,
    now_ms: i64,
    cfg: &RiskConfig,
) -> u32 {
    match (cfg.failure_memory_ms, last_failure_ms) {
        (Some(memory), Some(last)) if now_ms.saturating_sub(last) > memory.max(0) => 0,
        _ => consecutive_failures,
    }
}

/// The failure count to store after one more failed password at `now_ms`.
/// The database update must do the same sum atomically (for example
/// `CASE WHEN last_failure < now - memory THEN 1 ELSE failures + 1 END`), so
/// two racing requests never lose a count.
pub fn next_failure_count(
    consecutive_failures: u32,
    last_failure_ms: Option<i64>,
    now_ms: i64,
    cfg: &RiskConfig,
) -> u32 {
    failures_in_force(consecutive_failures, last_failure_ms, now_ms, cfg).saturating_add(1)
}

/// How long a temporary lock lasts after `failures` consecutive failures:
/// 0 below [`RiskConfig::lock_after_failures`], then `lock_base_ms` doubled
/// per further failure, never above `lock_max_ms`. Non-decreasing in
/// `failures`.
pub fn lock_duration_ms(failures: u32, cfg: &RiskConfig) -> i64 {
    // Zero would lock an account that has not failed at all.
    let threshold = cfg.lock_after_failures.max(1);
    if failures < threshold {
        return 0;
    }
    let doublings = failures - threshold;
    // Past 62 doublings any positive base overflows i64, so the cap decides.
    let factor = 1i64
        .checked_shl(doublings)
        .filter(|f| *f > 0)
        .unwrap_or(i64::MAX);
    let cap = cfg.lock_max_ms.max(0);
    cfg.lock_base_ms.max(0).saturating_mul(factor).min(cap)
}

/// The lock to store after a failed password that brought the account's
/// consecutive failures to `consecutive_failures_after` (use
/// [`next_failure_count`]). Failures during a lock never reach here, because
/// [`super::pre_check`] refuses them before the password is checked, so each
/// further failure comes after the previous lock ended and doubles it.
pub fn after_password_failure(
    consecutive_failures_after: u32,
    now_ms: i64,
    cfg: &RiskConfig,
) -> LockDecision {
    if cfg
        .support_lock_after_failures
        .is_some_and(|limit| consecutive_failures_after >= limit.max(1))
    {
        return LockDecision::LockUntilVerifiedSupport;
    }
    match lock_duration_ms(consecutive_failures_after, cfg) {
        0 => LockDecision::NoLock,
        duration => LockDecision::TemporaryLock {
            until_ms: now_ms.saturating_add(duration),
        },
    }
}

/// Whether one more wrong password after `consecutive_failures` locks, so
/// the person can be warned before their last try, not after it.
pub fn next_failure_locks(consecutive_failures: u32, cfg: &RiskConfig) -> bool {
    // Time does not matter here: only whether there is a lock at all.
    after_password_failure(consecutive_failures.saturating_add(1), 0, cfg) != LockDecision::NoLock
}

/// The consecutive failure count at which the first lock of any kind starts:
/// the temporary lock's threshold, or the support lock's when that is lower.
pub fn first_lock_at(cfg: &RiskConfig) -> u32 {
    let temporary = cfg.lock_after_failures.max(1);
    match cfg.support_lock_after_failures {
        Some(support) => temporary.min(support.max(1)),
        None => temporary,
    }
}

/// How many passwords of one guard may be checked at the same time, reserved
/// and not yet settled, when `failures_in_force` failures count. Each check
/// in flight may turn out to be a failure, so together they never exceed the
/// failures left before the next lock; past the first lock every further
/// failure locks again, so checks go one at a time. Never 0: a guard that is
/// not locked always lets one password be tried. The service's reservation
/// statement computes the same in SQL, atomically with the reservation.
pub fn checks_allowed(failures_in_force: u32, cfg: &RiskConfig) -> u32 {
    let threshold = first_lock_at(cfg);
    if failures_in_force < threshold {
        threshold - failures_in_force
    } else {
        1
    }
}

/// How many passwords from one address may be checked at the same time when
/// it has `ip_failures_in_window` failures in the window: the failures left
/// before [`RiskConfig::ip_failure_limit`], or `None` when the rule does not
/// apply (switched off with 0; the caller leaves out allow-listed addresses).
pub fn ip_checks_allowed(ip_failures_in_window: u32, cfg: &RiskConfig) -> Option<u32> {
    (cfg.ip_failure_limit > 0).then(|| cfg.ip_failure_limit.saturating_sub(ip_failures_in_window))
}

#[cfg(test)]
mod warning_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The warning comes exactly once before the first lock: after the
        /// failure that leaves one try, never earlier, never once locked.
        #[test]
        fn the_last_try_is_the_one_before_the_first_lock(lock_after in 1u32..20, support in proptest::option::of(1u32..40)) {
            let cfg = RiskConfig { lock_after_failures: lock_after, support_lock_after_failures: support, ..RiskConfig::default() };
            let first = first_lock_at(&cfg);
            for failures in 0..first.saturating_sub(1) {
                prop_assert!(!next_failure_locks(failures, &cfg), "warned at {failures} of {first}");
            }
            prop_assert!(next_failure_locks(first - 1, &cfg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;

    #[test]
    fn default_back_off_table() {
        let cfg = RiskConfig::default();
        let now = 1_000_000;
        let cases = [
            (1, LockDecision::NoLock),
            (4, LockDecision::NoLock),
            (
                5,
                LockDecision::TemporaryLock {
                    until_ms: now + MIN,
                },
            ),
            (
                6,
                LockDecision::TemporaryLock {
                    until_ms: now + 2 * MIN,
                },
            ),
            (
                7,
                LockDecision::TemporaryLock {
                    until_ms: now + 4 * MIN,
                },
            ),
            (
                10,
                LockDecision::TemporaryLock {
                    until_ms: now + 32 * MIN,
                },
            ),
            (
                11,
                LockDecision::TemporaryLock {
                    until_ms: now + 60 * MIN,
                },
            ),
            (
                29,
                LockDecision::TemporaryLock {
                    until_ms: now + 60 * MIN,
                },
            ),
            (30, LockDecision::LockUntilVerifiedSupport),
            (u32::MAX, LockDecision::LockUntilVerifiedSupport),
        ];
        for (failures, want) in cases {
            assert_eq!(
                after_password_failure(failures, now, &cfg),
                want,
                "{failures}"
            );
        }
    }

    #[test]
    fn configured_thresholds_are_honoured() {
        let cfg = RiskConfig {
            lock_after_failures: 3,
            lock_base_ms: 10_000,
            lock_max_ms: 25_000,
            support_lock_after_failures: None,
            ..RiskConfig::default()
        };
        let durations: Vec<i64> = (0..7).map(|f| lock_duration_ms(f, &cfg)).collect();
        assert_eq!(durations, [0, 0, 0, 10_000, 20_000, 25_000, 25_000]);
        assert_eq!(
            after_password_failure(u32::MAX, i64::MAX, &cfg),
            LockDecision::TemporaryLock { until_ms: i64::MAX }
        );
    }

    #[test]
    fn failures_are_forgotten_after_the_memory() {
        let cfg = RiskConfig::default();
        let memory = 12 * 60 * MIN;
        let cases = [
            (4, None, 100, 4, 5),
            (4, Some(0), memory, 4, 5),
            (4, Some(0), memory + 1, 0, 1),
            (u32::MAX, Some(0), 1, u32::MAX, u32::MAX),
            (4, Some(i64::MAX), i64::MIN, 4, 5),
        ];
        for (count, last, now, in_force, next) in cases {
            assert_eq!(
                failures_in_force(count, last, now, &cfg),
                in_force,
                "{count} {last:?} {now}"
            );
            assert_eq!(
                next_failure_count(count, last, now, &cfg),
                next,
                "{count} {last:?} {now}"
            );
        }
        let forever = RiskConfig {
            failure_memory_ms: None,
            ..cfg
        };
        assert_eq!(failures_in_force(4, Some(0), i64::MAX, &forever), 4);
    }

    #[test]
    fn checks_allowed_table() {
        let cfg = RiskConfig::default();
        let cases = [
            (0, 5),
            (1, 4),
            (4, 1),
            (5, 1),
            (29, 1),
            (30, 1),
            (u32::MAX, 1),
        ];
        for (failures, want) in cases {
            assert_eq!(checks_allowed(failures, &cfg), want, "{failures}");
        }
        let support_first = RiskConfig {
            lock_after_failures: 5,
            support_lock_after_failures: Some(3),
            ..RiskConfig::default()
        };
        assert_eq!(first_lock_at(&support_first), 3);
        assert_eq!(checks_allowed(0, &support_first), 3);
        let zero = RiskConfig {
            lock_after_failures: 0,
            support_lock_after_failures: Some(0),
            ..RiskConfig::default()
        };
        assert_eq!(checks_allowed(0, &zero), 1);
        assert_eq!(ip_checks_allowed(0, &cfg), Some(100));
        assert_eq!(ip_checks_allowed(99, &cfg), Some(1));
        assert_eq!(ip_checks_allowed(150, &cfg), Some(0));
        let off = RiskConfig {
            ip_failure_limit: 0,
            ..RiskConfig::default()
        };
        assert_eq!(ip_checks_allowed(7, &off), None);
    }

    proptest! {
        /// However many checks run at once and all fail, the failures they
        /// add reach the first lock and no further, or add one past a lock.
        #[test]
        fn checks_in_flight_never_pass_the_next_lock(
            failures in any::<u32>(),
            after in 0u32..100,
            support in proptest::option::of(0u32..100),
        ) {
            let cfg = RiskConfig { lock_after_failures: after, support_lock_after_failures: support, ..RiskConfig::default() };
            let allowed = checks_allowed(failures, &cfg);
            prop_assert!(allowed >= 1);
            let after_all_fail = failures.saturating_add(allowed);
            if failures < first_lock_at(&cfg) {
                prop_assert_eq!(after_all_fail, first_lock_at(&cfg));
                // The failures before the last of them lock nothing.
                prop_assert_eq!(after_password_failure(after_all_fail - 1, 0, &cfg), LockDecision::NoLock);
            } else {
                prop_assert_eq!(allowed, 1);
            }
        }

        #[test]
        fn lock_length_never_falls_and_never_passes_the_cap(
            failures in any::<u32>(),
            more in 0u32..1000,
            after in 0u32..100,
            base in -10i64..10_000_000,
            cap in -10i64..100_000_000,
        ) {
            let cfg = RiskConfig { lock_after_failures: after, lock_base_ms: base, lock_max_ms: cap, ..RiskConfig::default() };
            let here = lock_duration_ms(failures, &cfg);
            let later = lock_duration_ms(failures.saturating_add(more), &cfg);
            prop_assert!(here <= later);
            prop_assert!((0..=cap.max(0)).contains(&later));
        }

        #[test]
        fn default_lock_is_within_the_hour(failures in any::<u32>(), now in any::<i64>()) {
            let cfg = RiskConfig::default();
            match after_password_failure(failures, now, &cfg) {
                LockDecision::TemporaryLock { until_ms } => {
                    prop_assert!(until_ms >= now && until_ms.saturating_sub(now) <= 60 * MIN);
                }
                LockDecision::NoLock => prop_assert!(failures < 5),
                LockDecision::LockUntilVerifiedSupport => prop_assert!(failures >= 30),
            }
        }
    }
}
