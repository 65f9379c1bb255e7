//! Lifting a lock: the owner with a code or a passkey, or support after
//! verifying who is asking.

use super::*;

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
    crate::security::recovery::send_unlock_code(&app, &identifier, ctx.lang).await?;
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
        crate::security::recovery::passkey_options(&app, &identifier).await?,
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
    fn proof(&self) -> Result<crate::security::recovery::Proof<'_>, Problem> {
        use crate::security::recovery::Proof;
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
    crate::security::recovery::unlock(
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
    #[schema(schema_with = crate::security::recovery::verification_reference_schema)]
    pub verification_reference: String,
    /// Why, required.
    #[schema(schema_with = crate::security::recovery::reason_schema)]
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
    use crate::security::recovery::SupportAction;
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
    crate::security::recovery::perform(
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
