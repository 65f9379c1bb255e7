//! Member security onboarding: a member's own checklist, and the progress
//! administrators follow.

use crate::enterprise::onboarding::{self as service, Checklist, MemberProgress};
use crate::http::auth::SignedIn;
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::{request_lang, Problem};
use crate::state::App;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use std::sync::Arc;

/// The caller's own security checklist in the organization, with its
/// security notice in the caller's language when none was written.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/onboarding/me", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 200, body = Checklist), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn mine(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    headers: HeaderMap,
    ApiPath(org): ApiPath<i64>,
) -> Result<Json<Checklist>, Problem> {
    let lang = request_lang(&headers);
    Ok(Json(
        service::mine(&app, who.account_id(), org, lang).await?,
    ))
}

/// Marks `devices_reviewed` or `security_notice` (the current version)
/// done. The other items are done in the account's security settings.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/onboarding/me/{item}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"),
        ("item" = String, Path, description = "`devices_reviewed` or `security_notice`")),
    responses((status = 200, body = Checklist), (status = 401), (status = 403),
        (status = 404, description = "no such organization or item"),
        (status = 409, description = "an item done in the security settings, not here")))]
pub async fn acknowledge(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    headers: HeaderMap,
    ApiPath((org, item)): ApiPath<(i64, String)>,
) -> Result<Json<Checklist>, Problem> {
    let lang = request_lang(&headers);
    Ok(Json(
        service::acknowledge(&app, who.account_id(), org, &item, lang).await?,
    ))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ProgressQuery {
    /// Only members who have not finished.
    #[serde(default)]
    pub incomplete: bool,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Every member's onboarding progress (`devices.read`).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/onboarding", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ProgressQuery),
    responses((status = 200, body = Page<MemberProgress>), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn progress(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ProgressQuery>,
) -> Result<Json<Page<MemberProgress>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .bounds()?;
    let rows =
        service::progress(&app, who.account_id(), org, query.incomplete, before, limit).await?;
    Ok(Json(page(rows, limit, |m| m.account_id)))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeBody {
    /// Plain text, 1 to 5,000 characters; line breaks kept.
    #[schema(min_length = 1, max_length = 5000)]
    pub body: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NoticeVersion {
    /// Members who read an older version must read this one.
    pub version: i64,
}

/// Writes the organization's security notice (`policies.manage`); every
/// member must read the new version.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/security-notice", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    request_body = NoticeBody,
    responses((status = 200, body = NoticeVersion), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn set_notice(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiJson(input): ApiJson<NoticeBody>,
) -> Result<Json<NoticeVersion>, Problem> {
    let version = service::set_notice(&app, who.account_id(), org, &input.body).await?;
    Ok(Json(NoticeVersion { version }))
}
