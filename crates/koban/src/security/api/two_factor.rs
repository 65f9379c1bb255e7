//! Authenticator-app 2FA, recovery codes and step-up.

use super::*;

/// Starts TOTP enrolment.
#[utoipa::path(post, path = "/api/v1/me/2fa/totp", tag = "security", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = Enrollment), (status = 422, description = "two-factor authentication is already on")))]
pub async fn totp_begin(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<(StatusCode, Json<Enrollment>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(totp::begin(&app, &current).await?),
    ))
}

/// A code from the authenticator app, or a step-up answer.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeAnswer {
    /// For step-up (required there). Ignored when confirming TOTP.
    pub method: Option<SecondFactorMethod>,
    #[schema(schema_with = crate::http::openapi::schemas::any_code)]
    pub code: String,
}

/// The recovery codes, shown once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// Confirms TOTP with a first code; turns 2FA on and returns ten recovery codes.
#[utoipa::path(post, path = "/api/v1/me/2fa/totp/confirm", tag = "security", security(("bearer" = []), ("session_cookie" = [])), request_body = CodeAnswer,
    responses((status = 200, body = RecoveryCodes), (status = 422)))]
pub async fn totp_confirm(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiJson(input): ApiJson<CodeAnswer>,
) -> Result<Json<RecoveryCodes>, Problem> {
    let recovery_codes = totp::confirm(&app, &current, &input.code).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// Turns 2FA off (needs a fresh step-up).
#[utoipa::path(delete, path = "/api/v1/me/2fa", tag = "security",
    params(crate::security::client::ClientHeaders), security(("bearer" = []), ("session_cookie" = [])), responses((status = 204), (status = 403, description = "step-up required"),
              (status = 422, description = "a malformed X-Koban-Device header")))]
pub async fn totp_disable(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
) -> Result<StatusCode, Problem> {
    totp::require_step_up(&current)?;
    totp::disable(
        &app,
        current.account.id,
        Some(&ctx.ip.to_string()),
        "by owner",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the recovery codes (needs a fresh step-up); the old set stops working.
#[utoipa::path(post, path = "/api/v1/me/2fa/recovery-codes", tag = "security",
    params(crate::security::client::ClientHeaders), security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = RecoveryCodes), (status = 403, description = "step-up required"),
              (status = 422, description = "2FA is off, or a malformed X-Koban-Device header")))]
pub async fn recovery_codes(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
) -> Result<Json<RecoveryCodes>, Problem> {
    totp::require_step_up(&current)?;
    if !totp::factors(&app, current.account.id).await?.on() {
        return Err(Problem::field("totp", "not_on_file"));
    }
    let recovery_codes =
        totp::regenerate_recovery_codes(&app, current.account.id, Some(&ctx.ip.to_string()))
            .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// Passes step-up for this session (fresh for 10 minutes).
#[utoipa::path(post, path = "/api/v1/me/step-up", tag = "security", security(("bearer" = []), ("session_cookie" = [])), request_body = CodeAnswer,
    responses((status = 204), (status = 422), (status = 401, description = "second factor locked")))]
pub async fn step_up(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiJson(input): ApiJson<CodeAnswer>,
) -> Result<StatusCode, Problem> {
    let method = input
        .method
        .map(SecondFactorMethod::as_str)
        .ok_or_else(|| Problem::field("method", "required"))?;
    totp::step_up(&app, &current, method, &input.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a step-up code to a verified contact (accounts without 2FA).
#[utoipa::path(post, path = "/api/v1/me/step-up/code", tag = "security", security(("bearer" = []), ("session_cookie" = [])), responses((status = 202), (status = 429)))]
pub async fn step_up_code(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<StatusCode, Problem> {
    totp::send_step_up_code(&app, &current).await?;
    Ok(StatusCode::ACCEPTED)
}
