//! The security center's JSON API: sign-in steps, devices, history, 2FA,
//! step-up and unlock.

use super::client::ClientContext;
use super::devices::{self, Device};
use super::history::{self, AttemptView, EventView};
use super::passkeys::{self, Added, PasskeyOptions, PasskeyView};
use super::signin::{self, Outcome};
use super::totp::{self, Enrollment};
use crate::accounts::sessions::Authenticated;
use crate::accounts::{sessions::NewSession, Account, AccountError};
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// The answer to a sign-in step.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SignInAnswer {
    /// `signed_in` or `second_factor_required`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<NewSession>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_device: Option<bool>,
    /// Token for the next step (`POST /api/v1/sessions/second-factor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// Second factors this account can use: `totp`, `passkey` (see
    /// `/api/v1/sessions/second-factor/passkey/options`), `recovery_code`, `code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<&'static str>>,
    /// A device key made for this client: send it back as `X-Koban-Device`
    /// (apps) or keep the `koban_device` cookie (browsers) to be recognised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// With `second_factor_required` from a new device when every device
    /// place is taken: the limit. After the second factor the answer will
    /// be 409, and a device must be removed (docs/risk.md, "Devices that count").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_limit: Option<i64>,
}

/// Turns a sign-in outcome into its HTTP answer, handing a new device key back.
pub fn answer(app: &App, outcome: Outcome, ctx: &ClientContext) -> Response {
    let device_token = ctx.device_key_is_new.then(|| ctx.device_key.clone());
    let mut response = match outcome {
        Outcome::SignedIn {
            account,
            session,
            device_id,
            new_device,
        } => (
            StatusCode::CREATED,
            Json(SignInAnswer {
                status: "signed_in",
                session: Some(session),
                account: Some(account),
                device_id: Some(device_id),
                new_device: Some(new_device),
                challenge: None,
                methods: None,
                device_token: device_token.clone(),
                device_limit: None,
            }),
        )
            .into_response(),
        Outcome::SecondFactor {
            challenge,
            methods,
            device_limit,
        } => (
            StatusCode::ACCEPTED,
            Json(SignInAnswer {
                status: "second_factor_required",
                session: None,
                account: None,
                device_id: None,
                new_device: None,
                challenge: Some(challenge),
                methods: Some(methods),
                device_token: device_token.clone(),
                device_limit,
            }),
        )
            .into_response(),
        Outcome::DeviceLimit { challenge, devices } => {
            let mut problem =
                Problem::new(StatusCode::CONFLICT, "device-limit", "problem-device-limit")
                    .extension("challenge", challenge)
                    .extension(
                        "devices",
                        serde_json::to_value(&devices).unwrap_or_default(),
                    );
            if let Some(t) = &device_token {
                problem = problem.extension("device_token", t.clone());
            }
            problem.into_response()
        }
    };
    if let Some(token) = device_token {
        crate::web::set_cookie(&mut response, crate::web::device_cookie(app, &token));
    }
    response
}

/// A second factor for a sign-in in progress.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorAnswer {
    pub challenge: String,
    pub method: SecondFactorMethod,
    #[schema(schema_with = crate::http::openapi::schemas::any_code)]
    pub code: String,
}

choices! {
    /// A second factor given as a code.
    pub enum SecondFactorMethod {
        /// From the authenticator app.
        Totp = "totp",
        /// One of the ten recovery codes.
        RecoveryCode = "recovery_code",
        /// Sent to a verified contact.
        Code = "code",
    }
}

/// Finishes a sign-in with a second factor.
#[utoipa::path(post, path = "/api/v1/sessions/second-factor", tag = "security",
    params(crate::security::client::ClientHeaders), request_body = SecondFactorAnswer,
    responses((status = 201, body = SignInAnswer), (status = 409, description = "device limit reached"),
              (status = 401, description = "second factor locked"), (status = 422, description = "wrong code or expired challenge")))]
pub async fn second_factor(
    State(app): State<Arc<App>>,
    ctx: ClientContext,
    ApiJson(input): ApiJson<SecondFactorAnswer>,
) -> Result<Response, Problem> {
    let outcome = signin::second_factor(
        &app,
        &input.challenge,
        input.method.as_str(),
        &input.code,
        &ctx,
    )
    .await?;
    Ok(answer(&app, outcome, &ctx))
}

