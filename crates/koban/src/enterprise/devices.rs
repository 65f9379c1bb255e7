//! Members' devices for administrators: freezing one device or all of a
//! member's (their sessions end at once, and sign-in from them is refused
//! until unfrozen), with a reason the member is told.

use super::access::{self, account_ref};
use super::store;
use super::EnterpriseError;
use crate::state::App;
use koban_policy::org::roles::{self as rules, Permission};
use serde_json::json;
use store::devices::MemberDevice;

/// Members' bound devices (of one member when `account` is given), ids
/// below `before`, newest first, at most `limit` (`devices.read`).
pub async fn list(
    app: &App,
    actor: i64,
    org_id: i64,
    account: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<MemberDevice>, EnterpriseError> {
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ReadDevices)?;
    Ok(store::devices::list(app.store.read(), org_id, account, before, limit).await?)
}

/// Delivery purpose of the message telling a member of a freeze.
pub const NOTICE_PURPOSE: &str = "device_frozen_notice";

/// Freezes (`reason` given) or unfreezes a member's device, or all of
/// their devices when `device_id` is None. Returns the devices changed.
pub async fn set_frozen(
    app: &App,
    actor: i64,
    org_id: i64,
    account_id: i64,
    device_id: Option<i64>,
    reason: Option<&str>,
) -> Result<Vec<String>, EnterpriseError> {
    let reason = match reason.map(str::trim) {
        Some("") => return Err(EnterpriseError::field("reason", "required")),
        Some(r) if r.chars().count() > 500 || r.chars().any(char::is_control) => {
            return Err(EnterpriseError::field("reason", "invalid_value"))
        }
        other => other,
    };
    let (mut change, me, customs) = access::change_in(app, org_id, actor).await?;
    let target = store::members::find(&mut *change.tx, org_id, account_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    rules::may_manage_devices(me.permissions, &access::resolve(&target.roles, &customs))?;
    let changed =
        crate::security::devices::set_frozen_in(&mut change.tx, account_id, device_id, reason)
            .await?;
    if changed.is_empty() {
        // No such device of this member, or nothing to change: say so
        // rather than record an action that did nothing.
        return Err(match device_id {
            Some(_) => EnterpriseError::NotFound,
            None => EnterpriseError::Conflict("org-no-devices-to-change"),
        });
    }
    let (action, notice) = match reason {
        Some(_) => ("device.frozen", "device-frozen"),
        None => ("device.unfrozen", "device-unfrozen"),
    };
    let args = [
        ("organization", me.org.name.clone()),
        ("devices", changed.join(", ")),
        ("reason", reason.unwrap_or("").to_string()),
    ];
    super::notify::queue(
        app,
        &mut change.tx,
        account_id,
        NOTICE_PURPOSE,
        notice,
        &args,
    )
    .await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        action,
        &account_ref(account_id),
        json!({ "devices": changed, "device_id": device_id, "reason": reason }),
    )
    .await?;
    change.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(changed)
}
