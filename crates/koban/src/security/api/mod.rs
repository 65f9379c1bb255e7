//! The security center's JSON API: sign-in steps, devices, history, 2FA,
//! step-up and unlock. The sign-in steps are here; the rest is in the files
//! beside this one, a topic each, and re-exported so routes name `api::x`.

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

mod activity;
mod contacts;
mod two_factor;
mod unlock;
mod webauthn;

pub use activity::*;
pub use contacts::*;
pub use two_factor::*;
pub use unlock::*;
pub use webauthn::*;

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
    /// With `signed_in`: organizations requiring two-step verification
    /// this account has not turned on. After its deadline an organization
    /// refuses the member until they do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub two_factor_required_by: Vec<TwoFactorOwed>,
}

/// An organization's two-step verification requirement still unmet.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TwoFactorOwed {
    pub organization_id: i64,
    pub organization: String,
    /// Milliseconds since the Unix epoch.
    pub deadline: i64,
    /// The deadline has passed.
    pub overdue: bool,
}

impl From<koban_policy::org::policy::TwoFactorOwed> for TwoFactorOwed {
    fn from(owed: koban_policy::org::policy::TwoFactorOwed) -> TwoFactorOwed {
        TwoFactorOwed {
            organization_id: owed.source.organization_id,
            organization: owed.source.organization,
            deadline: owed.deadline_ms,
            overdue: owed.overdue,
        }
    }
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
            two_factor_owed,
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
                two_factor_required_by: two_factor_owed.into_iter().map(Into::into).collect(),
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
                two_factor_required_by: Vec::new(),
            }),
        )
            .into_response(),
        Outcome::DeviceLimit {
            challenge,
            devices,
            limit,
            policy,
        } => {
            let mut problem =
                Problem::new(StatusCode::CONFLICT, "device-limit", "problem-device-limit")
                    .extension("challenge", challenge)
                    .extension("limit", limit)
                    .extension(
                        "devices",
                        serde_json::to_value(&devices).unwrap_or_default(),
                    );
            if let Some(source) = policy {
                // The organization whose policy set a limit below the server's.
                problem = problem
                    .extension("organization_id", source.organization_id)
                    .extension("organization", source.organization)
                    .extension("rule", source.rule.as_str());
            }
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
