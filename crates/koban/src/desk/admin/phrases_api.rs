//! The API for the phrases desk admins add to triage (see
//! [`crate::desk::admin::phrases`]).

use crate::desk::admin::phrases::{self as triage_phrases, NewTriagePhrase, TriagePhrase};
use crate::http::auth::{Staff, ADMIN, SUPERVISOR};
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

/// Every phrase desk admins added, removed ones included, oldest first (supervisors).
#[utoipa::path(get, path = "/api/v1/desk/triage/phrases", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<TriagePhrase>), (status = 401), (status = 403)))]
pub async fn list(
    State(app): State<Arc<App>>,
    _supervisor: Staff<SUPERVISOR>,
) -> Result<Json<Vec<TriagePhrase>>, Problem> {
    Ok(Json(triage_phrases::list(&app).await?))
}

/// Adds a phrase to triage's rule layer (desk admins).
#[utoipa::path(post, path = "/api/v1/desk/triage/phrases", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    request_body = NewTriagePhrase,
    responses((status = 201, body = TriagePhrase), (status = 401), (status = 403),
        (status = 422, description = "unknown target, a phrase that does not read, a weight out of range, a duplicate, or too many phrases")))]
pub async fn add(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiJson(input): ApiJson<NewTriagePhrase>,
) -> Result<(StatusCode, Json<TriagePhrase>), Problem> {
    let added = triage_phrases::add(&app, admin.account_id(), &input).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// Removes a phrase from triage (desk admins); the record stays.
#[utoipa::path(delete, path = "/api/v1/desk/triage/phrases/{id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Phrase id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404, description = "no such live phrase"), (status = 422)))]
pub async fn remove(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Problem> {
    triage_phrases::remove(&app, admin.account_id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
