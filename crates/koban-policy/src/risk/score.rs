//! The risk score of a sign-in whose first factor (password, code, passkey)
//! has just succeeded, and what to do about it. Failed passwords go to
//! [`super::after_password_failure`] instead.

use super::cidr::{any_contains, Cidr};
use super::config::RiskConfig;
use super::geo::{great_circle_km, GeoPoint};
use super::lockout::{failures_in_force, AccountLock};
use super::precheck::{pre_check, Refusal};
use super::version::ClientVersion;
use std::net::IpAddr;

const HOUR_MS: f64 = 3_600_000.0;

/// The previous successful sign-in of the account.
#[derive(Debug, Clone, PartialEq)]
pub struct LastSignIn {
    /// When it happened (unix ms).
    pub at_ms: i64,
    /// The IP it came from.
    pub ip: IpAddr,
    /// Its country code from geo-IP (ISO 3166 alpha-2), when known.
    pub country: Option<String>,
    /// Its location from geo-IP, when known.
    pub location: Option<GeoPoint>,
}

/// What the caller read about the account and this attempt. Geographic
/// fields are `None` when no geo-IP database is configured; the geographic
/// signals then read [`Finding::Unknown`] and everything else still works.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInContext {
    /// Failed passwords since the last successful sign-in.
    pub consecutive_failures: u32,
    /// When the latest of those failures happened (unix ms), if any; older
    /// than [`RiskConfig::failure_memory_ms`] means they no longer count.
    pub last_failure_ms: Option<i64>,
    /// The account's stored lock.
    pub lock: AccountLock,
    /// Whether this attempt's device id was seen on the account before.
    pub device_known: bool,
    /// When devices other than this one were first seen on the account
    /// (unix ms); only those within [`RiskConfig::device_churn_window_ms`]
    /// matter, so the caller may pass just the recent ones.
    pub new_device_times_ms: Vec<i64>,
    /// IPs of earlier successful sign-ins (recent ones suffice).
    pub known_ips: Vec<IpAddr>,
    /// Country codes of earlier successful sign-ins.
    pub known_countries: Vec<String>,
    /// The previous successful sign-in, if there was one.
    pub last_sign_in: Option<LastSignIn>,
    /// This attempt's IP.
    pub ip: IpAddr,
    /// Failed sign-ins from this IP across all accounts within
    /// [`RiskConfig::ip_failure_window_ms`].
    pub ip_failures_in_window: u32,
    /// This attempt's country code from geo-IP, when known.
    pub country: Option<String>,
    /// This attempt's location from geo-IP, when known.
    pub location: Option<GeoPoint>,
    /// The version the client app reported; `None` for browsers.
    pub client_version: Option<String>,
}

impl SignInContext {
    /// A context for an attempt from `ip` on an account with no history: no
    /// failures, no lock, unknown device, nothing seen before. Callers fill
    /// in what they read.
    pub fn new(ip: IpAddr) -> SignInContext {
        SignInContext {
            consecutive_failures: 0,
            last_failure_ms: None,
            lock: AccountLock::default(),
            device_known: false,
            new_device_times_ms: Vec::new(),
            known_ips: Vec::new(),
            known_countries: Vec::new(),
            last_sign_in: None,
            ip,
            ip_failures_in_window: 0,
            country: None,
            location: None,
            client_version: None,
        }
    }
}

/// A risk signal that fired, with what made it fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Failed passwords came before this success.
    PasswordFailures {
        /// How many still count.
        count: u32,
    },
    /// The IP has many recent failures across accounts (credential stuffing).
    IpFailureBurst {
        /// Failures from the IP within the window.
        failures: u32,
    },
    /// The device was never seen on the account.
    NewDevice,
    /// No earlier sign-in came from this network.
    NewIp,
    /// No earlier sign-in came from this country.
    NewCountry,
    /// The distance from the last sign-in could not have been travelled in
    /// the time since.
    ImpossibleTravel {
        /// Great-circle distance, rounded.
        km: u32,
        /// The speed it implies after the tolerance, rounded.
        km_per_h: u32,
    },
    /// Many new devices within the churn window.
    DeviceChurn {
        /// New devices in the window, this one included.
        new_devices: u32,
    },
    /// The client is older than the configured minimum.
    OutdatedClient,
    /// The client's version is not a dotted version.
    UnrecognisedClientVersion,
    /// The IP is block-listed.
    IpBlockListed,
}

impl Signal {
    /// Stable machine-readable name, for login history and the API.
    pub fn code(self) -> &'static str {
        match self {
            Signal::PasswordFailures { .. } => "password_failures",
            Signal::IpFailureBurst { .. } => "ip_failure_burst",
            Signal::NewDevice => "new_device",
            Signal::NewIp => "new_ip",
            Signal::NewCountry => "new_country",
            Signal::ImpossibleTravel { .. } => "impossible_travel",
            Signal::DeviceChurn { .. } => "device_churn",
            Signal::OutdatedClient => "outdated_client",
            Signal::UnrecognisedClientVersion => "unrecognised_client_version",
            Signal::IpBlockListed => "ip_block_listed",
        }
    }
}

