//! SQL for the sign-in read ([`crate::security::facts`]): one statement
//! for everything a sign-in decides with, for one probe or a gathered many.

use super::guards;
use crate::accounts::store::{columns_of, Account};
use crate::security::facts::{condense, Facts, Probe, SuccessRow, PAST_SIGN_INS_WEIGHED};
use crate::security::totp::Factors;
use crate::store::{Backend, Store, StoreError};
use koban_policy::contact::Contact;
use sqlx::Row;
use std::sync::OnceLock;

/// Values each probe binds, in the order of the statement's `probe` columns.
const PROBE_COLUMNS: &str =
    "n, identifier, email, phone, device, ip, failures_since, devices_since";
const VALUES_PER_PROBE: usize = 8;

impl Probe {
    /// Binds the probe's values as row `n` of the statement.
    fn bind<'q>(
        &'q self,
        n: usize,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let (email, phone) = match &self.identifier {
            Contact::Email(e) => (Some(e.as_str()), None),
            Contact::Phone(p) => (None, Some(p.as_str())),
        };
        query
            .bind(n as i64)
            .bind(self.identifier.as_str())
            .bind(email)
            .bind(phone)
            .bind(self.presented_device.as_deref())
            .bind(self.ip.as_str())
            .bind(self.failures_since)
            .bind(self.devices_since)
    }
}

/// Reads everything one sign-in decides with, in one statement.
pub async fn read(store: &Store, probe: Probe) -> Result<Facts, StoreError> {
    read_many(store, std::slice::from_ref(&probe))
        .await?
        .pop()
        .ok_or_else(|| StoreError::Unavailable("the sign-in read returned no row".into()))
}

/// The statement of [`read_many`] for `probes` sign-ins. The probes are
/// a VALUES list rather than one JSON parameter so that the planner knows
/// how many rows it joins: told nothing, PostgreSQL assumes a hundred and
/// hashes whole tables of a thousand accounts instead of looking one up
/// (`koban bench risk` took 0.32 ms instead of 0.18).
fn statement(backend: Backend, probes: usize) -> String {
    static SQLITE: OnceLock<String> = OnceLock::new();
    static POSTGRES: OnceLock<String> = OnceLock::new();
    let cell = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    let rest = cell.get_or_init(|| statement_after_probes(backend));
    let rows: Vec<String> = (0..probes)
        .map(|i| {
            let first = i * VALUES_PER_PROBE + 1;
            let params: Vec<String> = (first..first + VALUES_PER_PROBE)
                .map(|p| format!("${p}"))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "WITH probe ({PROBE_COLUMNS}) AS (VALUES {}) {rest}",
        rows.join(", ")
    )
}

/// Everything of the statement after its `probe` rows.
fn statement_after_probes(backend: Backend) -> String {
    let new_devices = backend.json_rows(
        "first_seen_at",
        "SELECT first_seen_at FROM devices WHERE account_id = a.id AND first_seen_at >= probe.devices_since",
    );
    let past = backend.json_rows(
        "id, at, ip, country, latitude, longitude",
        &format!(
            "SELECT id, at, ip, country, latitude, longitude FROM login_attempts
             WHERE account_id = a.id AND outcome = 'success' ORDER BY id DESC LIMIT {PAST_SIGN_INS_WEIGHED}"
        ),
    );
    // Every probe gets a row, an unknown identifier too: its guard and its
    // address still count. The account is found by the one of its two
    // unique columns the identifier is (the other is NULL, which matches
    // nothing).
    format!(
        "SELECT probe.n AS probe_n, {account}, a.password_hash, a.totp_enabled_at,
                (SELECT COUNT(*) FROM passkeys p WHERE p.account_id = a.id) AS passkeys,
                d.id AS device_id, d.frozen_at AS device_frozen_at, d.frozen_reason AS device_frozen_reason, {guard}, {account_guard}, f.failures AS ip_failures,
                {new_devices} AS new_devices, {past} AS past
         FROM probe
         LEFT JOIN accounts a ON a.id = COALESCE(
             (SELECT id FROM accounts WHERE email = probe.email),
             (SELECT id FROM accounts WHERE phone = probe.phone))
         LEFT JOIN devices d ON d.account_id = a.id AND d.device_key_hash = probe.device AND d.removed_at IS NULL
         LEFT JOIN sign_in_guards ga ON ga.guard_key = {account_key}
         LEFT JOIN sign_in_guards g ON g.guard_key = CASE
             WHEN d.id IS NOT NULL THEN {device_key}
             WHEN a.id IS NOT NULL THEN {account_key}
             ELSE {identifier_key} END
         LEFT JOIN ip_failures f ON f.ip = probe.ip AND f.window_start >= probe.failures_since",
        account = columns_of("a"),
        guard = guards::columns_as("g", "g_"),
        account_guard = guards::columns_as("ga", "ga_"),
        account_key = guards::ACCOUNT_KEY_SQL,
        device_key = guards::DEVICE_KEY_SQL,
        identifier_key = guards::IDENTIFIER_KEY_SQL,
    )
}

/// Reads the facts of several sign-ins in one statement, in the order of
/// `probes`: what [`super::gather::Gatherer`] sends when sign-ins wait together.
pub async fn read_many(store: &Store, probes: &[Probe]) -> Result<Vec<Facts>, StoreError> {
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = statement(store.backend(), probes.len());
    let rows = store
        .run_on_lane(async |conn| {
            let query = probes
                .iter()
                .enumerate()
                .fold(sqlx::query(&sql), |query, (n, probe)| probe.bind(n, query));
            query.fetch_all(conn).await
        })
        .await?;
    let mut facts: Vec<Option<Facts>> = (0..probes.len()).map(|_| None).collect();
    for row in &rows {
        let n: i64 = row.try_get("probe_n")?;
        let slot = usize::try_from(n)
            .ok()
            .and_then(|n| facts.get_mut(n))
            .ok_or_else(|| {
                StoreError::Unavailable(format!("the sign-in read answered for probe {n}"))
            })?;
        // Two bound devices with one key cannot exist; if they did, the first row stands.
        if slot.is_none() {
            *slot = Some(from_row(row)?);
        }
    }
    facts
        .into_iter()
        .map(|f| f.ok_or_else(|| StoreError::Unavailable("the sign-in read missed a probe".into())))
        .collect()
}

/// The facts of one row of the statement.
fn from_row(row: &sqlx::any::AnyRow) -> Result<Facts, StoreError> {
    let ip_failures = row
        .try_get::<Option<i64>, _>("ip_failures")?
        .unwrap_or(0)
        .clamp(0, u32::MAX as i64) as u32;
    let guard = guards::from_row_prefixed(row, "g_")?;
    if row.try_get::<Option<i64>, _>("id")?.is_none() {
        return Ok(Facts {
            account_guard: guard.clone(),
            guard,
            ip_failures,
            ..Facts::default()
        });
    }
    let account = Account::from_row(row)?;
    let hash: String = row.try_get("password_hash")?;
    let device_id: Option<i64> = row.try_get("device_id")?;
    let account_guard = if device_id.is_some() {
        guards::from_row_prefixed(row, "ga_")?
    } else {
        guard.clone()
    };
    let new_devices: Vec<(i64,)> = json_list(row, "new_devices")?;
    let successes: Vec<SuccessRow> = json_list(row, "past")?;
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
        device_frozen: match row.try_get::<Option<i64>, _>("device_frozen_at")? {
            Some(_) => Some(
                row.try_get::<Option<String>, _>("device_frozen_reason")?
                    .unwrap_or_default(),
            ),
            None => None,
        },
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
