//! Verified email domains, and joining an organization through one.

use crate::enterprise::domains::{self as service, DomainView, Joinable};
use crate::http::auth::SignedIn;
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

/// The organization's email domains (every member).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/domains", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 200, body = Vec<DomainView>), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn list(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
) -> Result<Json<Vec<DomainView>>, Problem> {
    Ok(Json(service::list(&app, who.account_id(), org).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The domain, Unicode or `xn--` form (`example.co.jp`). Public mail
    /// services (gmail.com, yahoo.co.jp, …) cannot be claimed.
    #[schema(min_length = 1, max_length = 253)]
    pub domain: String,
    /// `dns` (publish a TXT record) or `email` (a code to `mailbox@domain`).
    #[schema(pattern = "^(dns|email)$")]
    pub method: String,
    /// For `email`: admin, administrator, hostmaster, postmaster or webmaster.
    #[serde(default)]
    pub mailbox: Option<String>,
}

/// Claims a domain, or starts its proof again with a new record or code
/// (`organization.manage`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/domains", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    request_body = Claim,
    responses((status = 201, body = DomainView), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "proven already, by this or another organization"),
        (status = 422, description = "not a domain, a public mail service, or not an administrative mailbox"),
        (status = 429)))]
pub async fn claim(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiJson(input): ApiJson<Claim>,
) -> Result<(StatusCode, Json<DomainView>), Problem> {
    let view = service::claim(
        &app,
        who.account_id(),
        org,
        &input.domain,
        &input.method,
        input.mailbox.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// The code sent to the mailbox (`email`); nothing for `dns`.
    #[serde(default)]
    #[schema(max_length = 16)]
    pub code: Option<String>,
}

/// Checks the proof: looks the TXT record up now, or compares the code
/// (five wrong codes end that code) (`organization.manage`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/domains/{domain}/verification", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("domain" = String, Path, description = "The domain")),
    request_body = Proof,
    responses((status = 200, body = DomainView), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "the record is not there (yet), DNS did not answer, the code is locked, or another organization proved it"),
        (status = 422, description = "no code, or a wrong one"), (status = 429)))]
pub async fn verify(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, domain)): ApiPath<(i64, String)>,
    ApiJson(input): ApiJson<Proof>,
) -> Result<Json<DomainView>, Problem> {
    let view = service::verify(&app, who.account_id(), org, &domain, input.code.as_deref()).await?;
    Ok(Json(view))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainChange {
    /// People with a verified address at the domain may join on their own.
    pub auto_join: bool,
}

/// Lets people of a proven domain join on their own, or stops it
/// (`organization.manage`).
#[utoipa::path(patch, path = "/api/v1/orgs/{org}/domains/{domain}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("domain" = String, Path, description = "The domain")),
    request_body = DomainChange,
    responses((status = 200, body = DomainView), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "not proven yet"), (status = 422)))]
pub async fn update(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, domain)): ApiPath<(i64, String)>,
    ApiJson(input): ApiJson<DomainChange>,
) -> Result<Json<DomainView>, Problem> {
    let view =
        service::set_auto_join(&app, who.account_id(), org, &domain, input.auto_join).await?;
    Ok(Json(view))
}

/// Gives a domain up (`organization.manage`).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/domains/{domain}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("domain" = String, Path, description = "The domain")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn remove(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, domain)): ApiPath<(i64, String)>,
) -> Result<StatusCode, Problem> {
    service::remove(&app, who.account_id(), org, &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Organizations the caller may join through their verified email
/// address's domain.
#[utoipa::path(get, path = "/api/v1/me/joinable-orgs", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<Joinable>), (status = 401)))]
pub async fn joinable(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
) -> Result<Json<Vec<Joinable>>, Problem> {
    Ok(Json(service::joinable(&app, who.account_id()).await?))
}

/// Joins, as a member, the organization the caller's verified address's
/// domain lets them join; any other answers 404.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/join", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 204), (status = 401), (status = 404), (status = 409)))]
pub async fn join(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
) -> Result<StatusCode, Problem> {
    service::join(&app, who.account_id(), org).await?;
    Ok(StatusCode::NO_CONTENT)
}
