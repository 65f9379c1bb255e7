//! Members' devices for administrators.

use crate::enterprise::devices as service;
use crate::enterprise::store::devices::MemberDevice;
use crate::http::auth::SignedIn;
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct DevicesQuery {
    /// Only this member's devices.
    pub account: Option<i64>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Members' bound devices with last use, place, client version and any
/// freeze, newest first (`devices.read`).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/devices", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), DevicesQuery),
    responses((status = 200, body = Page<MemberDevice>), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn list(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(query): ApiQuery<DevicesQuery>,
) -> Result<Json<Page<MemberDevice>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    }
    .bounds()?;
    let rows = service::list(
        &app,
        who.account_id(),
        org,
        query.account,
        before,
        limit + 1,
    )
    .await?;
    Ok(Json(page(rows, limit, |d| d.id)))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Freeze {
    /// One device; all of the member's when absent.
    #[serde(default)]
    pub device_id: Option<i64>,
    /// Why, told to the member (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unfreeze {
    /// One device; all of the member's when absent.
    #[serde(default)]
    pub device_id: Option<i64>,
}

/// What changed.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DevicesChanged {
    /// The names of the devices frozen or unfrozen.
    pub devices: Vec<String>,
}

/// Freezes a member's device, or all of them: their sessions end at once,
/// sign-in from them is refused until unfrozen, and the member is told why
/// (`devices.freeze`; not the devices of someone who outranks the caller).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/members/{account}/devices/freeze", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("account" = i64, Path, description = "The member's account id")),
    request_body = Freeze,
    responses((status = 200, body = DevicesChanged), (status = 401), (status = 403),
        (status = 404, description = "no such member or device"),
        (status = 409, description = "nothing to freeze"), (status = 422)))]
pub async fn freeze(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, account)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<Freeze>,
) -> Result<Json<DevicesChanged>, Problem> {
    let devices = service::set_frozen(
        &app,
        who.account_id(),
        org,
        account,
        input.device_id,
        Some(&input.reason),
    )
    .await?;
    Ok(Json(DevicesChanged { devices }))
}

/// Unfreezes a member's device, or all of them (`devices.freeze`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/members/{account}/devices/unfreeze", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("account" = i64, Path, description = "The member's account id")),
    request_body = Unfreeze,
    responses((status = 200, body = DevicesChanged), (status = 401), (status = 403),
        (status = 404, description = "no such member or device"),
        (status = 409, description = "nothing to unfreeze"), (status = 422)))]
pub async fn unfreeze(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, account)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<Unfreeze>,
) -> Result<Json<DevicesChanged>, Problem> {
    let devices =
        service::set_frozen(&app, who.account_id(), org, account, input.device_id, None).await?;
    Ok(Json(DevicesChanged { devices }))
}
