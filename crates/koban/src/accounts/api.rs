//! The accounts JSON API.

use super::codes::Purpose;
use super::service::{self, Registered, Registration};
use super::sessions;
use super::Account;
use crate::accounts::sessions::Authenticated;
use crate::http::auth::ClientInfo;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

/// Sign-up.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = Registration,
    responses((status = 201, body = Registered), (status = 409, description = "phone or email already registered"),
              (status = 422, description = "invalid fields"), (status = 429)))]
pub async fn register(
    State(app): State<Arc<App>>,
    ClientInfo(client): ClientInfo,
    ApiJson(input): ApiJson<Registration>,
) -> Result<(StatusCode, Json<Registered>), Problem> {
    let registered = service::register(&app, input, &client).await?;
    Ok((StatusCode::CREATED, Json(registered)))
}

/// Names an account by phone or email.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Phone number or email address.
    #[schema(schema_with = crate::http::openapi::schemas::identifier)]
    pub identifier: String,
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
    /// `verify_contact` (default) or `password_reset`.
    pub purpose: Option<CodePurpose>,
    /// Send to the account's `phone` or `email` instead of `identifier`.
    pub via: Option<Via>,
}

choices! {
    /// What a sent code is for.
    pub enum CodePurpose {
        VerifyContact = "verify_contact",
        PasswordReset = "password_reset",
    }
}

choices! {
    /// Which of the account's contacts a code goes to.
    pub enum Via {
        Phone = "phone",
        Email = "email",
    }
}

/// Sends a new verification or reset code. Always 202, whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/codes", tag = "accounts", request_body = CodeRequest,
    responses((status = 202), (status = 422), (status = 429)))]
pub async fn send_code(
    State(app): State<Arc<App>>,
    ClientInfo(client): ClientInfo,
    ApiJson(input): ApiJson<CodeRequest>,
) -> Result<StatusCode, Problem> {
    let identifier = service::parse_login_identifier(&input.identifier, input.region.as_deref())?;
    let purpose = match input.purpose {
        None | Some(CodePurpose::VerifyContact) => Purpose::VerifyContact,
        Some(CodePurpose::PasswordReset) => Purpose::PasswordReset,
    };
    app.limiter
        .check_account(identifier.as_str())
        .map_err(Problem::rate_limited)?;
    service::send_code(
        &app,
        &identifier,
        purpose,
        input.via.map(Via::as_str),
        &client,
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Signs out this session.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), responses((status = 204), (status = 401)))]
pub async fn sign_out(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<StatusCode, Problem> {
    sessions::revoke(&app, current.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signs out every session of the account, this one included.
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), responses((status = 204), (status = 401)))]
pub async fn sign_out_everywhere(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<StatusCode, Problem> {
    sessions::revoke_all(&app, current.account.id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), responses((status = 200, body = Account), (status = 401)))]
pub async fn me(Authenticated(current): Authenticated) -> Json<Account> {
    Json(current.account)
}

/// A password change.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(schema_with = crate::http::openapi::schemas::password)]
    pub current_password: String,
    #[schema(schema_with = crate::http::openapi::schemas::new_password)]
    pub new_password: String,
}

/// Changes the password; every other session ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts", security(("bearer" = []), ("session_cookie" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 401), (status = 422)))]
pub async fn change_password(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiJson(input): ApiJson<PasswordChange>,
) -> Result<StatusCode, Problem> {
    service::change_password(&app, &current, &input.current_password, &input.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password reset with a code from `POST /api/v1/codes` (purpose `password_reset`).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    #[schema(schema_with = crate::http::openapi::schemas::identifier)]
    pub identifier: String,
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
    #[schema(schema_with = crate::http::openapi::schemas::code)]
    pub code: String,
    #[schema(schema_with = crate::http::openapi::schemas::new_password)]
    pub new_password: String,
}

/// Sets a new password with a reset code; every session ends.
#[utoipa::path(post, path = "/api/v1/password-resets", tag = "accounts", request_body = PasswordReset,
    responses((status = 204), (status = 422), (status = 429)))]
pub async fn reset_password(
    State(app): State<Arc<App>>,
    ApiJson(input): ApiJson<PasswordReset>,
) -> Result<StatusCode, Problem> {
    let identifier = service::parse_login_identifier(&input.identifier, input.region.as_deref())?;
    app.limiter
        .check_account(identifier.as_str())
        .map_err(Problem::rate_limited)?;
    service::reset_password(&app, &identifier, &input.code, &input.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
