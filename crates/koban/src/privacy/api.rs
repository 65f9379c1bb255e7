//! The data-rights API under `/api/v1/me/`: exports (ask, follow,
//! download) and the account's deletion (ask, follow, cancel). Everything
//! is the caller's own: another person's export answers 404.

use super::deletion::{self, PrivacyDeletion};
use super::export::{self, PrivacyExport};
use crate::accounts::sessions::Authenticated;
use crate::http::json::ApiPath;
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(request_export, list_exports))
        .routes(routes!(show_export))
        .routes(routes!(download_export))
        .routes(routes!(request_deletion, show_deletion, cancel_deletion))
}

/// Asks for an archive of everything Koban holds about the caller. While
/// one is queued or being prepared, asking again answers that one (200)
/// instead of starting another.
#[utoipa::path(post, path = "/api/v1/me/exports", tag = "privacy",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 202, description = "A new export, queued", body = PrivacyExport),
        (status = 200, description = "The export already in progress", body = PrivacyExport),
        (status = 401), (status = 409, description = "A retry of the same Idempotency-Key is still running")))]
pub async fn request_export(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<(StatusCode, Json<PrivacyExport>), Problem> {
    let (export, new) = export::request(&app, current.account.id).await?;
    let status = if new {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(export)))
}

/// The caller's exports, newest first (the last 20).
#[utoipa::path(get, path = "/api/v1/me/exports", tag = "privacy",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<PrivacyExport>), (status = 401)))]
pub async fn list_exports(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<Vec<PrivacyExport>>, Problem> {
    Ok(Json(export::list(&app, current.account.id).await?))
}

/// One of the caller's exports: its progress, and its link once ready.
#[utoipa::path(get, path = "/api/v1/me/exports/{id}", tag = "privacy",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Export id")),
    responses((status = 200, body = PrivacyExport), (status = 401),
        (status = 404, description = "No such export of the caller's")))]
pub async fn show_export(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PrivacyExport>, Problem> {
    Ok(Json(export::show(&app, current.account.id, id).await?))
}

/// The archive: one JSON document. Another person's export is 404; one
/// past its link's lifetime is 410 (its bytes are deleted); one still
/// being prepared is 409.
#[utoipa::path(get, path = "/api/v1/me/exports/{id}/download", tag = "privacy",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Export id")),
    responses((status = 200, description = "The archive", content((Object = "application/json"))),
        (status = 401), (status = 404, description = "No such export of the caller's"),
        (status = 409, description = "Not ready yet"),
        (status = 410, description = "The link expired")))]
pub async fn download_export(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, Problem> {
    let bytes = export::archive(&app, current.account.id, id).await?;
    Ok(archive_response(id, bytes))
}

/// The archive as a download named after its export.
pub(super) fn archive_response(id: i64, bytes: bytes::Bytes) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"koban-export-{id}.json\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Asks for the caller's account to be deleted after the grace period
/// (`privacy_deletion_grace_days`); signing in before then cancels it.
/// Needs a fresh step-up (`POST /api/v1/me/step-up`).
#[utoipa::path(post, path = "/api/v1/me/deletion", tag = "privacy",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 202, body = PrivacyDeletion), (status = 401),
        (status = 403, description = "A fresh step-up is required"),
        (status = 409, description = "A deletion is already pending")))]
pub async fn request_deletion(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<(StatusCode, Json<PrivacyDeletion>), Problem> {
    Ok((
        StatusCode::ACCEPTED,
        Json(deletion::request(&app, &current).await?),
    ))
}

/// The caller's newest deletion request (`null` when there was none); a
/// sign-in since it was asked has cancelled it.
#[utoipa::path(get, path = "/api/v1/me/deletion", tag = "privacy",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Option<PrivacyDeletion>), (status = 401)))]
pub async fn show_deletion(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<Option<PrivacyDeletion>>, Problem> {
    Ok(Json(deletion::status(&app, current.account.id).await?))
}

/// Cancels the pending deletion.
#[utoipa::path(delete, path = "/api/v1/me/deletion", tag = "privacy",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = PrivacyDeletion), (status = 401),
        (status = 409, description = "No deletion is pending")))]
pub async fn cancel_deletion(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<PrivacyDeletion>, Problem> {
    Ok(Json(deletion::cancel(&app, current.account.id).await?))
}
