//! SQL for bound devices.

use super::history;
use crate::security::devices::{Device, DeviceSpec};
use crate::store::{now_ms, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::Row;

/// The columns of [`from_row`], `$2` being "now" for the session check
/// (which names the account so that it reads through `sessions_by_account`:
/// a handful of rows per account, whatever the table's size).
const COLUMNS: &str = "id, name, platform, client_version, first_seen_at, last_seen_at, last_ip, last_country, device_key_hash,
     (SELECT COUNT(*) FROM sessions s WHERE s.account_id = devices.account_id AND s.device_id = devices.id AND s.revoked_at IS NULL AND s.idle_expires_at > $2 AND s.absolute_expires_at > $2) AS live_sessions";

fn from_row(r: &AnyRow, current: Option<i64>) -> Result<Device, sqlx::Error> {
    let id: i64 = r.try_get("id")?;
    let key_hash: String = r.try_get("device_key_hash")?;
    let live: i64 = r.try_get("live_sessions")?;
    Ok(Device {
        id,
        name: r.try_get("name")?,
        platform: r.try_get("platform")?,
        client_version: r.try_get("client_version")?,
        first_seen_at: r.try_get("first_seen_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        last_ip: r.try_get("last_ip")?,
        last_country: r.try_get("last_country")?,
        current: current == Some(id),
        signed_in: live > 0,
        holds_place: false,
        short_id: crate::crypto::sha256_hex(format!("device-short-id:{key_hash}").as_bytes())[..4]
            .to_ascii_uppercase(),
    })
}

/// The account's bound (not removed) devices, most recently used first.
pub async fn list(
    store: &Store,
    account_id: i64,
    current: Option<i64>,
) -> Result<Vec<Device>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM devices WHERE account_id = $1 AND removed_at IS NULL ORDER BY last_seen_at DESC, id DESC");
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .bind(now_ms())
        .fetch_all(store.read())
        .await?;
    Ok(rows
        .iter()
        .map(|r| from_row(r, current))
        .collect::<Result<_, _>>()?)
}

/// The bound device with this key, if any.
pub async fn find_by_key(
    store: &Store,
    account_id: i64,
    key_hash: &str,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT id FROM devices WHERE account_id = $1 AND device_key_hash = $2 AND removed_at IS NULL")
        .bind(account_id)
        .bind(key_hash)
        .fetch_optional(store.write())
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// When the account's devices (removed ones too) were first seen, since `since`.
pub async fn first_seen_since(
    store: &Store,
    account_id: i64,
    since: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT first_seen_at FROM devices WHERE account_id = $1 AND first_seen_at >= $2",
    )
    .bind(account_id)
    .bind(since)
    .fetch_all(store.read())
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("first_seen_at"))
        .collect::<Result<_, _>>()?)
}

/// Binds a new device and notes it on the timeline; returns its id.
pub async fn create(store: &Store, account_id: i64, spec: &DeviceSpec) -> Result<i64, StoreError> {
    let now = now_ms();
    let mut tx = store.write().begin().await?;
    let row = sqlx::query(
        "INSERT INTO devices (account_id, device_key_hash, name, platform, client_version, first_seen_at, last_seen_at, last_ip, last_country)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id",
    )
    .bind(account_id)
    .bind(&spec.key_hash)
    .bind(&spec.name)
    .bind(&spec.platform)
    .bind(&spec.client_version)
    .bind(now)
    .bind(&spec.ip)
    .bind(&spec.country)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    history::event(
        &mut *tx,
        account_id,
        "device_added",
        &spec.name,
        Some(&spec.ip),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The UPDATE of a touch, its values `$first` to `$first + 4`: time, ip,
/// country, client version (kept when none is sent), device id.
pub fn touch_sql(first: usize) -> String {
    format!(
        "UPDATE devices SET last_seen_at = ${}, last_ip = ${}, last_country = ${}, client_version = COALESCE(${}, client_version) WHERE id = ${}",
        first,
        first + 1,
        first + 2,
        first + 3,
        first + 4
    )
}

/// [`remove`] inside a change of several rows.
pub async fn remove_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account_id: i64,
    device_id: i64,
    ip: Option<&str>,
    why: &str,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let row = sqlx::query("UPDATE devices SET removed_at = $1 WHERE id = $2 AND account_id = $3 AND removed_at IS NULL RETURNING name")
        .bind(now)
        .bind(device_id)
        .bind(account_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(false) };
    let name: String = row.try_get("name")?;
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(device_id)
        .execute(&mut **tx)
        .await?;
    history::event(
        &mut **tx,
        account_id,
        "device_removed",
        &format!("{name} ({why})"),
        ip,
    )
    .await?;
    Ok(true)
}

/// Renames a device. False when the account has no such device.
pub async fn rename(
    store: &Store,
    account_id: i64,
    device_id: i64,
    name: &str,
    ip: Option<&str>,
) -> Result<bool, StoreError> {
    let mut tx = store.write().begin().await?;
    let done = sqlx::query(
        "UPDATE devices SET name = $1 WHERE id = $2 AND account_id = $3 AND removed_at IS NULL",
    )
    .bind(name)
    .bind(device_id)
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    history::event(&mut *tx, account_id, "device_renamed", name, ip).await?;
    tx.commit().await?;
    Ok(true)
}

/// Freezes or unfreezes one bound device of `account_id` (all of them when
/// `device_id` is None) inside the caller's change: freezing ends their
/// sessions at once. Each change is on the account's security timeline.
/// Returns the names of the devices changed.
pub async fn set_frozen_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account_id: i64,
    device_id: Option<i64>,
    frozen: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let now = now_ms();
    let rows = match frozen {
        Some(reason) => {
            sqlx::query(
                "UPDATE devices SET frozen_at = $1, frozen_reason = $2
                 WHERE account_id = $3 AND removed_at IS NULL AND frozen_at IS NULL AND ($4 = 0 OR id = $4)
                 RETURNING id, name",
            )
            .bind(now)
            .bind(reason)
            .bind(account_id)
            .bind(device_id.unwrap_or(0))
            .fetch_all(&mut **tx)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE devices SET frozen_at = NULL, frozen_reason = NULL
                 WHERE account_id = $1 AND removed_at IS NULL AND frozen_at IS NOT NULL AND ($2 = 0 OR id = $2)
                 RETURNING id, name",
            )
            .bind(account_id)
            .bind(device_id.unwrap_or(0))
            .fetch_all(&mut **tx)
            .await?
        }
    };
    let mut names = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let name: String = row.try_get("name")?;
        if frozen.is_some() {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        let (kind, detail) = match frozen {
            Some(reason) => ("device_frozen", format!("{name}: {reason}")),
            None => ("device_unfrozen", name.clone()),
        };
        history::event(&mut **tx, account_id, kind, &detail, None).await?;
        names.push(name);
    }
    Ok(names)
}