/// One reason in a score: the signal and the points it added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason {
    /// What fired.
    pub signal: Signal,
    /// Points it added (before the total is capped at 100).
    pub points: u8,
}

impl Reason {
    /// The signal's stable code.
    pub fn code(&self) -> &'static str {
        self.signal.code()
    }
}

/// The state of a signal that needs data which may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// The data was there and the signal fired.
    Yes,
    /// The data was there and the signal did not fire.
    No,
    /// The data was missing; the signal adds nothing.
    Unknown,
}

impl Finding {
    /// Stable machine-readable name: `yes`, `no` or `unknown`.
    pub fn code(self) -> &'static str {
        match self {
            Finding::Yes => "yes",
            Finding::No => "no",
            Finding::Unknown => "unknown",
        }
    }
}

/// The geographic signals, which read unknown without geo-IP data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeoFindings {
    /// A country not seen before; unknown without this attempt's country or
    /// any earlier one.
    pub new_country: Finding,
    /// Impossible travel; unknown without both locations.
    pub impossible_travel: Finding,
}

/// What to do with a sign-in whose first factor succeeded, ordered from
/// mildest to strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    /// Sign in.
    Allow,
    /// Ask for a second factor, or a code sent to a verified contact. An
    /// account with neither cannot pass; the service sends it to support.
    StepUp,
    /// Refuse: the account is locked until `until_ms` (unix ms).
    TemporaryLock {
        /// When the lock ends.
        until_ms: i64,
    },
    /// Refuse and lock until support or a verified recovery unlocks.
    LockUntilVerifiedSupport,
}

/// The outcome of [`assess`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// 0..=100: the sum of the reasons' points, capped.
    pub score: u8,
    /// Every signal that fired, in a fixed order.
    pub reasons: Vec<Reason>,
    /// What to do.
    pub decision: Decision,
    /// Whether the geographic signals could be evaluated.
    pub geo: GeoFindings,
}

/// Scores a sign-in whose first factor succeeded and decides what to do.
///
/// Decision rules, first match wins:
/// 1. A block-listed IP, or a support lock: [`Decision::LockUntilVerifiedSupport`].
///    A secret that works from a network the operator blocked is taken as
///    exposed; only its holder can cause this, so a stranger cannot use the
///    rule to lock someone else out. ([`pre_check`] normally refuses a
///    blocked IP before the secret is even checked.)
/// 2. A temporary lock still running: [`Decision::TemporaryLock`].
/// 3. A score at or above [`RiskConfig::step_up_score`], or an IP past the
///    per-IP failure limit (not allow-listed): [`Decision::StepUp`].
///    Soft signals never lock: a traveller with a new phone deserves a
///    second-factor prompt, not a lock-out.
/// 4. Otherwise [`Decision::Allow`].
pub fn assess(ctx: &SignInContext, now_ms: i64, cfg: &RiskConfig) -> Assessment {
    let p = &cfg.points;
    let mut reasons = Vec::new();
    let mut add = |signal: Signal, points: u8| reasons.push(Reason { signal, points });

    if any_contains(&cfg.ip_block, ctx.ip) {
        add(Signal::IpBlockListed, 100);
    }
    let failures = failures_in_force(ctx.consecutive_failures, ctx.last_failure_ms, now_ms, cfg);
    if failures > 0 {
        let points = failures
            .saturating_mul(u32::from(p.per_password_failure))
            .min(u32::from(p.max_password_failures));
        add(
            Signal::PasswordFailures { count: failures },
            to_points(points),
        );
    }
    // Allow-listed networks (an office NAT) see many people's typos.
    if cfg.ip_suspicious_failures > 0
        && ctx.ip_failures_in_window >= cfg.ip_suspicious_failures
        && !any_contains(&cfg.ip_allow, ctx.ip)
    {
        let failures = ctx.ip_failures_in_window;
        add(Signal::IpFailureBurst { failures }, p.ip_failure_burst);
    }
    if !ctx.device_known {
        add(Signal::NewDevice, p.new_device);
    }
    if is_new_ip(ctx, cfg) {
        add(Signal::NewIp, p.new_ip);
    }
    let new_country = new_country(ctx);
    if new_country == Finding::Yes {
        add(Signal::NewCountry, p.new_country);
    }
    let (impossible_travel, trip) = impossible_travel(ctx, now_ms, cfg);
    if let Some((km, km_per_h)) = trip {
        add(
            Signal::ImpossibleTravel { km, km_per_h },
            p.impossible_travel,
        );
    }
    if let Some(new_devices) = device_churn(ctx, now_ms, cfg) {
        add(Signal::DeviceChurn { new_devices }, p.device_churn);
    }
    if let (Some(reported), Some(minimum)) = (&ctx.client_version, &cfg.min_client_version) {
        match reported.parse::<ClientVersion>() {
            Ok(version) if version < *minimum => add(Signal::OutdatedClient, p.outdated_client),
            Ok(_) => {}
            Err(_) => add(
                Signal::UnrecognisedClientVersion,
                p.unrecognised_client_version,
            ),
        }
    }

    let total: u32 = reasons.iter().map(|r| u32::from(r.points)).sum();
    let score = to_points(total.min(100));
    // The gate decides locks, so this answer and pre_check's never disagree.
    let decision = match pre_check(ctx.lock, ctx.ip, ctx.ip_failures_in_window, now_ms, cfg) {
        Err(Refusal::IpBlocked | Refusal::LockedForSupport) => Decision::LockUntilVerifiedSupport,
        Err(Refusal::Locked { until_ms }) => Decision::TemporaryLock { until_ms },
        Err(Refusal::IpThrottled) => Decision::StepUp,
        Ok(()) if score >= cfg.step_up_score => Decision::StepUp,
        Ok(()) => Decision::Allow,
    };
    Assessment {
        score,
        reasons,
        decision,
        geo: GeoFindings {
            new_country,
            impossible_travel,
        },
    }
}

