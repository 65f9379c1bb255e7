//! The gate in front of password hashing. Argon2 is deliberately expensive,
//! so an attempt that will be refused anyway (locked account, blocked or
//! throttled network) is refused here first and costs no hashing.

use super::cidr::any_contains;
use super::config::RiskConfig;
use super::lockout::AccountLock;
use std::net::IpAddr;

/// Why a sign-in attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The IP is in [`RiskConfig::ip_block`].
    #[error("sign-ins from this network are not accepted")]
    IpBlocked,
    /// The account waits for support or a verified recovery.
    #[error("this account is locked; contact support to unlock it")]
    LockedForSupport,
    /// The account is temporarily locked after failed passwords.
    #[error("too many failed sign-ins; try again later")]
    Locked {
        /// When the lock ends (unix ms).
        until_ms: i64,
    },
    /// The IP has too many recent failures across accounts.
    #[error("too many failed sign-ins from this network; try again later")]
    IpThrottled,
}

impl Refusal {
    /// Stable machine-readable reason.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::IpBlocked => "ip_blocked",
            Refusal::LockedForSupport => "locked_for_support",
            Refusal::Locked { .. } => "locked",
            Refusal::IpThrottled => "ip_throttled",
        }
    }

    /// Milliseconds until trying again can help, when known; for a throttled
    /// IP it depends on failure times only the caller holds.
    pub fn retry_after_ms(self, now_ms: i64) -> Option<i64> {
        match self {
            Refusal::Locked { until_ms } => Some(until_ms.saturating_sub(now_ms).max(0)),
            _ => None,
        }
    }
}

/// Decides, before hashing the password, whether an attempt on an account
/// with `lock` from `ip`, which has `ip_failures_in_window` failures within
/// [`RiskConfig::ip_failure_window_ms`] across all accounts, must be refused.
///
/// Rules, first match wins: a block-listed IP is always refused; a support
/// lock, then a temporary lock still running, refuses; an IP at
/// [`RiskConfig::ip_failure_limit`] is refused unless it is allow-listed.
/// An allow-listed IP still meets account locks, which protect the account,
/// not the network. For a sign-in name with no account, pass the default
/// lock, so the per-IP rules still apply to guessed names.
pub fn pre_check(
    lock: AccountLock,
    ip: IpAddr,
    ip_failures_in_window: u32,
    now_ms: i64,
    cfg: &RiskConfig,
) -> Result<(), Refusal> {
    if any_contains(&cfg.ip_block, ip) {
        return Err(Refusal::IpBlocked);
    }
    if lock.locked_for_support {
        return Err(Refusal::LockedForSupport);
    }
    if let Some(until_ms) = lock.locked_until_ms.filter(|until| *until > now_ms) {
        return Err(Refusal::Locked { until_ms });
    }
    if cfg.ip_failure_limit > 0
        && ip_failures_in_window >= cfg.ip_failure_limit
        && !any_contains(&cfg.ip_allow, ip)
    {
        return Err(Refusal::IpThrottled);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::Cidr;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn cfg() -> RiskConfig {
        let blocks = |list: &[&str]| {
            list.iter()
                .map(|b| b.parse::<Cidr>().expect("test block"))
                .collect()
        };
        RiskConfig {
            ip_allow: blocks(&["10.0.0.0/8", "2001:db8:a::/48", "198.51.100.0/24"]),
            ip_block: blocks(&["203.0.113.0/24", "2001:db8:bad::/48", "198.51.100.66"]),
            ..RiskConfig::default()
        }
    }

    #[test]
    fn pre_check_table() {
        let now = 1_000_000;
        let open = AccountLock::default();
        let locked = AccountLock {
            locked_until_ms: Some(now + 5),
            locked_for_support: false,
        };
        let expired = AccountLock {
            locked_until_ms: Some(now),
            locked_for_support: false,
        };
        let support = AccountLock {
            locked_until_ms: None,
            locked_for_support: true,
        };
        let cases: [(AccountLock, &str, u32, Result<(), Refusal>); 13] = [
            (open, "192.0.2.1", 0, Ok(())),
            (open, "192.0.2.1", 99, Ok(())),
            (open, "192.0.2.1", 100, Err(Refusal::IpThrottled)),
            (open, "10.1.2.3", u32::MAX, Ok(())),
            (open, "2001:db8:a::1", 500, Ok(())),
            (open, "203.0.113.9", 0, Err(Refusal::IpBlocked)),
            (open, "::ffff:203.0.113.9", 0, Err(Refusal::IpBlocked)),
            (open, "2001:db8:bad::1", 0, Err(Refusal::IpBlocked)),
            // In both lists: blocking wins.
            (open, "198.51.100.66", 0, Err(Refusal::IpBlocked)),
            (
                locked,
                "10.1.2.3",
                0,
                Err(Refusal::Locked { until_ms: now + 5 }),
            ),
            (expired, "192.0.2.1", 0, Ok(())),
            (support, "10.1.2.3", 0, Err(Refusal::LockedForSupport)),
            (support, "203.0.113.9", 0, Err(Refusal::IpBlocked)),
        ];
        for (lock, ip, failures, want) in cases {
            let ip: IpAddr = ip.parse().expect("test ip");
            assert_eq!(
                pre_check(lock, ip, failures, now, &cfg()),
                want,
                "{lock:?} {ip} {failures}"
            );
        }
    }

    #[test]
    fn refusal_codes_and_retry_hints() {
        let locked = Refusal::Locked { until_ms: 5_000 };
        assert_eq!(locked.code(), "locked");
        assert_eq!(locked.retry_after_ms(1_000), Some(4_000));
        assert_eq!(locked.retry_after_ms(9_000), Some(0));
        assert_eq!(Refusal::IpThrottled.code(), "ip_throttled");
        assert_eq!(Refusal::IpThrottled.retry_after_ms(0), None);
        assert_eq!(Refusal::IpBlocked.code(), "ip_blocked");
        assert_eq!(Refusal::LockedForSupport.code(), "locked_for_support");
    }

    fn allowed_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>()
                .prop_map(|low| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (low & 0x00ff_ffff)))),
            any::<u128>().prop_map(|low| {
                let net = u128::from("2001:db8:a::".parse::<Ipv6Addr>().expect("test net"));
                IpAddr::V6(Ipv6Addr::from(net | (low >> 48)))
            }),
        ]
    }

    proptest! {
        #[test]
        fn allow_listed_ips_are_never_throttled(ip in allowed_ip(), failures in any::<u32>(), now in any::<i64>(), limit in any::<u32>()) {
            let cfg = RiskConfig { ip_failure_limit: limit, ..cfg() };
            prop_assert_eq!(pre_check(AccountLock::default(), ip, failures, now, &cfg), Ok(()));
        }

        #[test]
        fn block_listed_ips_are_always_refused(low in any::<u8>(), failures in any::<u32>(), now in any::<i64>(), until in proptest::option::of(any::<i64>()), support in any::<bool>()) {
            let ip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, low));
            let lock = AccountLock { locked_until_ms: until, locked_for_support: support };
            prop_assert_eq!(pre_check(lock, ip, failures, now, &cfg()), Err(Refusal::IpBlocked));
        }
    }
}