/// Which device to remove to make room.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceLimitAnswer {
    pub challenge: String,
    pub remove_device_id: i64,
}

/// Finishes a sign-in stopped at the device limit by removing one bound device.
#[utoipa::path(post, path = "/api/v1/sessions/device-limit", tag = "security",
    params(crate::security::client::ClientHeaders), request_body = DeviceLimitAnswer,
    responses((status = 201, body = SignInAnswer), (status = 422)))]
pub async fn device_limit(
    State(app): State<Arc<App>>,
    ctx: ClientContext,
    ApiJson(input): ApiJson<DeviceLimitAnswer>,
) -> Result<Response, Problem> {
    let outcome =
        signin::resolve_device_limit(&app, &input.challenge, input.remove_device_id, &ctx).await?;
    Ok(answer(&app, outcome, &ctx))
}

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

/// Asks for an unlock code.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlockRequest {
    /// Phone number or email address.
    #[schema(schema_with = crate::http::openapi::schemas::identifier)]
    pub identifier: String,
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
}

/// Sends an unlock code to a verified contact of a locked account. Always
/// 202, whether or not the account exists or is locked.
#[utoipa::path(post, path = "/api/v1/unlock", tag = "security",
    params(crate::security::client::ClientHeaders), request_body = UnlockRequest,
    responses((status = 202), (status = 422), (status = 429)))]
pub async fn unlock_code(
    State(app): State<Arc<App>>,
    ctx: ClientContext,
    ApiJson(input): ApiJson<UnlockRequest>,
) -> Result<StatusCode, Problem> {
    let identifier = crate::accounts::service::parse_login_identifier(
        &input.identifier,
        input.region.as_deref(),
    )?;
    app.limiter
        .check_account(identifier.as_str())
        .map_err(Problem::rate_limited)?;
    super::recovery::send_unlock_code(&app, &identifier, ctx.lang).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The options for `navigator.credentials.get()` to unlock an account with
/// a passkey. The same answer, in shape, whether or not the account exists,
/// is locked or has passkeys: `allowCredentials` is always empty, so only a
/// discoverable passkey the browser holds for this site can answer.
#[utoipa::path(post, path = "/api/v1/unlock/passkey/options", tag = "security", request_body = UnlockRequest,
    responses((status = 200, body = PasskeyOptions), (status = 422), (status = 429)))]
pub async fn unlock_passkey_options(
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<UnlockRequest>,
) -> Result<Json<PasskeyOptions>, Problem> {
    let identifier = crate::accounts::service::parse_login_identifier(
        &input.identifier,
        input.region.as_deref(),
    )?;
    app.limiter
        .check_account(identifier.as_str())
        .map_err(Problem::rate_limited)?;
    Ok(Json(
        super::recovery::passkey_options(&app, &identifier).await?,
    ))
}

/// Proof for a self-service unlock.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlockProof {
    #[schema(schema_with = crate::http::openapi::schemas::identifier)]
    pub identifier: String,
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
    /// `code` (default, the unlock code), `totp`, `recovery_code` or
    /// `passkey` (with `ceremony` and `credential` instead of `code`).
    pub method: Option<UnlockMethod>,
    /// The code, for every method but `passkey`.
    #[schema(schema_with = crate::http::openapi::schemas::any_code)]
    pub code: Option<String>,
    /// For `passkey`: from `POST /api/v1/unlock/passkey/options`.
    pub ceremony: Option<String>,
    /// For `passkey`: the browser's answer to `navigator.credentials.get()`.
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
    /// Required when wrong passwords caused the lock.
    #[schema(schema_with = crate::http::openapi::schemas::new_password)]
    pub new_password: Option<String>,
}

choices! {
    /// How a self-service unlock is proved.
    pub enum UnlockMethod {
        /// The unlock code sent to a verified contact.
        Code = "code",
        Totp = "totp",
        RecoveryCode = "recovery_code",
        Passkey = "passkey",
    }
}

