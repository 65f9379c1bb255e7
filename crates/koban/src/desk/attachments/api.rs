//! The attachments' JSON API: upload a file for a token, download a
//! ticket's file or its thumbnail, and ask the requester for an identity
//! document.
//!
//! An upload is the file itself as the body, named in the query, as
//! Zendesk's `POST /api/v2/uploads?filename=` takes it: one request per
//! file, no multipart parsing, and a body a foreign page cannot forge
//! (browsers send only forms cross-site, and form types are CSRF-checked).

use crate::accounts::sessions::{self, Authenticated, Current};
use crate::desk::attachments::{self, DeskUploadKind, DeskUploaded};
use crate::desk::store::attachments as rows;
use crate::desk::tickets::service;
use crate::http::auth::{presented_token, ClientInfo};
use crate::http::json::{ApiPath, ApiQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// How an upload is named.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeskUploadQuery {
    /// The file's name as the uploader's system calls it; only its last
    /// path component is kept, and its extension must agree with the content.
    #[param(min_length = 1, max_length = 255)]
    pub filename: String,
    /// `attachment` (the default) or `identity_document`.
    pub kind: Option<DeskUploadKind>,
}

/// Uploads one file (the body is the file). Its type is decided by its
/// content: screenshots (PNG, JPEG, GIF, WebP; re-encoded without metadata),
/// PDF and text logs; executables, scripts and archives are refused, and a
/// name that disagrees with the content too. At most 10 MiB. The token
/// answered is named in `attachments` when opening a ticket or adding a
/// message, once, within an hour.
#[utoipa::path(post, path = "/api/v1/desk/uploads", tag = "desk",
    params(DeskUploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses((status = 201, body = DeskUploaded), (status = 401), (status = 403), (status = 413), (status = 422), (status = 429)))]
pub async fn upload(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ClientInfo(client): ClientInfo,
    ApiQuery(query): ApiQuery<DeskUploadQuery>,
    body: Body,
) -> Result<(StatusCode, Json<DeskUploaded>), Problem> {
    let current = signed_in(&app, &headers).await?;
    // Per client: each upload costs a decode and a write.
    let who = match &current {
        Some(c) => format!("desk-upload:account:{}", c.account.id),
        None => format!("desk-upload:ip:{}", client.ip.as_deref().unwrap_or("")),
    };
    app.limiter
        .check_account(&who)
        .map_err(Problem::rate_limited)?;
    if query.filename.is_empty() || query.filename.chars().count() > 255 {
        return Err(Problem::field("filename", "invalid_value"));
    }
    let kind = query.kind.unwrap_or(DeskUploadKind::Attachment);
    if kind == DeskUploadKind::IdentityDocument && current.is_none() {
        // Only a requester who can be told apart uploads a document.
        return Err(Problem::unauthorized());
    }
    // One byte over the limit is enough to know it is too large.
    let limit = attachments::UPLOAD_BODY_BYTES;
    let bytes = axum::body::to_bytes(body, limit + 1)
        .await
        .map_err(|_| crate::desk::DeskError::TooLarge(limit as u64))?;
    let uploaded = attachments::upload(
        &app,
        current.as_ref().map(|c| c.account.id),
        kind,
        &query.filename,
        bytes,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(uploaded)))
}

async fn signed_in(app: &App, headers: &HeaderMap) -> Result<Option<Current>, Problem> {
    match presented_token(headers) {
        None => Ok(None),
        Some((token, _)) => sessions::authenticate(app, &token)
            .await
            .map(Some)
            .map_err(Problem::from),
    }
}

/// A file on a ticket.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskAttachmentView {
    pub id: i64,
    /// The message it came with.
    pub message_id: Option<i64>,
    /// `attachment` or `identity_document`.
    pub kind: String,
    pub file_name: String,
    pub file_type: String,
    pub size: i64,
    /// Where it is downloaded.
    pub url: String,
    /// A small image for the console, for pictures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// Identity documents: when they are deleted (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_after: Option<i64>,
    pub created_at: i64,
}

