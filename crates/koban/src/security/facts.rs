//! What a sign-in reads, in one statement before the password is checked:
//! the account and its hash, the presented device, second factors, the
//! guards, the address's failures, and for the risk engine the account's
//! recent new devices and past sign-ins.
//!
//! That was eight statements. A sign-in is one Argon2 hash plus everything
//! else, and on two cores every round trip to the database wakes threads
//! that interrupt a hash (docs/benchmarks-history.md, run 5): folding the reads is what
//! brings sign-ins per second close to raw hashes per second. The lists
//! cost a wrong password a few microseconds it does not need; it pays ~15 ms
//! of hashing anyway.
//!
//! Sign-ins that arrive while the hashing threads are busy share one such
//! statement ([`read_many`]; when, `gather.rs`). The statement itself is in
//! `store/facts.rs`.

use super::guards::{self, Guard};
use super::history::{LastSuccess, Past};
use super::totp::Factors;
use crate::accounts::store::Account;
use koban_policy::contact::Contact;

pub use super::store::facts::{read, read_many};

/// How many recent successful sign-ins the risk engine learns places from.
pub const PAST_SIGN_INS_WEIGHED: i64 = 50;

/// What the database knows of an attempt before its password is checked.
#[derive(Debug, Default)]
pub struct Facts {
    /// The account the identifier names, with its stored password hash.
    pub found: Option<(Account, String)>,
    /// The presented device, when the account has it bound.
    pub device_id: Option<i64>,
    /// The account's second factors (none when there is no account).
    pub factors: Factors,
    /// The guard in force: the known device's, else the account's, else the
    /// unregistered identifier's (see [`guards`]).
    pub guard: Guard,
    /// The account's own guard, which a sign-in from a known device clears
    /// only the second-factor part of. The same as `guard` otherwise.
    pub account_guard: Guard,
    /// Wrong passwords from this address in the current window.
    pub ip_failures: u32,
    /// When the account's devices first seen since the churn window began
    /// were bound.
    pub new_device_times_ms: Vec<i64>,
    /// The account's recent successful sign-ins, condensed.
    pub past: Past,
    /// Why the presented device is frozen, when it is.
    pub device_frozen: Option<String>,
}

impl Facts {
    /// The key of the guard in force, built as [`guards`] builds it.
    pub fn guard_key(&self, identifier: &Contact, device_key_hash: &str) -> String {
        match (&self.found, self.device_id) {
            (Some((a, _)), Some(_)) => guards::device_key(a.id, device_key_hash),
            (Some((a, _)), None) => guards::account_key(a.id),
            (None, _) => guards::identifier_key(identifier.as_str()),
        }
    }
}

/// A past success as the statement lists it: id, at, ip, country, latitude,
/// longitude.
pub(crate) type SuccessRow = (i64, i64, String, Option<String>, Option<f64>, Option<f64>);

/// What one sign-in asks the database before hashing.
#[derive(Debug, Clone)]
pub struct Probe {
    pub identifier: Contact,
    /// The hash of a device key the client sent (None for a key made for
    /// this request, which no account can know).
    pub presented_device: Option<String>,
    pub ip: String,
    /// The address's failures count from here.
    pub failures_since: i64,
    /// New devices count from here.
    pub devices_since: i64,
}

/// Past successes, newest first, reduced to what the risk engine weighs.
pub(crate) fn condense(mut successes: Vec<SuccessRow>) -> Past {
    // JSON aggregation promises no order: newest first, as written.
    successes.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut past = Past::default();
    for (i, (_, at, ip, country, latitude, longitude)) in successes.into_iter().enumerate() {
        if i == 0 {
            past.last = Some(LastSuccess {
                at,
                ip: ip.clone(),
                country: country.clone(),
                latitude,
                longitude,
            });
        }
        if let Ok(parsed) = ip.parse() {
            if !past.known_ips.contains(&parsed) {
                past.known_ips.push(parsed);
            }
        }
        if let Some(c) = country {
            if !past.known_countries.contains(&c) {
                past.known_countries.push(c);
            }
        }
    }
    past
}
