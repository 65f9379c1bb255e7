//! The API for the verification methods beside the code read back: the
//! verifications of a ticket, a second-factor link, documented answers and
//! a supervisor's decision on them.

use crate::accounts::sessions::{Authenticated, Current};
use crate::desk::store::{self, TicketRow};
use crate::desk::tickets::service::{self, Standing};
use crate::desk::verification::{documented, second_factor};
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

async fn for_agent(app: &App, current: &Current, reference: &str) -> Result<TicketRow, Problem> {
    let (ticket, standing) = service::visible(app, current, reference).await?;
    match standing {
        Standing::Agent => Ok(ticket),
        Standing::Requester => Err(Problem::forbidden()),
    }
}

/// One identity verification on a ticket.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VerificationView {
    pub id: i64,
    /// `code`, `second_factor` or `documented`.
    pub method: String,
    /// `pending`, `passed` or `failed`.
    pub status: String,
    /// Where the code or link went, masked; `documented` for answers.
    pub destination: String,
    /// The agent who started it.
    pub started_by: i64,
    pub started_at: i64,
    /// Who approved or rejected documented answers.
    pub decided_by: Option<i64>,
    pub passed_at: Option<i64>,
    /// Until when a second-factor link can be answered.
    pub expires_at: Option<i64>,
    /// The requester's documented answers: shown to the agent who recorded
    /// them and to supervisors, who decide.
    pub answers: Option<String>,
}

/// `reader` sees documented answers only if they recorded them or may
/// decide on them: they are personal details, not ticket text.
fn view(app: &App, reader: &Current, row: store::VerificationRow) -> VerificationView {
    let destination = match row.method.as_str() {
        "code" => koban_policy::contact::parse_identifier(&row.destination, None)
            .map(|c| c.masked())
            .unwrap_or_else(|_| "***".to_string()),
        _ => row.destination,
    };
    let may_read = row.agent_id == reader.account.id || reader.account.has_role("supervisor");
    let answers = row
        .answers_sealed
        .filter(|_| may_read)
        .and_then(|sealed| app.key.open(documented::ANSWERS_PURPOSE, &sealed))
        .and_then(|plain| String::from_utf8(plain).ok());
    VerificationView {
        id: row.id,
        method: row.method,
        status: row.status,
        destination,
        started_by: row.agent_id,
        started_at: row.created_at,
        decided_by: row.decided_by,
        passed_at: row.passed_at,
        expires_at: row.expires_at,
        answers,
    }
}

/// The ticket's identity verifications, oldest first (agents).
#[utoipa::path(get, path = "/api/v1/desk/tickets/{reference}/verifications", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number")),
    responses((status = 200, body = Vec<VerificationView>), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<Vec<VerificationView>>, Problem> {
    let ticket = for_agent(&app, &current, &reference).await?;
    let rows = store::verifications_of(app.store.read(), ticket.id)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(Json(
        rows.into_iter()
            .map(|row| view(&app, &current, row))
            .collect(),
    ))
}

/// Sends the requester a link to prove the account with its authenticator
/// or a recovery code (agents).
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/verifications/second-factor", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number")),
    responses((status = 201, body = second_factor::LinkSent), (status = 401), (status = 403), (status = 404),
        (status = 422, description = "no account behind the ticket, no second factor, or no contact to send the link to")))]
pub async fn start_second_factor(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
) -> Result<(StatusCode, Json<second_factor::LinkSent>), Problem> {
    let ticket = for_agent(&app, &current, &reference).await?;
    let sent = second_factor::start(&app, &current, &ticket).await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

/// What the requester answered, for a supervisor to judge.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentedAnswers {
    /// What the requester answered and showed, as the agent recorded it.
    #[schema(min_length = 1, max_length = 4000)]
    pub answers: String,
    /// The account's email or phone, when the ticket's requester cannot be
    /// matched to it.
    #[schema(max_length = 320)]
    pub account: Option<String>,
}

/// A verification waiting for a supervisor.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AwaitingApproval {
    pub id: i64,
}

/// Records documented answers for the owner who lost every factor (agents);
/// a supervisor other than the agent decides.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/verifications/documented", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number")),
    request_body = DocumentedAnswers,
    responses((status = 201, body = AwaitingApproval), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn start_documented(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
    ApiJson(input): ApiJson<DocumentedAnswers>,
) -> Result<(StatusCode, Json<AwaitingApproval>), Problem> {
    let ticket = for_agent(&app, &current, &reference).await?;
    let id = documented::start(
        &app,
        &current,
        &ticket,
        &input.answers,
        input.account.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(AwaitingApproval { id })))
}

/// A supervisor's decision on documented answers.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationDecision {
    pub approve: bool,
    /// Why, kept on the ticket.
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Approves or rejects documented answers (supervisors, not the agent who recorded them).
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/verifications/{id}/decision", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number"), ("id" = i64, Path, description = "Verification id")),
    request_body = VerificationDecision,
    responses((status = 204), (status = 401),
        (status = 403, description = "not a supervisor, or the supervisor recorded the answers"),
        (status = 404), (status = 409, description = "already decided"), (status = 422)))]
pub async fn decide(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((reference, id)): ApiPath<(String, i64)>,
    ApiJson(input): ApiJson<VerificationDecision>,
) -> Result<StatusCode, Problem> {
    let ticket = for_agent(&app, &current, &reference).await?;
    documented::decide(
        &app,
        &current,
        &ticket,
        id,
        input.approve,
        input.note.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
