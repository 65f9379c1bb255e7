//! Devices, sessions and what happened on the account: the owner's view
//! of where the account is signed in.

use super::*;

/// The account's bound devices, the current one marked.
#[utoipa::path(get, path = "/api/v1/me/devices", tag = "security", security(("bearer" = []), ("session_cookie" = [])), responses((status = 200, body = Vec<Device>), (status = 401)))]
pub async fn list_devices(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<Vec<Device>>, Problem> {
    Ok(Json(
        devices::list_counted(
            &app.store,
            &app.config,
            current.account.id,
            current.device_id,
        )
        .await
        .map_err(AccountError::from)?,
    ))
}

/// A new name for a device.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRename {
    #[schema(schema_with = crate::http::openapi::schemas::name)]
    pub name: String,
}

/// Renames a device.
#[utoipa::path(patch, path = "/api/v1/me/devices/{id}", tag = "security", security(("bearer" = []), ("session_cookie" = [])), request_body = DeviceRename,
    params(crate::security::client::ClientHeaders, ("id" = i64, Path, description = "Device id")), responses((status = 204), (status = 404), (status = 422)))]
pub async fn rename_device(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DeviceRename>,
) -> Result<StatusCode, Problem> {
    let name = devices::check_name(&input.name).map_err(|code| Problem::field("name", code))?;
    if !devices::rename(
        &app.store,
        current.account.id,
        id,
        name,
        Some(&ctx.ip.to_string()),
    )
    .await
    .map_err(AccountError::from)?
    {
        return Err(Problem::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a device; its sessions end at once. Removing the last device needs a fresh step-up.
#[utoipa::path(delete, path = "/api/v1/me/devices/{id}", tag = "security", security(("bearer" = []), ("session_cookie" = [])),
    params(crate::security::client::ClientHeaders, ("id" = i64, Path, description = "Device id")), responses((status = 204), (status = 403, description = "step-up required"), (status = 404)))]
pub async fn remove_device(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Problem> {
    let bound = devices::list(&app.store, current.account.id, current.device_id)
        .await
        .map_err(AccountError::from)?;
    if !bound.iter().any(|d| d.id == id) {
        return Err(Problem::not_found());
    }
    if bound.len() == 1 {
        totp::require_step_up(&current)?;
    }
    devices::remove(
        &app.store,
        current.account.id,
        id,
        Some(&ctx.ip.to_string()),
        "removed by owner",
    )
    .await
    .map_err(AccountError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many sessions ended.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    pub sessions_ended: u64,
}

/// Signs out every other device and session; this one stays.
#[utoipa::path(post, path = "/api/v1/me/devices/sign-out-others", tag = "security", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = SessionsEnded)))]
pub async fn sign_out_others(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<SessionsEnded>, Problem> {
    let sessions_ended =
        crate::accounts::sessions::revoke_all(&app, current.account.id, Some(current.session_id))
            .await?;
    Ok(Json(SessionsEnded { sessions_ended }))
}

/// The account's sign-in attempts, newest first.
#[utoipa::path(get, path = "/api/v1/me/login-history", tag = "security", security(("bearer" = []), ("session_cookie" = [])), params(PageQuery),
    responses((status = 200, body = Page<AttemptView>), (status = 401)))]
pub async fn login_history(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<AttemptView>>, Problem> {
    history::attempts(&app, current.account.id, &q)
        .await
        .map(Json)
}

/// The account's security timeline, newest first.
#[utoipa::path(get, path = "/api/v1/me/security-events", tag = "security", security(("bearer" = []), ("session_cookie" = [])), params(PageQuery),
    responses((status = 200, body = Page<EventView>), (status = 401)))]
pub async fn security_events(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<EventView>>, Problem> {
    history::events(&app.store, current.account.id, &q)
        .await
        .map(Json)
}
