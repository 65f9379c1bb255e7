//! What a sign-in reads, in two statements: one before the password is
//! checked (the account and its hash, the presented device, second factors,
//! the guards, the address's failures) and one after a correct password
//! (recent new devices and past sign-ins, for the risk engine).
//!
//! Each was six separate statements. A sign-in is one Argon2 hash plus
//! everything else, and on two cores every round trip to the database wakes
//! threads that interrupt the hash (BENCHMARKS.md, run 5): folding the reads
//! is what brings sign-ins per second close to raw hashes per second.

use super::guards::{self, Guard};
use super::history::{LastSuccess, Past};
use super::totp::Factors;
use crate::accounts::store::{Account, COLUMNS as ACCOUNT_COLUMNS};
use crate::store::{Store, StoreError};
use koban_policy::contact::Contact;
use sqlx::any::AnyRow;
use sqlx::Row;

/// What the database knows of an attempt before its password is checked.
#[derive(Debug, Default)]
pub struct BeforePassword {
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
}

impl BeforePassword {
    /// The key of the guard in force, built as [`guards`] builds it.
    pub fn guard_key(&self, identifier: &Contact, device_key_hash: &str) -> String {
        match (&self.found, self.device_id) {
            (Some((a, _)), Some(_)) => guards::device_key(a.id, device_key_hash),
            (Some((a, _)), None) => guards::account_key(a.id),
            (None, _) => guards::identifier_key(identifier.as_str()),
        }
    }
}

/// Reads everything the pre-check and the hash need, in one statement.
/// `presented_device` is the hash of a device key the client sent (None for
/// a key made for this request, which no account can know).
pub async fn before_password(
    store: &Store,
    identifier: &Contact,
    presented_device: Option<&str>,
    ip: &str,
    failures_since: i64,
) -> Result<BeforePassword, StoreError> {
    let column = match identifier {
        Contact::Phone(_) => "phone",
        Contact::Email(_) => "email",
    };
    let account_columns: Vec<String> = ACCOUNT_COLUMNS
        .split(", ")
        .map(|c| format!("a.{c}"))
        .collect();
    // The probe row makes the statement answer even for an unknown
    // identifier, whose guard and address still count.
    let sql = format!(
        "SELECT {account}, a.password_hash, a.totp_enabled_at,
                (SELECT COUNT(*) FROM passkeys p WHERE p.account_id = a.id) AS passkeys,
                d.id AS device_id, {guard}, {account_guard}, f.failures AS ip_failures
         FROM (SELECT $1 AS identifier) AS probe
         LEFT JOIN accounts a ON a.{column} = probe.identifier
         LEFT JOIN devices d ON d.account_id = a.id AND d.device_key_hash = $2 AND d.removed_at IS NULL
         LEFT JOIN sign_in_guards ga ON ga.guard_key = {account_key}
         LEFT JOIN sign_in_guards g ON g.guard_key = CASE
             WHEN d.id IS NOT NULL THEN {device_key}
             WHEN a.id IS NOT NULL THEN {account_key}
             ELSE {identifier_key} END
         LEFT JOIN ip_failures f ON f.ip = $3 AND f.window_start >= $4",
        account = account_columns.join(", "),
        guard = guards::columns_as("g", "g_"),
        account_guard = guards::columns_as("ga", "ga_"),
        account_key = guards::ACCOUNT_KEY_SQL,
        device_key = guards::DEVICE_KEY_SQL,
        identifier_key = guards::IDENTIFIER_KEY_SQL,
    );
    let row = sqlx::query(&sql)
        .bind(identifier.as_str())
        .bind(presented_device)
        .bind(ip)
        .bind(failures_since)
        .fetch_one(store.write())
        .await?;
    let ip_failures = row
        .try_get::<Option<i64>, _>("ip_failures")?
        .unwrap_or(0)
        .clamp(0, u32::MAX as i64) as u32;
    let guard = guards::from_row_prefixed(&row, "g_")?;
    if row.try_get::<Option<i64>, _>("id")?.is_none() {
        return Ok(BeforePassword {
            account_guard: guard.clone(),
            guard,
            ip_failures,
            ..BeforePassword::default()
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
    Ok(BeforePassword {
        found: Some((account, hash)),
        device_id,
        factors: Factors {
            totp: row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some(),
            passkey: row.try_get::<i64, _>("passkeys")? > 0,
        },
        guard,
        account_guard,
        ip_failures,
    })
}

/// What the risk engine weighs beyond the guard, for a correct password.
#[derive(Debug, Default)]
pub struct AfterPassword {
    /// When devices first seen since the churn window began were bound.
    pub new_device_times_ms: Vec<i64>,
    /// The account's recent successful sign-ins, condensed.
    pub past: Past,
}

/// Reads recent new devices and the last `limit` successful sign-ins, in
/// one statement.
pub async fn after_password(
    store: &Store,
    account_id: i64,
    devices_since: i64,
    limit: i64,
) -> Result<AfterPassword, StoreError> {
    let rows = sqlx::query(
        "SELECT 'device' AS kind, id, first_seen_at AS at, NULL AS ip, NULL AS country, NULL AS latitude, NULL AS longitude
         FROM devices WHERE account_id = $1 AND first_seen_at >= $2
         UNION ALL
         SELECT 'success', id, at, ip, country, latitude, longitude FROM (
             SELECT id, at, ip, country, latitude, longitude FROM login_attempts
             WHERE account_id = $1 AND outcome = 'success' ORDER BY id DESC LIMIT $3) AS recent",
    )
    .bind(account_id)
    .bind(devices_since)
    .bind(limit)
    .fetch_all(store.read())
    .await?;
    let mut facts = AfterPassword::default();
    let mut successes: Vec<(i64, &AnyRow)> = Vec::new();
    for row in &rows {
        let kind: String = row.try_get("kind")?;
        if kind == "device" {
            facts.new_device_times_ms.push(row.try_get("at")?);
        } else {
            successes.push((row.try_get("id")?, row));
        }
    }
    // A union keeps no order: newest first, as the history was written.
    successes.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    for (i, (_, row)) in successes.iter().enumerate() {
        let ip: String = row.try_get("ip")?;
        let country: Option<String> = row.try_get("country")?;
        if i == 0 {
            facts.past.last = Some(LastSuccess {
                at: row.try_get("at")?,
                ip: ip.clone(),
                country: country.clone(),
                latitude: row.try_get("latitude")?,
                longitude: row.try_get("longitude")?,
            });
        }
        if let Ok(parsed) = ip.parse() {
            if !facts.past.known_ips.contains(&parsed) {
                facts.past.known_ips.push(parsed);
            }
        }
        if let Some(c) = country {
            if !facts.past.known_countries.contains(&c) {
                facts.past.known_countries.push(c);
            }
        }
    }
    Ok(facts)
}
