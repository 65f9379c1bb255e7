//! The library's JSON API: canned responses and macros. Agents read them
//! and use them on tickets; desk admins write them.

use crate::accounts::sessions::{Authenticated, Current};
use crate::desk::console::library::{
    self, DeskCannedInput, DeskCannedResponse, DeskMacro, DeskMacroInput,
};
use crate::desk::store::library::Kind;
use crate::desk::tickets::service::{self, Standing};
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

fn at_least(current: &Current, role: &str) -> Result<(), Problem> {
    if current.account.has_role(role) {
        Ok(())
    } else {
        Err(Problem::forbidden())
    }
}

/// Every canned response.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskCannedList {
    pub items: Vec<DeskCannedResponse>,
}

/// Every macro.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskMacroList {
    pub items: Vec<DeskMacro>,
}

/// What was created.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskLibraryCreated {
    pub id: i64,
}

/// A canned response filled for one ticket.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskCannedFilled {
    pub body: String,
}

/// The canned responses (agents).
#[utoipa::path(get, path = "/api/v1/desk/canned-responses", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = DeskCannedList), (status = 401), (status = 403)))]
pub async fn list_canned(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<DeskCannedList>, Problem> {
    at_least(&current, "agent")?;
    let items = library::canned_list(&app).await?;
    Ok(Json(DeskCannedList { items }))
}

/// Adds a canned response (desk admins); the change is recorded with who made it.
#[utoipa::path(post, path = "/api/v1/desk/canned-responses", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    request_body = DeskCannedInput,
    responses((status = 201, body = DeskLibraryCreated), (status = 401), (status = 403),
        (status = 422, description = "empty name or body, a language other than en, zh-CN, zh-TW, ja, th, an unknown {{variable}}, or a name already used")))]
pub async fn create_canned(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiJson(input): ApiJson<DeskCannedInput>,
) -> Result<(StatusCode, Json<DeskLibraryCreated>), Problem> {
    at_least(&current, "admin")?;
    let id = library::save_canned(&app, &current, None, &input).await?;
    Ok((StatusCode::CREATED, Json(DeskLibraryCreated { id })))
}

/// Replaces a canned response (desk admins).
#[utoipa::path(put, path = "/api/v1/desk/canned-responses/{id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Canned response id")),
    request_body = DeskCannedInput,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn update_canned(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DeskCannedInput>,
) -> Result<StatusCode, Problem> {
    at_least(&current, "admin")?;
    library::save_canned(&app, &current, Some(id), &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a canned response (desk admins).
#[utoipa::path(delete, path = "/api/v1/desk/canned-responses/{id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Canned response id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn delete_canned(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Problem> {
    at_least(&current, "admin")?;
    library::delete(&app, &current, Kind::Canned, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The macros (agents).
#[utoipa::path(get, path = "/api/v1/desk/macros", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = DeskMacroList), (status = 401), (status = 403)))]
pub async fn list_macros(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<DeskMacroList>, Problem> {
    at_least(&current, "agent")?;
    let items = library::macro_list(&app).await?;
    Ok(Json(DeskMacroList { items }))
}

/// Adds a macro (desk admins).
#[utoipa::path(post, path = "/api/v1/desk/macros", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    request_body = DeskMacroInput,
    responses((status = 201, body = DeskLibraryCreated), (status = 401), (status = 403),
        (status = 422, description = "empty name, nothing to do, a status agents may not set, an unknown priority, category or {{variable}}, or a name already used")))]
pub async fn create_macro(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiJson(input): ApiJson<DeskMacroInput>,
) -> Result<(StatusCode, Json<DeskLibraryCreated>), Problem> {
    at_least(&current, "admin")?;
    let id = library::save_macro(&app, &current, None, &input).await?;
    Ok((StatusCode::CREATED, Json(DeskLibraryCreated { id })))
}

/// Replaces a macro (desk admins).
#[utoipa::path(put, path = "/api/v1/desk/macros/{id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Macro id")),
    request_body = DeskMacroInput,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn update_macro(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DeskMacroInput>,
) -> Result<StatusCode, Problem> {
    at_least(&current, "admin")?;
    library::save_macro(&app, &current, Some(id), &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a macro (desk admins).
#[utoipa::path(delete, path = "/api/v1/desk/macros/{id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Macro id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn delete_macro(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Problem> {
    at_least(&current, "admin")?;
    library::delete(&app, &current, Kind::Macro, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn agent_ticket(
    app: &App,
    current: &Current,
    reference: &str,
) -> Result<crate::desk::store::TicketRow, Problem> {
    let (ticket, standing) = service::visible(app, current, reference).await?;
    if standing != Standing::Agent {
        return Err(Problem::forbidden());
    }
    Ok(ticket)
}

/// A canned response filled for a ticket, in its language (agents).
#[utoipa::path(get, path = "/api/v1/desk/tickets/{reference}/canned-responses/{id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number"), ("id" = i64, Path, description = "Canned response id")),
    responses((status = 200, body = DeskCannedFilled), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn fill_canned(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((reference, id)): ApiPath<(String, i64)>,
) -> Result<Json<DeskCannedFilled>, Problem> {
    let ticket = agent_ticket(&app, &current, &reference).await?;
    let body = library::use_canned(&app, &current, &ticket, id).await?;
    Ok(Json(DeskCannedFilled { body }))
}

/// Applies a macro to a ticket: its reply, then its fields and tag (agents).
/// When the ticket changed since it was read here, 409 and nothing changes.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/macros/{id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number"), ("id" = i64, Path, description = "Macro id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn apply_macro(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((reference, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, Problem> {
    let ticket = agent_ticket(&app, &current, &reference).await?;
    library::apply_macro(&app, &current, &ticket, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
