//! Devices bound to an account: made at a device's first successful
//! sign-in, listed, renamed and removed by the owner (removal ends the
//! device's sessions at once).

use crate::store::{now_ms, Store, StoreError};

pub use super::store::devices::{
    create, find_by_key, first_seen_since, list, remove_in, rename, touch_sql,
};

/// A bound device.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Device {
    pub id: i64,
    pub name: String,
    /// `ios`, `android`, `windows`, `macos`, `linux`, `chromeos` or `other`.
    pub platform: String,
    pub client_version: Option<String>,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub last_ip: Option<String>,
    pub last_country: Option<String>,
    /// The device this request comes from.
    pub current: bool,
    /// It has a session that has not ended or expired.
    pub signed_in: bool,
    /// It holds one of the account's places under the device limit
    /// (signed in, or used within `device_limit_window_days`).
    pub holds_place: bool,
    /// Four characters that tell devices of the same name apart
    /// ("Chrome on Linux · 3F9A"); stable for the device, derived from its
    /// key by a one-way hash, so they say nothing about the key.
    pub short_id: String,
}

/// What the device-limit rule weighs of a device.
pub fn device_use(d: &Device) -> koban_policy::device::DeviceUse {
    koban_policy::device::DeviceUse {
        signed_in: d.signed_in,
        last_seen_ms: d.last_seen_at,
    }
}

/// The window of [`koban_policy::device::holds_place`] from the configuration.
pub fn place_window_ms(config: &crate::config::Config) -> i64 {
    config.device_limit_window_days.max(0) * 24 * 3_600_000
}

/// [`list`], each device marked with whether it holds a place under the
/// device limit: what the security center shows and the sign-in decides by.
pub async fn list_counted(
    store: &Store,
    config: &crate::config::Config,
    account_id: i64,
    current: Option<i64>,
) -> Result<Vec<Device>, StoreError> {
    let mut devices = list(store, account_id, current).await?;
    let now = now_ms();
    let window = place_window_ms(config);
    for d in &mut devices {
        d.holds_place = koban_policy::device::holds_place(device_use(d), now, window);
    }
    Ok(devices)
}

/// What is known of a device at sign-in.
#[derive(Debug, Clone)]
pub struct DeviceSpec {
    pub key_hash: String,
    pub name: String,
    pub platform: String,
    pub client_version: Option<String>,
    pub ip: String,
    pub country: Option<String>,
}

/// Unbinds a device and ends its sessions in one transaction. False when
/// the account has no such device.
pub async fn remove(
    store: &Store,
    account_id: i64,
    device_id: i64,
    ip: Option<&str>,
    why: &str,
) -> Result<bool, StoreError> {
    let mut change = store.change().await?;
    let removed = remove_in(&mut change.tx, account_id, device_id, ip, why).await?;
    change.commit().await?;
    Ok(removed)
}

/// A device name as the owner typed it, trimmed; the reason code when it
/// is empty, too long or carries hidden characters.
pub fn check_name(name: &str) -> Result<&str, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("empty");
    }
    if name.chars().count() > koban_policy::device::MAX_NAME_CHARS {
        return Err("too_long");
    }
    koban_policy::text::check_visible(name, false).map_err(|_| "hidden_character")?;
    Ok(name)
}

/// Freezes (`reason` given) or unfreezes one bound device of the account,
/// or all of them, inside the caller's change: what an organization's
/// administrators do to a member's devices. Freezing ends the devices'
/// sessions at once, and sign-in from them is refused until they are
/// unfrozen; each change is on the account's timeline. Returns the names
/// of the devices changed.
pub async fn set_frozen_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account_id: i64,
    device_id: Option<i64>,
    reason: Option<&str>,
) -> Result<Vec<String>, crate::store::StoreError> {
    crate::security::store::devices::set_frozen_in(tx, account_id, device_id, reason).await
}
