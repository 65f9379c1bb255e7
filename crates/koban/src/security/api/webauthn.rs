//! Passkeys over JSON: registering, naming and removing them, and proving
//! with one at sign-in and step-up.

use super::*;

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
