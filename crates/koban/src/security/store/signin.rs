//! SQL for sign-in: its half-finished challenges, and the one round trip
//! that concludes a sign-in from a bound device.

use super::{devices, guards, history};
use crate::accounts::sessions::Draft;
use crate::accounts::store::sessions;
use crate::security::client::ClientContext;
use crate::security::devices::DeviceSpec;
use crate::security::history::Attempt;
use crate::store::{Backend, Store, StoreError};
use sqlx::Row;

/// A half-finished sign-in about to be stored.
pub struct NewChallenge<'a> {
    pub token_hash: String,
    pub account_id: i64,
    pub kind: &'a str,
    pub ctx: &'a ClientContext,
    pub score: i64,
    /// Risk codes joined by commas.
    pub reasons: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Stores a challenge; returns its id.
pub async fn insert_challenge(store: &Store, c: &NewChallenge<'_>) -> Result<i64, sqlx::Error> {
    let ctx = c.ctx;
    let row = sqlx::query(
        "INSERT INTO sign_in_challenges (token_hash, account_id, kind, device_key_hash, device_name, platform, client_version, ip, country, user_agent, risk_score, reasons, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(&c.token_hash)
    .bind(c.account_id)
    .bind(c.kind)
    .bind(ctx.device_key_hash())
    .bind(&ctx.device_name)
    .bind(&ctx.platform)
    .bind(&ctx.client_version)
    .bind(ctx.ip.to_string())
    .bind(&ctx.place.country)
    .bind(&ctx.user_agent)
    .bind(c.score)
    .bind(&c.reasons)
    .bind(c.created_at)
    .bind(c.expires_at)
    .fetch_one(store.write())
    .await?;
    row.try_get("id")
}

/// An open challenge as stored.
pub struct OpenChallenge {
    pub id: i64,
    pub account_id: i64,
    pub spec: DeviceSpec,
    pub score: i64,
    pub reasons: Vec<String>,
}

/// The challenge of `kind` with this token hash, not used up nor expired at `now`.
pub async fn open_challenge(
    store: &Store,
    token_hash: &str,
    kind: &str,
    now: i64,
) -> Result<Option<OpenChallenge>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, account_id, device_key_hash, device_name, platform, client_version, ip, country, risk_score, reasons
         FROM sign_in_challenges WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(kind)
    .bind(now)
    .fetch_optional(store.write())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let reasons: String = row.try_get("reasons")?;
    Ok(Some(OpenChallenge {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        spec: DeviceSpec {
            key_hash: row.try_get("device_key_hash")?,
            name: row.try_get("device_name")?,
            platform: row.try_get("platform")?,
            client_version: row.try_get("client_version")?,
            ip: row.try_get("ip")?,
            country: row.try_get("country")?,
        },
        score: row.try_get("risk_score")?,
        reasons: reasons
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    }))
}

/// Uses a challenge up; false when another request already did.
pub async fn use_challenge(store: &Store, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE sign_in_challenges SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(store.write())
            .await?;
    Ok(done.rows_affected() == 1)
}

/// What [`conclude_on_known_device`] writes.
pub struct KnownDeviceSignIn<'a> {
    pub account_id: i64,
    pub device_id: i64,
    pub spec: &'a DeviceSpec,
    pub draft: &'a Draft,
    pub success: &'a Attempt,
    /// The password check's reservations to give back (NULL matches no row).
    pub reserved_guard: Option<String>,
    pub reserved_ip: Option<String>,
}

/// The writes of a sign-in from a bound device, in one round trip on the
/// lane (see `security::signin::conclude_on_known_device` for why):
/// returns the new session's id. `lazy_commit` lets PostgreSQL commit
/// without waiting for the WAL flush.
pub async fn conclude_on_known_device(
    store: &Store,
    lazy_commit: bool,
    w: &KnownDeviceSignIn<'_>,
) -> Result<i64, StoreError> {
    let backend = store.backend();
    let touch = devices::touch_sql(1);
    let record = history::insert_sql(backend, 6);
    let store_session = sessions::insert_sql(7);
    let release_guard = guards::release_guard_sql(15);
    let release_ip = guards::release_ip_sql(16);
    let lazy = backend.lazy_commit_clause().filter(|_| lazy_commit);
    let sql = match (backend, lazy) {
        // Reading `lazy_commit` in RETURNING is what runs the clause.
        (Backend::Postgres, Some(lazy)) => format!(
            "WITH {lazy}, touched AS ({touch}), recorded AS ({record}), released_guard AS ({release_guard}), released_ip AS ({release_ip}) {store_session}, (SELECT mode FROM lazy_commit) AS commit_mode"
        ),
        (Backend::Postgres, None) => {
            format!("WITH touched AS ({touch}), recorded AS ({record}), released_guard AS ({release_guard}), released_ip AS ({release_ip}) {store_session}")
        }
        (Backend::Sqlite, _) => {
            format!("{touch}; {record}; {store_session}; {release_guard}; {release_ip}")
        }
    };
    let (draft, spec) = (w.draft, w.spec);
    let recorded =
        serde_json::Value::Array(vec![history::attempt_json(draft.created_at, w.success)]);
    let rows = store
        .run_on_lane(async |conn| {
            sqlx::query(&sql)
                .bind(draft.created_at)
                .bind(&spec.ip)
                .bind(&spec.country)
                .bind(&spec.client_version)
                .bind(w.device_id)
                .bind(recorded.to_string())
                .bind(w.account_id)
                .bind(&draft.token_hash)
                .bind(draft.created_at)
                .bind(draft.idle_expires_at)
                .bind(draft.absolute_expires_at)
                .bind(&spec.ip)
                .bind(&draft.user_agent)
                .bind(w.device_id)
                .bind(&w.reserved_guard)
                .bind(&w.reserved_ip)
                // All rows, not one: sqlx's Any driver stops a fetch_one at the
                // first statement's result, which on SQLite is the touch's.
                .fetch_all(conn)
                .await
        })
        .await?;
    match rows.first() {
        Some(row) => Ok(row.try_get("id")?),
        None => Err(StoreError::Unavailable("no session id returned".into())),
    }
}
