//! The account security center: the risk engine wired to sign-in, locks and
//! unlocks, devices, login history and the security timeline, two-factor
//! authentication, and the account operations support performs.

pub mod api;
pub mod client;
pub mod contacts;
pub mod devices;
pub mod facts;
pub mod gather;
pub mod geo;
pub mod guards;
pub mod history;
pub mod pages;
pub mod passkeys;
pub mod policies;
pub mod recovery;
pub mod refusals;
pub mod reminders;
pub mod sign_in_api;
pub mod signin;
pub mod store;
pub mod totp;

use crate::config::Config;
use koban_policy::risk::{ClientVersion, RiskConfig};

/// Security settings parsed once from the configuration.
pub struct Settings {
    pub risk: RiskConfig,
    pub geo: geo::Geo,
}

use crate::state::cidr_list;

impl Settings {
    /// Reads the risk thresholds, proxy list and geo database; a bad value is named.
    pub fn from_config(config: &Config) -> Result<Settings, String> {
        let hours = |h: i64| h.max(0) * 3_600_000;
        let min_client_version = match config.risk_min_client_version.trim() {
            "" => None,
            v => Some(
                v.parse::<ClientVersion>()
                    .map_err(|e| format!("risk_min_client_version: {e}"))?,
            ),
        };
        let risk = RiskConfig {
            lock_after_failures: config.risk_lock_after_failures,
            lock_base_ms: config.risk_lock_base_seconds * 1000,
            lock_max_ms: config.risk_lock_max_seconds * 1000,
            support_lock_after_failures: Some(config.risk_support_lock_after_failures)
                .filter(|n| *n > 0),
            failure_memory_ms: Some(hours(config.risk_failure_memory_hours)).filter(|ms| *ms > 0),
            ip_failure_window_ms: hours(config.risk_ip_failure_window_hours),
            ip_failure_limit: config.risk_ip_failure_limit,
            ip_suspicious_failures: config.risk_ip_suspicious_failures,
            ip_allow: cidr_list("risk_ip_allow", &config.risk_ip_allow)?,
            ip_block: cidr_list("risk_ip_block", &config.risk_ip_block)?,
            max_travel_km_per_h: config.risk_max_travel_km_per_h,
            travel_tolerance_km: config.risk_travel_tolerance_km,
            device_churn_count: config.risk_device_churn_count,
            device_churn_window_ms: hours(config.risk_device_churn_window_hours),
            min_client_version,
            step_up_score: config.risk_step_up_score,
            ..RiskConfig::default()
        };
        Ok(Settings {
            risk,
            geo: geo::Geo::open(&config.geoip_database)?,
        })
    }
}

/// The security center's state, built once at start.
pub struct State {
    pub settings: Settings,
    /// Refusals the database decided, remembered for a few seconds.
    pub refusals: refusals::RefusalCache,
    /// The login history's group-commit writer.
    pub attempt_log: history::AttemptLog,
    /// Sends the sign-ins' reads, together while the hashers have a queue.
    pub sign_in_reads: gather::Gatherer,
    /// The WebAuthn relying party passkeys are registered with.
    pub passkeys: passkeys::RelyingParty,
}

/// The security center's state in `app`.
pub fn state(app: &crate::state::App) -> &State {
    app.part::<State>()
}

mod domain;
pub use domain::{domain, PRUNE_LOGIN_HISTORY, SECURITY_REMINDERS};