impl UnlockProof {
    /// The proof this body carries; a member its method needs is named when missing.
    fn proof(&self) -> Result<super::recovery::Proof<'_>, Problem> {
        use super::recovery::Proof;
        match self.method.unwrap_or(UnlockMethod::Code) {
            UnlockMethod::Passkey => Ok(Proof::Passkey {
                ceremony: self
                    .ceremony
                    .as_deref()
                    .ok_or_else(|| Problem::field("ceremony", "required"))?,
                credential: self
                    .credential
                    .clone()
                    .ok_or_else(|| Problem::field("credential", "required"))?,
            }),
            method => Ok(Proof::Code {
                method: method.as_str(),
                answer: self
                    .code
                    .as_deref()
                    .ok_or_else(|| Problem::field("code", "required"))?,
            }),
        }
    }
}

/// Unlocks a temporarily locked account with a code, a second factor or a
/// passkey. A wrong second factor or passkey counts toward its lock.
#[utoipa::path(post, path = "/api/v1/unlock/confirm", tag = "security",
    params(crate::security::client::ClientHeaders), request_body = UnlockProof,
    responses((status = 204), (status = 401, description = "locked for support, or second factor locked"), (status = 422)))]
pub async fn unlock_confirm(
    State(app): State<Arc<App>>,
    ctx: ClientContext,
    ApiJson(input): ApiJson<UnlockProof>,
) -> Result<StatusCode, Problem> {
    let identifier = crate::accounts::service::parse_login_identifier(
        &input.identifier,
        input.region.as_deref(),
    )?;
    app.limiter
        .check_account(identifier.as_str())
        .map_err(Problem::rate_limited)?;
    super::recovery::unlock(
        &app,
        &identifier,
        input.proof()?,
        input.new_password.as_deref(),
        &ctx.ip.to_string(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account operation performed by support.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportActionRequest {
    pub action: SupportActionKind,
    /// For `remove_device`.
    pub device_id: Option<i64>,
    /// How the owner's identity was verified (ticket and method), required.
    #[schema(schema_with = super::recovery::verification_reference_schema)]
    pub verification_reference: String,
    /// Why, required.
    #[schema(schema_with = super::recovery::reason_schema)]
    pub reason: String,
}

choices! {
    /// What support does to an account.
    pub enum SupportActionKind {
        Unlock = "unlock",
        ResetTwoFactor = "reset_2fa",
        /// Needs `device_id`.
        RemoveDevice = "remove_device",
        EndSessions = "end_sessions",
    }
}

/// Performs an account operation for support; audited with who, why and which verification.
#[utoipa::path(post, path = "/api/v1/support/accounts/{id}/actions", tag = "security", security(("bearer" = []), ("session_cookie" = [])), request_body = SupportActionRequest,
    params(crate::security::client::ClientHeaders, ("id" = i64, Path, description = "Account id")),
    responses((status = 204), (status = 403), (status = 404), (status = 422)))]
pub async fn support_action(
    State(app): State<Arc<App>>,
    crate::http::auth::Staff(agent): crate::http::auth::Staff<{ crate::http::auth::AGENT }>,
    ctx: ClientContext,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SupportActionRequest>,
) -> Result<StatusCode, Problem> {
    use super::recovery::SupportAction;
    let action = match (input.action, input.device_id) {
        (SupportActionKind::Unlock, _) => SupportAction::Unlock,
        (SupportActionKind::ResetTwoFactor, _) => SupportAction::ResetTwoFactor,
        (SupportActionKind::RemoveDevice, Some(device)) => SupportAction::RemoveDevice(device),
        (SupportActionKind::RemoveDevice, None) => {
            return Err(Problem::field("device_id", "required"))
        }
        (SupportActionKind::EndSessions, _) => SupportAction::EndSessions,
    };
    let agent = crate::accounts::sessions::current_of(&agent).ok_or_else(Problem::unauthorized)?;
    super::recovery::perform(
        &app,
        agent,
        id,
        action,
        &input.verification_reference,
        &input.reason,
        &ctx.ip.to_string(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The security reminders that apply to the account now.
#[utoipa::path(get, path = "/api/v1/me/reminders", tag = "security", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<super::reminders::Reminder>), (status = 401)))]
pub async fn reminders(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<Vec<super::reminders::Reminder>>, Problem> {
    Ok(Json(
        super::reminders::current(&app, &current.account).await?,
    ))
}

/// A new phone number or email address.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChange {
    #[schema(schema_with = crate::http::openapi::schemas::phone)]
    pub phone: Option<String>,
    #[schema(schema_with = crate::http::openapi::schemas::email)]
    pub email: Option<String>,
    /// For a phone number without a country code.
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
}

/// Starts changing the phone or email (needs a fresh step-up); a code goes to the new contact.
#[utoipa::path(post, path = "/api/v1/me/contact-changes", tag = "security",
    params(crate::security::client::ClientHeaders), security(("bearer" = []), ("session_cookie" = [])), request_body = ContactChange,
    responses((status = 202), (status = 403, description = "step-up required"), (status = 409), (status = 422)))]
pub async fn contact_change(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiJson(input): ApiJson<ContactChange>,
) -> Result<StatusCode, Problem> {
    use koban_policy::contact::{parse_email, parse_phone};
    let new = match (&input.phone, &input.email) {
        (Some(p), None) => parse_phone(p, input.region.as_deref())
            .map_err(|e| Problem::field("phone", e.code()))?,
        (None, Some(e)) => parse_email(e).map_err(|p| Problem::field("email", p.code()))?,
        (Some(_), Some(_)) => return Err(Problem::field("phone", "one_of_phone_email")),
        (None, None) => return Err(Problem::field("phone", "required")),
    };
    super::contacts::request_change(&app, &current, &new, ctx.lang).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The code sent to the new contact.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChangeConfirmation {
    #[schema(schema_with = crate::http::openapi::schemas::code)]
    pub code: String,
}

/// Finishes the change with the code; the old contacts are told.
#[utoipa::path(post, path = "/api/v1/me/contact-changes/confirm", tag = "security",
    params(crate::security::client::ClientHeaders), security(("bearer" = []), ("session_cookie" = [])), request_body = ContactChangeConfirmation,
    responses((status = 200, body = Account), (status = 409), (status = 422)))]
pub async fn contact_change_confirm(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiJson(input): ApiJson<ContactChangeConfirmation>,
) -> Result<Json<Account>, Problem> {
    let account =
        super::contacts::confirm_change(&app, &current, &input.code, &ctx.ip.to_string(), ctx.lang)
            .await?;
    Ok(Json(account))
}

// ---- Passkeys ------------------------------------------------------------------

/// The account's passkeys, oldest first.
#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "security", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<PasskeyView>), (status = 401)))]
pub async fn list_passkeys(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<Vec<PasskeyView>>, Problem> {
    Ok(Json(passkeys::list(&app, current.account.id).await?))
}

/// Starts registering a passkey (needs a fresh step-up): the options for
/// `navigator.credentials.create()`.
#[utoipa::path(post, path = "/api/v1/me/passkeys/options", tag = "security", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = PasskeyOptions), (status = 401), (status = 403, description = "step-up required"),
              (status = 422, description = "too many passkeys")))]
