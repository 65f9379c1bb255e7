//! What an agent does about the account behind a ticket, through the API:
//! read its security context, verify its owner, act on it.

use crate::accounts::sessions::{Authenticated, Current};
use crate::desk::tickets::context::SecurityContext;
use crate::desk::tickets::service::{self, Standing};
use crate::desk::verification::{self, Started};
use crate::desk::DeskError;
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::security::client::ClientContext;
use crate::security::recovery::SupportAction;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

/// The ticket for an agent; anyone else gets what a missing ticket gets,
/// or 403 when they may see it but not act (its requester).
async fn for_agent(
    app: &App,
    current: &Current,
    reference: &str,
) -> Result<crate::desk::store::TicketRow, Problem> {
    let (ticket, standing) = service::visible(app, current, reference).await?;
    match standing {
        Standing::Agent => Ok(ticket),
        Standing::Requester => Err(Problem::forbidden()),
    }
}

/// The account's security context, live, and as the requester shared it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ContextAnswer {
    /// Read now, of the account the ticket is about: the requester's own,
    /// the one a verification proved, or else the one whose verified
    /// contact matches the ticket's (see `account_proved`).
    pub live: Option<SecurityContext>,
    /// False while the account is only matched by its contact: the
    /// requester has not proved it yet, so nothing may be done to it.
    pub account_proved: bool,
    /// What the requester consented to share when opening the ticket.
    pub snapshot: Option<SecurityContext>,
}

/// The security context of the account behind the ticket (agents).
#[utoipa::path(get, path = "/api/v1/desk/tickets/{reference}/security-context", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number")),
    responses((status = 200, body = ContextAnswer), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn security_context(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<ContextAnswer>, Problem> {
    let ticket = for_agent(&app, &current, &reference).await?;
    Ok(Json(context_answer(&app, &ticket).await?))
}

/// The security context of the account behind `ticket`, live and as
/// shared (the API and the console page show the same).
pub async fn context_answer(
    app: &App,
    ticket: &crate::desk::store::TicketRow,
) -> Result<ContextAnswer, DeskError> {
    let (account, sealed) = crate::desk::store::security_of(app.store.read(), ticket.id).await?;
    let proved = account.or(ticket.requester_account_id);
    let account = match proved {
        Some(id) => Some(id),
        None => verification::candidate(app, ticket).await?,
    };
    let live = match account {
        Some(id) => Some(crate::desk::tickets::context::read(app, id).await?),
        None => None,
    };
    let snapshot = sealed
        .and_then(|s| {
            app.key
                .open(crate::desk::tickets::context::SNAPSHOT_PURPOSE, &s)
        })
        .and_then(|plain| serde_json::from_slice(&plain).ok());
    Ok(ContextAnswer {
        live,
        account_proved: proved.is_some(),
        snapshot,
    })
}

/// Starts an identity verification: a code to the account's verified contact.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/verifications", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number")),
    responses((status = 201, body = Started), (status = 401), (status = 403), (status = 404), (status = 422), (status = 429)))]
pub async fn start_verification(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
) -> Result<(StatusCode, Json<Started>), Problem> {
    let ticket = for_agent(&app, &current, &reference).await?;
    let started = verification::start(&app, &current, &ticket).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// The code the requester read back.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeReadBack {
    #[schema(schema_with = crate::http::openapi::schemas::code)]
    pub code: String,
}

/// Checks the code the requester read back; the verification passes only if it is right.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/verifications/{id}/check", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number"), ("id" = i64, Path, description = "Verification id")),
    request_body = CodeReadBack,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422), (status = 429)))]
pub async fn check_verification(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((reference, id)): ApiPath<(String, i64)>,
    ApiJson(input): ApiJson<CodeReadBack>,
) -> Result<StatusCode, Problem> {
    let ticket = for_agent(&app, &current, &reference).await?;
    verification::check(&app, &current, &ticket, id, &input.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

choices! {
    /// An action on the account behind a ticket.
    pub enum TicketAction {
        Unlock = "unlock",
        ResetTwoFactor = "reset_two_factor",
        RemoveDevice = "remove_device",
        EndSessions = "end_sessions",
    }
}

/// What to do to the account, and why.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountActionRequest {
    pub action: TicketAction,
    /// For `remove_device`.
    pub device_id: Option<i64>,
    #[schema(schema_with = crate::security::recovery::reason_schema)]
    pub reason: String,
}

/// Acts on the account a passed verification on this ticket proved (within 30 minutes).
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/account-actions", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(crate::security::client::ClientHeaders, ("reference" = String, Path, description = "Reference number")),
    request_body = AccountActionRequest,
    responses((status = 204), (status = 401), (status = 403, description = "not an agent, or no passed verification on this ticket in the last 30 minutes"), (status = 404), (status = 422)))]
pub async fn account_action(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ctx: ClientContext,
    ApiPath(reference): ApiPath<String>,
    ApiJson(input): ApiJson<AccountActionRequest>,
) -> Result<StatusCode, Problem> {
    let ticket = for_agent(&app, &current, &reference).await?;
    let action = match (input.action, input.device_id) {
        (TicketAction::Unlock, _) => SupportAction::Unlock,
        (TicketAction::ResetTwoFactor, _) => SupportAction::ResetTwoFactor,
        (TicketAction::RemoveDevice, Some(device)) => SupportAction::RemoveDevice(device),
        (TicketAction::RemoveDevice, None) => {
            return Err(DeskError::field("device_id", "required").into())
        }
        (TicketAction::EndSessions, _) => SupportAction::EndSessions,
    };
    verification::act(
        &app,
        &current,
        &ticket,
        action,
        &input.reason,
        &ctx.ip.to_string(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