fn to_points(value: u32) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
}

/// New when no earlier sign-in came from the same /24 (IPv4) or /64 (IPv6),
/// by default. With no earlier sign-in at all there is nothing to compare,
/// and the new-device signal already speaks for a first sign-in.
fn is_new_ip(ctx: &SignInContext, cfg: &RiskConfig) -> bool {
    let ip = ctx.ip.to_canonical();
    let prefix = if ip.is_ipv4() {
        cfg.same_ipv4_prefix
    } else {
        cfg.same_ipv6_prefix
    };
    let network = Cidr::around(ip, prefix);
    let mut seen = ctx
        .known_ips
        .iter()
        .chain(ctx.last_sign_in.as_ref().map(|last| &last.ip))
        .peekable();
    seen.peek().is_some() && !seen.any(|known| network.contains(*known))
}

/// A country code as written, or `None` when blank.
fn country(code: &str) -> Option<&str> {
    Some(code.trim()).filter(|c| !c.is_empty())
}

fn new_country(ctx: &SignInContext) -> Finding {
    let Some(here) = ctx.country.as_deref().and_then(country) else {
        return Finding::Unknown;
    };
    let last = ctx.last_sign_in.as_ref().and_then(|l| l.country.as_deref());
    let mut seen = ctx
        .known_countries
        .iter()
        .map(String::as_str)
        .chain(last)
        .filter_map(country)
        .peekable();
    if seen.peek().is_none() {
        return Finding::Unknown;
    }
    if seen.any(|c| c.eq_ignore_ascii_case(here)) {
        Finding::No
    } else {
        Finding::Yes
    }
}

/// The finding, and for a yes the rounded distance and speed. The tolerance
/// is taken off the distance before the speed is computed, since both
/// geo-IP locations may be off; a previous sign-in at the same instant (or
/// a clock a little behind) counts as one millisecond earlier.
fn impossible_travel(
    ctx: &SignInContext,
    now_ms: i64,
    cfg: &RiskConfig,
) -> (Finding, Option<(u32, u32)>) {
    let (Some(here), Some(last)) = (ctx.location, ctx.last_sign_in.as_ref()) else {
        return (Finding::Unknown, None);
    };
    let Some(there) = last.location else {
        return (Finding::Unknown, None);
    };
    let km = great_circle_km(there, here);
    // `max` also turns a NaN tolerance into 0.
    let beyond_tolerance = km - cfg.travel_tolerance_km.max(0.0);
    if beyond_tolerance <= 0.0 {
        return (Finding::No, None);
    }
    let hours = now_ms.saturating_sub(last.at_ms).max(1) as f64 / HOUR_MS;
    let speed = beyond_tolerance / hours;
    if speed > cfg.max_travel_km_per_h {
        // Float-to-int `as` saturates, which is what a report wants.
        (
            Finding::Yes,
            Some((km.round() as u32, speed.round() as u32)),
        )
    } else {
        (Finding::No, None)
    }
}

/// The count of new devices in the window (this one included) when it
/// reaches the churn threshold; a threshold of 0 switches the rule off.
fn device_churn(ctx: &SignInContext, now_ms: i64, cfg: &RiskConfig) -> Option<u32> {
    let window = cfg.device_churn_window_ms.max(0);
    let earlier = ctx
        .new_device_times_ms
        .iter()
        // A time ahead of the clock (a parallel sign-in that read it later,
        // another node) is as recent as now, not ignored.
        .filter(|t| now_ms.saturating_sub(**t) < window)
        .count();
    let count = u32::try_from(earlier)
        .unwrap_or(u32::MAX)
        .saturating_add(u32::from(!ctx.device_known));
    (cfg.device_churn_count > 0 && count >= cfg.device_churn_count).then_some(count)
}
