//! The announcements API: anyone reads the current ones; desk supervisors
//! and admins write, publish, withdraw and push them (the desk's staff
//! convention: signed out 401, anyone else 403).

use super::service::{self, Input, Localized};
use super::store::{Announcement, Change, TextRow};
use crate::http::auth::{Staff, SUPERVISOR};
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use koban_policy::announce::{self, Status};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(current, create))
        .routes(routes!(all))
        .routes(routes!(show, edit))
        .routes(routes!(publish))
        .routes(routes!(withdraw))
        .routes(routes!(push))
}

/// Whom the current announcements are for.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CurrentQuery {
    /// `en`, `zh-CN`, `zh-TW`, `ja` or `th`; else the `Accept-Language` header.
    pub lang: Option<String>,
    /// ISO 3166 alpha-2: adds the announcements for that region to those for everywhere.
    pub region: Option<String>,
}

/// The announcements current now, in the reader's language (else English,
/// else another). Public.
#[utoipa::path(get, path = "/api/v1/announcements", tag = "announcements", security(()),
    params(CurrentQuery),
    responses((status = 200, body = Vec<Localized>),
        (status = 422, description = "an unknown language or region")))]
pub async fn current(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<CurrentQuery>,
) -> Result<Json<Vec<Localized>>, Problem> {
    let lang = match query.lang.as_deref() {
        Some(tag) => {
            announce::parse_lang(tag).ok_or_else(|| Problem::field("lang", "unknown_language"))?
        }
        None => crate::http::problem::request_lang(&headers).tag(),
    };
    let region = match query.region.as_deref() {
        Some(code) => Some(
            announce::parse_region(code)
                .ok_or_else(|| Problem::field("region", "unknown_region"))?,
        ),
        None => None,
    };
    Ok(Json(service::current(&app, lang, region.as_deref()).await?))
}

/// An announcement as an editor writes it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementInput {
    /// `service_status`, `security` or `maintenance`.
    pub kind: String,
    /// Title (1–200 characters) and Markdown body (at most 20,000) by
    /// language: `en`, `zh-CN`, `zh-TW`, `ja`, `th`; at least one.
    pub texts: BTreeMap<String, TextRow>,
    /// ISO 3166 alpha-2 codes (at most 60); none means everywhere.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Milliseconds since the epoch.
    pub starts_at: i64,
    /// After `starts_at`; none means until withdrawn.
    pub ends_at: Option<i64>,
    /// On an edit: the version read; a save over a newer one is refused (409).
    pub version: Option<i64>,
}

impl AnnouncementInput {
    fn input(self) -> Input {
        Input {
            kind: self.kind,
            texts: self.texts,
            regions: self.regions,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }
}

/// Creates a draft announcement. Supervisors and admins.
#[utoipa::path(post, path = "/api/v1/announcements", tag = "announcements",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = AnnouncementInput,
    responses((status = 201, body = Announcement), (status = 401), (status = 403),
        (status = 409, description = "a retry while the first is still running"),
        (status = 422, description = "a field is refused: see `errors`")))]
pub async fn create(
    State(app): State<Arc<App>>,
    Staff(who): Staff<SUPERVISOR>,
    ApiJson(input): ApiJson<AnnouncementInput>,
) -> Result<(StatusCode, Json<Announcement>), Problem> {
    let created = service::create(&app, who.account_id(), &input.input()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Every announcement, newest first, drafts and withdrawn ones included
/// (the latest 200). Supervisors and admins.
#[utoipa::path(get, path = "/api/v1/announcements/all", tag = "announcements",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<Announcement>), (status = 401), (status = 403)))]
pub async fn all(
    State(app): State<Arc<App>>,
    _editor: Staff<SUPERVISOR>,
) -> Result<Json<Vec<Announcement>>, Problem> {
    Ok(Json(service::all(&app).await?))
}

/// An announcement with its change log.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Detail {
    pub announcement: Announcement,
    /// Every change, oldest first: who, when, what.
    pub changes: Vec<Change>,
    /// How many accounts the notice was pushed to.
    pub recipients: i64,
}

/// One announcement with every change to it. Supervisors and admins.
#[utoipa::path(get, path = "/api/v1/announcements/{id}", tag = "announcements",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Announcement id")),
    responses((status = 200, body = Detail), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn show(
    State(app): State<Arc<App>>,
    _editor: Staff<SUPERVISOR>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Detail>, Problem> {
    let (announcement, changes, recipients) = service::show(&app, id).await?;
    Ok(Json(Detail {
        announcement,
        changes,
        recipients,
    }))
}

/// Rewrites an announcement (a published one stays published; a withdrawn
/// one is finished: 409). Supervisors and admins.
#[utoipa::path(put, path = "/api/v1/announcements/{id}", tag = "announcements",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Announcement id")),
    request_body = AnnouncementInput,
    responses((status = 200, body = Announcement), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "changed meanwhile, or withdrawn"),
        (status = 422, description = "a field is refused: see `errors`")))]
pub async fn edit(
    State(app): State<Arc<App>>,
    Staff(who): Staff<SUPERVISOR>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AnnouncementInput>,
) -> Result<Json<Announcement>, Problem> {
    let version = input.version;
    Ok(Json(
        service::edit(&app, who.account_id(), id, version, &input.input()).await?,
    ))
}

/// Publishes an announcement: shown from its start to its end. Supervisors and admins.
#[utoipa::path(post, path = "/api/v1/announcements/{id}/publish", tag = "announcements",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Announcement id")),
    responses((status = 200, body = Announcement), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "withdrawn"), (status = 422)))]
pub async fn publish(
    State(app): State<Arc<App>>,
    Staff(who): Staff<SUPERVISOR>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Announcement>, Problem> {
    Ok(Json(
        service::set_status(&app, who.account_id(), id, None, Status::Published).await?,
    ))
}

/// Withdraws an announcement: no longer shown, and no longer changed. Supervisors and admins.
#[utoipa::path(post, path = "/api/v1/announcements/{id}/withdraw", tag = "announcements",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Announcement id")),
    responses((status = 200, body = Announcement), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "already withdrawn"), (status = 422)))]
pub async fn withdraw(
    State(app): State<Arc<App>>,
    Staff(who): Staff<SUPERVISOR>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Announcement>, Problem> {
    Ok(Json(
        service::set_status(&app, who.account_id(), id, None, Status::Withdrawn).await?,
    ))
}

/// Pushes a published security notice to the security reminders of the
/// accounts in its regions (every account for a notice without regions), by
/// a job; pushing again adds only accounts not yet reached. Supervisors and admins.
#[utoipa::path(post, path = "/api/v1/announcements/{id}/push", tag = "announcements",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Announcement id")),
    responses((status = 202, body = Announcement), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "not a published security notice"), (status = 422)))]
pub async fn push(
    State(app): State<Arc<App>>,
    Staff(who): Staff<SUPERVISOR>,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<Announcement>), Problem> {
    let pushed = service::push(&app, who.account_id(), id).await?;
    Ok((StatusCode::ACCEPTED, Json(pushed)))
}
