//! What a sign-in reads, in one statement before the password is checked:
//! the account and its hash, the presented device, second factors, the
//! guards, the address's failures, and for the risk engine the account's
//! recent new devices and past sign-ins.
//!
//! That was eight statements. A sign-in is one Argon2 hash plus everything
//! else, and on two cores every round trip to the database wakes threads
//! that interrupt a hash (BENCHMARKS.md, run 5): folding the reads is what
//! brings sign-ins per second close to raw hashes per second. The lists
//! cost a wrong password a few microseconds it does not need; it pays ~15 ms
//! of hashing anyway.

use super::guards::{self, Guard};
use super::history::{LastSuccess, Past};
use super::totp::Factors;
use crate::accounts::store::{columns_of, identifier_column, Account};
use crate::store::{Store, StoreError};
use koban_policy::contact::Contact;
use sqlx::Row;

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
type SuccessRow = (i64, i64, String, Option<String>, Option<f64>, Option<f64>);

/// Reads everything a sign-in decides with, in one statement.
/// `presented_device` is the hash of a device key the client sent (None for
/// a key made for this request, which no account can know); failures of
/// the address count from `failures_since`, new devices from `devices_since`.
pub async fn read(
    store: &Store,
    identifier: &Contact,
    presented_device: Option<&str>,
    ip: &str,
    failures_since: i64,
    devices_since: i64,
) -> Result<Facts, StoreError> {
    let column = identifier_column(identifier);
    let backend = store.backend();
    let new_devices = backend.json_rows(
        "first_seen_at",
        "SELECT first_seen_at FROM devices WHERE account_id = a.id AND first_seen_at >= $5",
    );
    let past = backend.json_rows(
        "id, at, ip, country, latitude, longitude",
        &format!(
            "SELECT id, at, ip, country, latitude, longitude FROM login_attempts
             WHERE account_id = a.id AND outcome = 'success' ORDER BY id DESC LIMIT {PAST_SIGN_INS_WEIGHED}"
        ),
    );
    // The probe row makes the statement answer even for an unknown
    // identifier, whose guard and address still count.
    let sql = format!(
        "SELECT {account}, a.password_hash, a.totp_enabled_at,
                (SELECT COUNT(*) FROM passkeys p WHERE p.account_id = a.id) AS passkeys,
                d.id AS device_id, {guard}, {account_guard}, f.failures AS ip_failures,
                {new_devices} AS new_devices, {past} AS past
         FROM (SELECT $1 AS identifier) AS probe
         LEFT JOIN accounts a ON a.{column} = probe.identifier
         LEFT JOIN devices d ON d.account_id = a.id AND d.device_key_hash = $2 AND d.removed_at IS NULL
         LEFT JOIN sign_in_guards ga ON ga.guard_key = {account_key}
         LEFT JOIN sign_in_guards g ON g.guard_key = CASE
             WHEN d.id IS NOT NULL THEN {device_key}
             WHEN a.id IS NOT NULL THEN {account_key}
             ELSE {identifier_key} END
         LEFT JOIN ip_failures f ON f.ip = $3 AND f.window_start >= $4",
        account = columns_of("a"),
        guard = guards::columns_as("g", "g_"),
        account_guard = guards::columns_as("ga", "ga_"),
        account_key = guards::ACCOUNT_KEY_SQL,
        device_key = guards::DEVICE_KEY_SQL,
        identifier_key = guards::IDENTIFIER_KEY_SQL,
    );
    let row = store
        .run_on_lane(async |conn| {
            sqlx::query(&sql)
                .bind(identifier.as_str())
                .bind(presented_device)
                .bind(ip)
                .bind(failures_since)
                .bind(devices_since)
                .fetch_one(conn)
                .await
        })
        .await?;
    let ip_failures = row
        .try_get::<Option<i64>, _>("ip_failures")?
        .unwrap_or(0)
        .clamp(0, u32::MAX as i64) as u32;
    let guard = guards::from_row_prefixed(&row, "g_")?;
    if row.try_get::<Option<i64>, _>("id")?.is_none() {
        return Ok(Facts {
            account_guard: guard.clone(),
            guard,
            ip_failures,
            ..Facts::default()
        });
    }
    let account = Account::from_row(&row)?;
    let hash: String = row.try_get("password_hash")?;
    let device_id: Option<i64> = row.try_get("device_id")?;
    let account_guard = if device_id.is_some() {
        guards::from_row_prefixed(&row, "ga_")?
    } else {
        guard.clone()
    };
    let new_devices: Vec<(i64,)> = json_list(&row, "new_devices")?;
    let successes: Vec<SuccessRow> = json_list(&row, "past")?;
    Ok(Facts {
        found: Some((account, hash)),
        device_id,
        factors: Factors {
            totp: row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some(),
            passkey: row.try_get::<i64, _>("passkeys")? > 0,
        },
        guard,
        account_guard,
        ip_failures,
        new_device_times_ms: new_devices.into_iter().map(|(at,)| at).collect(),
        past: condense(successes),
    })
}

fn json_list<T: serde::de::DeserializeOwned>(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Vec<T>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Unavailable(format!("{column}: unreadable list: {e}"))),
    }
}

/// Past successes, newest first, reduced to what the risk engine weighs.
fn condense(mut successes: Vec<SuccessRow>) -> Past {
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
