//! The sign-in risk engine: pure functions over facts the caller read from
//! the database, with "now" passed in as unix milliseconds.
//!
//! A sign-in goes through three steps:
//! 1. [`pre_check`] before the password is hashed: a blocked network, a
//!    locked account or a throttled IP is refused at no hashing cost.
//! 2. On a wrong password, [`next_failure_count`] then
//!    [`after_password_failure`] give the count and the lock to store.
//! 3. On a correct one, [`assess`] scores the attempt ([`Assessment`]) and
//!    decides: allow, ask for a second factor, or keep it locked.
//!
//! Thresholds live in [`RiskConfig`], whose docs compare the defaults with
//! Keycloak's and Auth0's.
#![warn(missing_docs)]

mod cidr;
mod config;
mod geo;
mod level;
mod lockout;
mod precheck;
mod score;
mod version;

#[cfg(test)]
mod tests;

pub use cidr::{any_contains, Cidr, CidrError};
pub use config::{RiskConfig, RiskPoints};
pub use geo::{great_circle_km, GeoPoint};
pub use level::{risk_level, RiskLevel};
pub use lockout::{
    after_password_failure, checks_allowed, failures_in_force, first_lock_at, ip_checks_allowed,
    lock_duration_ms, next_failure_count, next_failure_locks, AccountLock, LockDecision,
};
pub use precheck::{pre_check, Refusal};
pub use score::{
    assess, Assessment, Decision, Finding, GeoFindings, LastSignIn, Reason, SignInContext, Signal,
};
pub use version::{ClientVersion, VersionError};