pub async fn passkey_registration_options(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<PasskeyOptions>, Problem> {
    Ok(Json(passkeys::begin_registration(&app, &current).await?))
}

/// The browser's answer to `navigator.credentials.create()`, and a name.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistrationAnswer {
    /// From the options.
    pub ceremony: String,
    /// A name to tell it apart, such as "Work laptop".
    #[schema(schema_with = crate::http::openapi::schemas::name)]
    pub name: String,
    /// The `PublicKeyCredential`, binary members as base64url strings.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Finishes registering a passkey (needs a fresh step-up). The account's
/// first second factor turns 2FA on and returns ten recovery codes.
#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "security",
    params(crate::security::client::ClientHeaders), security(("bearer" = []), ("session_cookie" = [])), request_body = PasskeyRegistrationAnswer,
    responses((status = 201, body = Added), (status = 403, description = "step-up required"),
              (status = 422, description = "the answer, the ceremony or the name is refused")))]
pub async fn add_passkey(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiJson(input): ApiJson<PasskeyRegistrationAnswer>,
) -> Result<(StatusCode, Json<Added>), Problem> {
    let added = passkeys::finish_registration(
        &app,
        &current,
        &input.ceremony,
        &input.name,
        input.credential,
        Some(&ctx.ip.to_string()),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// A new name for a passkey.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRename {
    #[schema(schema_with = crate::http::openapi::schemas::name)]
    pub name: String,
}

/// Renames a passkey.
#[utoipa::path(patch, path = "/api/v1/me/passkeys/{id}", tag = "security", security(("bearer" = []), ("session_cookie" = [])), request_body = PasskeyRename,
    params(crate::security::client::ClientHeaders, ("id" = i64, Path, description = "Passkey id")), responses((status = 204), (status = 404), (status = 422)))]
