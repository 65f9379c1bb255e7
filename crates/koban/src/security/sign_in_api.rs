//! Signing in through the API: with a password, or by confirming the
//! contact a new account signed up with (which signs the person in).

use crate::accounts::service;
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use std::sync::Arc;

/// A code to confirm a contact.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    #[schema(schema_with = crate::http::openapi::schemas::identifier)]
    pub identifier: String,
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
    /// The 6-digit code.
    #[schema(schema_with = crate::http::openapi::schemas::code)]
    pub code: String,
}

/// Confirms the phone or email with its code, activates the account and signs in.
#[utoipa::path(post, path = "/api/v1/verifications", tag = "accounts",
    params(super::client::ClientHeaders), request_body = Confirmation,
    responses((status = 201, body = super::api::SignInAnswer), (status = 422, description = "wrong, used or expired code")))]
pub async fn confirm(
    State(app): State<Arc<App>>,
    ctx: super::client::ClientContext,
    ApiJson(input): ApiJson<Confirmation>,
) -> Result<axum::response::Response, Problem> {
    let identifier = service::parse_login_identifier(&input.identifier, input.region.as_deref())?;
    app.limiter
        .check_account(identifier.as_str())
        .map_err(Problem::rate_limited)?;
    let account = service::verify_contact_code(&app, &identifier, &input.code).await?;
    // Proving the contact signs the person in on this device, as a sign-in would.
    let spec = super::signin::spec(&ctx);
    let outcome = super::signin::finish(
        &app,
        &account,
        &spec,
        &ctx,
        0,
        &[],
        super::signin::Already::default(),
    )
    .await?;
    Ok(super::api::answer(&app, outcome, &ctx))
}

/// Sign-in credentials.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Phone number or email address.
    #[schema(schema_with = crate::http::openapi::schemas::identifier)]
    pub identifier: String,
    #[schema(schema_with = crate::http::openapi::schemas::region)]
    pub region: Option<String>,
    #[schema(schema_with = crate::http::openapi::schemas::password)]
    pub password: String,
}

/// Signs in; the token goes in `Authorization: Bearer …`. A second factor
/// may be owed (202 with a challenge), or a device may have to be removed
/// first (409 listing the bound devices).
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = Credentials,
    params(super::client::ClientHeaders),
    responses((status = 201, body = super::api::SignInAnswer), (status = 202, body = super::api::SignInAnswer, description = "second factor required"),
              (status = 401, description = "wrong account or password, or sign-in locked"),
              (status = 403, description = "contact not verified yet"), (status = 409, description = "device limit reached"), (status = 429)))]
pub async fn sign_in(
    State(app): State<Arc<App>>,
    ctx: super::client::ClientContext,
    ApiJson(input): ApiJson<Credentials>,
) -> Result<axum::response::Response, Problem> {
    let identifier = service::parse_login_identifier(&input.identifier, input.region.as_deref())?;
    let outcome = super::signin::sign_in(&app, &identifier, &input.password, &ctx).await?;
    Ok(super::api::answer(&app, outcome, &ctx))
}
