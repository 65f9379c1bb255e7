//! Every threshold of the risk engine, with its default and why.
//!
//! For comparison, per their docs (figures approximate):
//! - Keycloak brute-force detection: `failureFactor` 30 failures before any
//!   lock, then `waitIncrement` 1 min more per failure, capped by
//!   `maxFailureWait` 15 min; `quickLoginCheckMilliSeconds` 1000 (two
//!   failures closer than that lock at once); failures forgotten after
//!   `maxDeltaTime` 12 h; permanent lockout optional and off by default.
//! - Auth0 brute-force protection: 10 failed attempts on one account from
//!   one IP block that IP for that account until unblocked. Suspicious IP
//!   throttling: about 100 failed attempts a day from one IP across accounts
//!   throttle the IP, which then regains about 10 attempts an hour.
//!
//! Koban locks earlier than Keycloak (5 failures, not 30) but briefly, and
//! doubles rather than adds, so a typo streak costs a minute while a guessing
//! run slows to one guess an hour within a dozen tries. Keycloak's quick-login
//! check is not copied: the doubling back-off and the per-IP limit already
//! cover rapid bursts without needing the previous failure's time.

use super::cidr::Cidr;
use super::version::ClientVersion;
use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60 * 1000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// Thresholds of the risk engine. Values that make no sense (negative
/// durations, NaN speeds) never panic: they switch the rule off or clamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskConfig {
    /// Consecutive failures that start a temporary lock. Default 5: enough
    /// for a few typos and a caps-lock, far below what guessing needs
    /// (Keycloak 30, Auth0 10 per account and IP). 0 reads as 1.
    pub lock_after_failures: u32,
    /// First lock's length, doubled for each further failure. Default 1 min
    /// (Keycloak's `waitIncrement` is also 1 min, but added, not doubled).
    pub lock_base_ms: i64,
    /// Longest temporary lock. Default 1 h (Keycloak 15 min): at the cap a
    /// guesser gets about 24 tries a day, while the owner, who is locked out
    /// too, can still unlock sooner with a code to a verified contact.
    pub lock_max_ms: i64,
    /// Consecutive failures after which only support (or a verified recovery)
    /// unlocks the account; `None` never. Default 30, Keycloak's failure
    /// threshold, reached only after about 20 hours of sustained guessing
    /// through the back-off. It is a trade-off: anyone who knows a user's
    /// identifier can, with that patience, force this lock on them.
    pub support_lock_after_failures: Option<u32>,
    /// Failures older than this are forgotten, so a typo streak last month
    /// does not shorten today's allowance; `None` keeps them until a
    /// successful sign-in. Default 12 h, Keycloak's `maxDeltaTime`.
    pub failure_memory_ms: Option<i64>,
    /// The window over which callers count failures per IP across accounts.
    /// Default 24 h, Auth0's suspicious-IP day.
    pub ip_failure_window_ms: i64,
    /// Failures from one IP within the window at which further attempts from
    /// it are refused before the password is hashed. Default 100 (Auth0's
    /// daily figure). Allow-listed IPs are exempt; 0 switches the rule off.
    pub ip_failure_limit: u32,
    /// Failures from one IP within the window at which a sign-in from it
    /// scores as credential stuffing. Default 20: well above one household's
    /// typos, well below the hard limit, so a stuffing run that hits a
    /// correct password is asked for a second factor before it is throttled.
    /// 0 switches the signal off.
    pub ip_suspicious_failures: u32,
    /// Networks never refused or scored by the per-IP failure rules (an
    /// office NAT where many people sign in). Account locks still apply, so
    /// an insider cannot guess a colleague's password without limit.
    pub ip_allow: Vec<Cidr>,
    /// Networks always refused; listed in both lists, blocking wins. A first
    /// factor that succeeds from one anyway locks the account for support
    /// (see [`super::assess`]).
    pub ip_block: Vec<Cidr>,
    /// Travel faster than this between sign-ins is impossible. Default
    /// 1,000 km/h, a little above airliner cruise.
    pub max_travel_km_per_h: f64,
    /// Distance subtracted from every trip before the speed is computed,
    /// because each geo-IP location can be off by tens of kilometres; trips
    /// shorter than this never count. Default 100 km.
    pub travel_tolerance_km: f64,
    /// New devices within `device_churn_window_ms`, this one included, that
    /// count as device churn. Default 3; 0 switches the signal off.
    pub device_churn_count: u32,
    /// The window for device churn. Default 24 h.
    pub device_churn_window_ms: i64,
    /// Clients older than this score as outdated; `None` switches the rule
    /// off. Default `None`: only the operator knows which release fixed what.
    pub min_client_version: Option<ClientVersion>,
    /// Two IPv4 addresses in the same block of this length count as the same
    /// place for the new-IP signal. Default 24: home and mobile IPv4
    /// addresses move within their provider's /24 more often than not.
    pub same_ipv4_prefix: u8,
    /// The same for IPv6. Default 64: privacy addresses change the lower 64
    /// bits daily, while the /64 is the customer's network.
    pub same_ipv6_prefix: u8,
    /// Scores at or above this ask for a second factor. Default 50: one
    /// strong signal (impossible travel) or a few weak ones together.
    pub step_up_score: u8,
    /// Points each signal adds.
    pub points: RiskPoints,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            lock_after_failures: 5,
            lock_base_ms: MINUTE_MS,
            lock_max_ms: HOUR_MS,
            support_lock_after_failures: Some(30),
            failure_memory_ms: Some(12 * HOUR_MS),
            ip_failure_window_ms: 24 * HOUR_MS,
            ip_failure_limit: 100,
            ip_suspicious_failures: 20,
            ip_allow: Vec::new(),
            ip_block: Vec::new(),
            max_travel_km_per_h: 1000.0,
            travel_tolerance_km: 100.0,
            device_churn_count: 3,
            device_churn_window_ms: 24 * HOUR_MS,
            min_client_version: None,
            same_ipv4_prefix: 24,
            same_ipv6_prefix: 64,
            step_up_score: 50,
            points: RiskPoints::default(),
        }
    }
}

/// Points per signal. The score is their sum, capped at 100. The defaults
/// are set so that no single weak signal asks for a second factor, while a
/// new device from a new country, or any strong signal, does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskPoints {
    /// Per consecutive failure before this sign-in. Default 8.
    pub per_password_failure: u8,
    /// Cap on the failure points. Default 40, reached at 5 failures.
    pub max_password_failures: u8,
    /// The IP has many recent failures across accounts. Default 40.
    pub ip_failure_burst: u8,
    /// This device was never seen on the account. Default 20.
    pub new_device: u8,
    /// No earlier sign-in came from this network. Default 10: addresses
    /// change often, so on its own this means little.
    pub new_ip: u8,
    /// No earlier sign-in came from this country. Default 25.
    pub new_country: u8,
    /// Faster than possible from the last sign-in. Default 50.
    pub impossible_travel: u8,
    /// Many new devices in a short time. Default 30.
    pub device_churn: u8,
    /// The client is older than the minimum version. Default 15.
    pub outdated_client: u8,
    /// The client sent a version that is not a dotted version. Default 15,
    /// as much as outdated: a hand-written script often sends junk here.
    pub unrecognised_client_version: u8,
}

impl Default for RiskPoints {
    fn default() -> Self {
        RiskPoints {
            per_password_failure: 8,
            max_password_failures: 40,
            ip_failure_burst: 40,
            new_device: 20,
            new_ip: 10,
            new_country: 25,
            impossible_travel: 50,
            device_churn: 30,
            outdated_client: 15,
            unrecognised_client_version: 15,
        }
    }
}