/// The files of a ticket that `viewer` may see, as the ticket view lists them.
pub async fn listed(
    app: &App,
    viewer: Option<&Current>,
    ticket: &crate::desk::store::TicketRow,
) -> Result<Vec<DeskAttachmentView>, Problem> {
    let reference = crate::desk::tickets::api::formatted(&ticket.reference).replace('-', "");
    let all = rows::on_ticket(app.store.read(), ticket.id)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(all
        .into_iter()
        .filter(|row| attachments::may_see(row, viewer))
        .map(|row| {
            let url = format!(
                "/api/v1/desk/tickets/{reference}/attachments/{}",
                row.file.id
            );
            DeskAttachmentView {
                id: row.file.id,
                message_id: row.message_id,
                kind: row.file.kind,
                file_name: row.file.file_name,
                file_type: row.file.file_type,
                size: row.file.size,
                thumbnail_url: row
                    .file
                    .thumbnail_key
                    .as_ref()
                    .map(|_| format!("{url}/thumbnail")),
                url,
                delete_after: row.delete_after,
                created_at: row.file.created_at,
            }
        })
        .collect())
}

/// A ticket's files, for whoever may see the ticket.
#[utoipa::path(get, path = "/api/v1/desk/tickets/{reference}/attachments", tag = "desk",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number, with or without separators")),
    responses((status = 200, body = Vec<DeskAttachmentView>), (status = 401), (status = 404), (status = 422)))]
pub async fn list(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<Vec<DeskAttachmentView>>, Problem> {
    let (ticket, _) = service::visible(&app, &current, &reference).await?;
    Ok(Json(listed(&app, Some(&current), &ticket).await?))
}

/// Downloads a file of a ticket: for its requester and agents (an identity
/// document only for the agent who asked for it and supervisors); anyone
/// else gets 404. Always as a download, never shown by the browser as a page.
#[utoipa::path(get, path = "/api/v1/desk/tickets/{reference}/attachments/{id}", tag = "desk",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number, with or without separators"),
        ("id" = i64, Path, description = "The attachment's id")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401), (status = 404), (status = 422)))]
pub async fn download(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((reference, id)): ApiPath<(String, i64)>,
) -> Result<Response, Problem> {
    serve(&app, &current, &reference, id, false).await
}

/// A picture's thumbnail, shown inline by the console.
#[utoipa::path(get, path = "/api/v1/desk/tickets/{reference}/attachments/{id}/thumbnail", tag = "desk",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number, with or without separators"),
        ("id" = i64, Path, description = "The attachment's id")),
    responses((status = 200, description = "The thumbnail", content_type = "image/png", body = Vec<u8>),
        (status = 401), (status = 404), (status = 422)))]
pub async fn thumbnail(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((reference, id)): ApiPath<(String, i64)>,
) -> Result<Response, Problem> {
    serve(&app, &current, &reference, id, true).await
}

/// Answers a file with the headers that keep a browser from running it.
pub async fn serve(
    app: &App,
    current: &Current,
    reference: &str,
    id: i64,
    thumbnail: bool,
) -> Result<Response, Problem> {
    let (ticket, _) = service::visible(app, current, reference).await?;
    let row = rows::one(app.store.read(), ticket.id, id)
        .await
        .map_err(|e| Problem::internal(&e))?
        .filter(|row| attachments::may_see(row, Some(current)))
        .ok_or_else(Problem::not_found)?;
    let bytes = attachments::content(app, &row, thumbnail).await?;
    let disposition = if thumbnail { "inline" } else { "attachment" };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(attachments::served_type(&row.file.file_type)),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&content_disposition(disposition, &row.file.file_name))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266).
fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// An agent asks the requester for an identity document (the
/// lost-everything path); the requester's next upload of kind
/// `identity_document` on this ticket answers it, and only this agent and
/// supervisors may open it.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/document-requests", tag = "desk",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number, with or without separators")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn request_document(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    // Whoever may not see the ticket is told it does not exist; its
    // requester may see it but not ask this.
    let (ticket, standing) = service::visible(&app, &current, &reference).await?;
    if standing != service::Standing::Agent {
        return Err(Problem::forbidden());
    }
    if ticket.status == "closed" {
        return Err(crate::desk::DeskError::Closed.into());
    }
    let now = crate::store::now_ms();
    let mut tx = app
        .store
        .write()
        .begin()
        .await
        .map_err(|e| Problem::internal(&e))?;
    let internal = |e: crate::store::StoreError| Problem::internal(&e);
    rows::insert_document_request(&mut tx, ticket.id, current.account.id, now)
        .await
        .map_err(internal)?;
    crate::desk::store::insert_event(
        &mut tx,
        ticket.id,
        Some(current.account.id),
        "identity_document_requested",
        &serde_json::json!({}),
        now,
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(|e| Problem::internal(&e))?;
    Ok(StatusCode::NO_CONTENT)
}
