//! Access reviews (`access.review` for every operation).

use crate::enterprise::reviews::{self as service, AccessEntry, Overview};
use crate::enterprise::store::reviews::{ItemRow, ReviewRow};
use crate::http::auth::SignedIn;
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct AccessQuery {
    /// Only members whose access needs a look (inactive for 90 days, or an
    /// administrator without two-step verification).
    #[serde(default)]
    pub marked: bool,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Members × roles × last activity × two-step verification × devices,
/// with what needs a look marked.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/access", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), AccessQuery),
    responses((status = 200, body = Page<AccessEntry>), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn access(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(query): ApiQuery<AccessQuery>,
) -> Result<Json<Page<AccessEntry>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .bounds()?;
    let rows =
        service::access_page(&app, who.account_id(), org, before, limit, query.marked).await?;
    Ok(Json(page(rows, limit, |e| e.account_id)))
}

/// How often reviews fall due, the review in progress and the latest ones.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/access-reviews", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 200, body = Overview), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn overview(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
) -> Result<Json<Overview>, Problem> {
    Ok(Json(service::overview(&app, who.account_id(), org).await?))
}

/// Starts a review: everyone's access as it is now, each member to be
/// kept or revoked by a reviewer.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/access-reviews", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 201, body = ReviewRow), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "a review is in progress already")))]
pub async fn start(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
) -> Result<(StatusCode, Json<ReviewRow>), Problem> {
    let review = service::start(&app, who.account_id(), org).await?;
    Ok((StatusCode::CREATED, Json(review)))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Days between reviews, 7 to 365.
    #[schema(minimum = 7, maximum = 365)]
    pub every_days: i64,
}

/// Sets how often reviews fall due; owners are reminded when one is.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/access-review-schedule", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    request_body = Schedule,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn set_schedule(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiJson(input): ApiJson<Schedule>,
) -> Result<StatusCode, Problem> {
    service::set_schedule(&app, who.account_id(), org, input.every_days).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A review with how many of its members are decided, kept and revoked.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/access-reviews/{review}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("review" = i64, Path, description = "Review id")),
    responses((status = 200, body = ReviewRow), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn show(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, review)): ApiPath<(i64, i64)>,
) -> Result<Json<ReviewRow>, Problem> {
    Ok(Json(
        service::show(&app, who.account_id(), org, review).await?,
    ))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ItemsQuery {
    /// Only members not decided yet.
    #[serde(default)]
    pub undecided: bool,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The members of a review: their roles and marks when it began, and the
/// decision on each.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/access-reviews/{review}/members", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("review" = i64, Path, description = "Review id"), ItemsQuery),
    responses((status = 200, body = Page<ItemRow>), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn members(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, review)): ApiPath<(i64, i64)>,
    ApiQuery(query): ApiQuery<ItemsQuery>,
) -> Result<Json<Page<ItemRow>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .bounds()?;
    let rows = service::items(
        &app,
        who.account_id(),
        org,
        review,
        query.undecided,
        before,
        limit + 1,
    )
    .await?;
    Ok(Json(page(rows, limit, |i| i.account_id)))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `keep` or `revoke`.
    #[schema(pattern = "^(keep|revoke)$")]
    pub decision: String,
    /// Why, up to 1,000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Decides on one member's access (again, until the sign-off). Nobody
/// decides on their own access while another reviewer could.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/access-reviews/{review}/members/{account}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("review" = i64, Path, description = "Review id"),
        ("account" = i64, Path, description = "The member's account id")),
    request_body = DecisionBody,
    responses((status = 200, body = ItemRow), (status = 401),
        (status = 403, description = "no access.review, or the caller's own access"),
        (status = 404, description = "no such review, or the member is not in it"),
        (status = 409, description = "the review was signed off"), (status = 422)))]
pub async fn decide(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, review, account)): ApiPath<(i64, i64, i64)>,
    ApiJson(input): ApiJson<DecisionBody>,
) -> Result<Json<ItemRow>, Problem> {
    let item = service::decide(
        &app,
        who.account_id(),
        org,
        review,
        account,
        &input.decision,
        input.note.as_deref(),
    )
    .await?;
    Ok(Json(item))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOffBody {
    /// Up to 1,000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// The signed-off review and the members it decided to revoke.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SignedOff {
    pub review: ReviewRow,
    /// Account ids to remove or suspend through the members' operations.
    pub to_revoke: Vec<i64>,
}

/// Signs a review off once every member is decided; the sign-off and the
/// members to revoke go into the audit log.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/access-reviews/{review}/sign-off", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("review" = i64, Path, description = "Review id")),
    request_body = SignOffBody,
    responses((status = 200, body = SignedOff), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "members are undecided, or it was signed off already"), (status = 422)))]
pub async fn sign_off(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, review)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<SignOffBody>,
) -> Result<Json<SignedOff>, Problem> {
    let (review, to_revoke) =
        service::sign_off(&app, who.account_id(), org, review, input.note.as_deref()).await?;
    Ok(Json(SignedOff { review, to_revoke }))
}