pub async fn rename_passkey(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<PasskeyRename>,
) -> Result<StatusCode, Problem> {
    if !passkeys::rename(
        &app,
        current.account.id,
        id,
        &input.name,
        Some(&ctx.ip.to_string()),
    )
    .await?
    {
        return Err(Problem::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a passkey (needs a fresh step-up); removing the last second
/// factor turns 2FA off and the recovery codes stop working.
#[utoipa::path(delete, path = "/api/v1/me/passkeys/{id}", tag = "security", security(("bearer" = []), ("session_cookie" = [])),
    params(crate::security::client::ClientHeaders, ("id" = i64, Path, description = "Passkey id")),
    responses((status = 204), (status = 403, description = "step-up required"), (status = 404)))]
pub async fn remove_passkey(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Problem> {
    passkeys::remove(&app, &current, id, Some(&ctx.ip.to_string())).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A sign-in waiting for its second factor.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRef {
    pub challenge: String,
}

/// The options for `navigator.credentials.get()` to finish a sign-in with a passkey.
#[utoipa::path(post, path = "/api/v1/sessions/second-factor/passkey/options", tag = "security", request_body = ChallengeRef,
    responses((status = 200, body = PasskeyOptions), (status = 422, description = "expired challenge or no passkey")))]
pub async fn passkey_sign_in_options(
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<ChallengeRef>,
) -> Result<Json<PasskeyOptions>, Problem> {
    Ok(Json(signin::passkey_options(&app, &input.challenge).await?))
}

/// The browser's answer to `navigator.credentials.get()` for a sign-in.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInAnswer {
    pub challenge: String,
    /// From the options.
    pub ceremony: String,
    /// The `PublicKeyCredential`, binary members as base64url strings.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Finishes a sign-in with a passkey as the second factor. A wrong passkey
/// counts on the second-factor counter, like a wrong code.
#[utoipa::path(post, path = "/api/v1/sessions/second-factor/passkey", tag = "security",
    params(crate::security::client::ClientHeaders), request_body = PasskeySignInAnswer,
    responses((status = 201, body = SignInAnswer), (status = 409, description = "device limit reached"),
              (status = 401, description = "second factor locked"),
              (status = 422, description = "the passkey, the ceremony or the challenge is refused")))]
pub async fn passkey_second_factor(
    State(app): State<Arc<App>>,
    ctx: ClientContext,
    ApiJson(input): ApiJson<PasskeySignInAnswer>,
) -> Result<Response, Problem> {
    let outcome = signin::second_factor_passkey(
        &app,
        &input.challenge,
        &input.ceremony,
        input.credential,
        &ctx,
    )
    .await?;
    Ok(answer(&app, outcome, &ctx))
}

/// The options for `navigator.credentials.get()` to pass step-up with a passkey.
#[utoipa::path(post, path = "/api/v1/me/step-up/passkey/options", tag = "security", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = PasskeyOptions), (status = 401), (status = 422, description = "no passkey")))]
pub async fn passkey_step_up_options(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<PasskeyOptions>, Problem> {
    Ok(Json(passkeys::begin_step_up(&app, &current).await?))
}

/// The browser's answer to `navigator.credentials.get()` for step-up.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAnswer {
    /// From the options.
    pub ceremony: String,
    /// The `PublicKeyCredential`, binary members as base64url strings.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Passes step-up with a passkey (fresh for 10 minutes).
#[utoipa::path(post, path = "/api/v1/me/step-up/passkey", tag = "security", security(("bearer" = []), ("session_cookie" = [])), request_body = PasskeyAnswer,
    responses((status = 204), (status = 401, description = "second factor locked"),
              (status = 422, description = "the passkey or the ceremony is refused")))]
pub async fn passkey_step_up(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiJson(input): ApiJson<PasskeyAnswer>,
) -> Result<StatusCode, Problem> {
    passkeys::step_up(&app, &current, &input.ceremony, input.credential).await?;
    Ok(StatusCode::NO_CONTENT)
}
