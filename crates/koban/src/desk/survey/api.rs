//! The survey's JSON API: answering by link (signed out) or as the signed-in
//! requester, reading a ticket's rating, and the supervisors' report.

use crate::accounts::sessions::Authenticated;
use crate::desk::error::DeskError;
use crate::desk::store::surveys;
use crate::desk::survey::{self, report, Satisfaction};
use crate::desk::tickets::service::{self, Standing};
use crate::http::auth::{Staff, SUPERVISOR};
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use koban_policy::desk::survey::{self as rules, Answerer, May};
use std::sync::Arc;

/// An answer to a survey.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswer {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    #[schema(minimum = 1, maximum = 5)]
    pub score: i64,
    /// What the requester wants to add (at most 2000 characters).
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// The survey a link opens: the ticket it rates and whether it was answered.
/// Unknown and expired links answer 404.
#[utoipa::path(get, path = "/api/v1/desk/surveys/{token}", tag = "desk", security(()),
    params(("token" = String, Path, description = "The token of the survey link")),
    responses((status = 200, body = Satisfaction), (status = 404, description = "no such survey, or its link expired"),
        (status = 422, description = "not the shape of a survey token")))]
pub async fn read_by_link(
    State(app): State<Arc<App>>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<Satisfaction>, Problem> {
    survey::check_token_shape(&token)?;
    let (ticket, row) = survey::by_token(&app, &token).await?;
    Ok(Json(survey::satisfaction(&ticket, Some(&row))))
}

/// Answers a survey through its link: the token is the credential, so
/// the requester need not sign in. One answer per ticket: a second one
/// (even at the same instant) answers 409 and changes nothing.
#[utoipa::path(post, path = "/api/v1/desk/surveys/{token}", tag = "desk", security(()),
    params(("token" = String, Path, description = "The token of the survey link")),
    request_body = SurveyAnswer,
    responses((status = 200, body = Satisfaction), (status = 403, description = "not used: the link is the credential"),
        (status = 404, description = "no such survey, or its link expired"),
        (status = 409, description = "answered already"),
        (status = 422, description = "a score outside 1–5, a comment too long, or not the shape of a survey token")))]
pub async fn answer_by_link(
    State(app): State<Arc<App>>,
    ApiPath(token): ApiPath<String>,
    ApiJson(input): ApiJson<SurveyAnswer>,
) -> Result<Json<Satisfaction>, Problem> {
    survey::check_token_shape(&token)?;
    let (ticket, row) = survey::by_token(&app, &token).await?;
    if rules::may_answer(Answerer::LinkHolder) != May::Yes {
        return Err(DeskError::NotFound.into());
    }
    let answered = survey::answer(
        &app,
        &ticket,
        Some(row),
        input.score,
        input.comment.as_deref(),
        None,
    )
    .await?;
    Ok(Json(answered))
}

/// A ticket's satisfaction survey and its answer: for its requester and
/// for agents.
#[utoipa::path(get, path = "/api/v1/desk/tickets/{reference}/satisfaction", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number, with or without separators")),
    responses((status = 200, body = Satisfaction), (status = 401), (status = 404), (status = 422)))]
pub async fn read(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<Satisfaction>, Problem> {
    let (ticket, _) = service::visible(&app, &current, &reference).await?;
    let row = surveys::of_ticket(app.store.read(), ticket.id)
        .await
        .map_err(DeskError::from)?;
    Ok(Json(survey::satisfaction(&ticket, row.as_ref())))
}

/// Rates a solved ticket, as its requester. Staff get 403; anyone else
/// 404. Before the survey was sent (the ticket is not solved yet) and
/// after an answer: 409, and nothing changes.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/satisfaction", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number, with or without separators")),
    request_body = SurveyAnswer,
    responses((status = 200, body = Satisfaction), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "not solved yet, answered already, or the survey expired"),
        (status = 422, description = "a score outside 1–5, or a comment too long")))]
pub async fn rate(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
    ApiJson(input): ApiJson<SurveyAnswer>,
) -> Result<Json<Satisfaction>, Problem> {
    let answered = rate_ticket(
        &app,
        &current,
        &reference,
        input.score,
        input.comment.as_deref(),
    )
    .await?;
    Ok(Json(answered))
}

/// Rates a ticket for the signed-in caller (the API and the ticket's page).
pub async fn rate_ticket(
    app: &App,
    current: &crate::accounts::sessions::Current,
    reference: &str,
    score: i64,
    comment: Option<&str>,
) -> Result<Satisfaction, DeskError> {
    let (ticket, standing) = service::visible(app, current, reference).await?;
    let who = match standing {
        Standing::Requester => Answerer::Requester,
        Standing::Agent => Answerer::Staff,
    };
    match rules::may_answer(who) {
        May::Yes => {}
        May::Forbidden => return Err(DeskError::Forbidden),
        May::NotFound => return Err(DeskError::NotFound),
    }
    let row = surveys::of_ticket(app.store.read(), ticket.id).await?;
    survey::answer(app, &ticket, row, score, comment, Some(current.account.id)).await
}

/// What a report covers.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD`, in `tz`.
    pub from: String,
    /// Last day (included), `YYYY-MM-DD`, in `tz`; at most 366 days after `from`.
    pub to: String,
    /// `agent`, `team`, `channel` or `category`.
    pub by: Option<String>,
    /// The IANA time zone the days are in; else the `koban_tz` cookie; else UTC.
    pub tz: Option<String>,
}

/// Satisfaction by agent, team, channel or category over the surveys sent
/// in a range of days: counts per score, answered and sent, CSAT (the share
/// of 4 and 5) and the median score. Supervisors.
#[utoipa::path(get, path = "/api/v1/desk/reports/satisfaction", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(ReportQuery),
    responses((status = 200, body = report::Report), (status = 401), (status = 403),
        (status = 422, description = "a date that is not one, a range backwards or over 366 days, an unknown `by` or time zone")))]
pub async fn satisfaction_report(
    State(app): State<Arc<App>>,
    _supervisor: Staff<SUPERVISOR>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Json<report::Report>, Problem> {
    let ask = report::Ask::read(&query, &headers)?;
    Ok(Json(report::report(&app, &ask).await?))
}

/// Every survey sent in the range, one line each, as CSV: cells a
/// spreadsheet would read as a formula are prefixed with `'`. Surveys of
/// tickets whose requester's region must not have its tickets exported
/// (`privacy_regional_rules`, docs/privacy.md) are left out. Supervisors.
#[utoipa::path(get, path = "/api/v1/desk/reports/satisfaction/export", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(ReportQuery),
    responses((status = 200, description = "CSV, one line per survey (none of a region whose tickets must not be exported)", content_type = "text/csv", body = String),
        (status = 401), (status = 403),
        (status = 422, description = "a date that is not one, a range backwards or over 366 days, an unknown `by` or time zone")))]
pub async fn satisfaction_export(
    State(app): State<Arc<App>>,
    _supervisor: Staff<SUPERVISOR>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Response, Problem> {
    let ask = report::Ask::read(&query, &headers)?;
    let csv = report::csv(&app, &ask).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"satisfaction.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}
