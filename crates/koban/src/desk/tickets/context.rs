//! The account's security context as a ticket carries it: the lock and its
//! reason, recent sign-in attempts, devices, second factors and the
//! security timeline, so the agent does not have to ask. Read live from the
//! security center; a snapshot is kept with the ticket when the requester
//! consented, so it still shows what the requester saw after the lock is gone.

use crate::desk::error::DeskError;
use crate::http::pagination::PageQuery;
use crate::security::devices::Device;
use crate::security::history::{AttemptView, EventView};
use crate::security::{devices, guards, history, totp};
use crate::state::App;
use crate::store::now_ms;

/// What snapshots are sealed for.
pub const SNAPSHOT_PURPOSE: &str = "desk-security-snapshot";

/// How many recent attempts and events the context shows.
pub const RECENT: i64 = 20;
/// How many recent deliveries it shows.
pub const RECENT_DELIVERIES: i64 = 10;

/// A lock in force on the account.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LockView {
    /// Milliseconds since the Unix epoch; absent for a lock only support lifts.
    pub until: Option<i64>,
    pub for_support: bool,
    /// Why the risk engine locked it (`failures`, `stuffing`, …).
    pub cause: Option<String>,
    /// The number the owner was shown, to quote to support.
    pub reference: Option<i64>,
}

/// The account's security context.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SecurityContext {
    pub account_id: i64,
    /// When this was read.
    pub read_at: i64,
    pub lock: Option<LockView>,
    pub two_factor: bool,
    pub passkeys: bool,
    #[schema(value_type = Vec<Object>)]
    pub devices: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub attempts: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    /// The newest messages sent to the account (codes among them), with
    /// their status: what answers "the code never came".
    #[schema(value_type = Vec<Object>)]
    #[serde(default)]
    pub deliveries: Vec<serde_json::Value>,
}

/// Reads the account's security context now.
pub async fn read(app: &App, account_id: i64) -> Result<SecurityContext, DeskError> {
    let now = now_ms();
    let recent = PageQuery {
        cursor: None,
        limit: Some(RECENT),
    };
    let problem = |p: crate::http::problem::Problem| DeskError::Internal(p.message.to_string());
    let lock = guards::lock_in_force(&app.store, account_id, now)
        .await?
        .map(|g| LockView {
            until: g.locked_until,
            for_support: g.locked_for_support,
            cause: g.lock_cause,
            reference: g.lock_reference,
        });
    let factors = totp::factors(app, account_id)
        .await
        .map_err(|e| DeskError::Internal(e.to_string()))?;
    let devices: Vec<Device> = devices::list(&app.store, account_id, None).await?;
    let attempts: Vec<AttemptView> = history::attempts(app, account_id, &recent)
        .await
        .map_err(problem)?
        .items;
    let events: Vec<EventView> = history::events(&app.store, account_id, &recent)
        .await
        .map_err(problem)?
        .items;
    let deliveries =
        crate::delivery::recent_for_account(app, account_id, RECENT_DELIVERIES).await?;
    let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or_default();
    Ok(SecurityContext {
        account_id,
        read_at: now,
        lock,
        two_factor: factors.totp,
        passkeys: factors.passkey,
        devices: devices
            .iter()
            .map(|d| json(serde_json::to_value(d)))
            .collect(),
        attempts: attempts
            .iter()
            .map(|a| json(serde_json::to_value(a)))
            .collect(),
        events: events
            .iter()
            .map(|e| json(serde_json::to_value(e)))
            .collect(),
        deliveries: deliveries
            .iter()
            .map(|d| json(serde_json::to_value(d)))
            .collect(),
    })
}
