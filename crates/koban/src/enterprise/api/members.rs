//! The member directory and changes of members.

use crate::enterprise::access;
use crate::enterprise::members as service;
use crate::enterprise::store::{self, members::MemberRow};
use crate::enterprise::EnterpriseError;
use crate::http::auth::SignedIn;
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use koban_policy::org::roles::{MemberChange, Permission};
use std::sync::Arc;

/// Filters of the directory.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct DirectoryQuery {
    /// Part of a name, email address or phone number (1 to 100 characters,
    /// case-insensitive): one or two characters match the start of one,
    /// three or more match anywhere in it.
    pub search: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
    /// Only members holding this role key.
    pub role: Option<String>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The member directory, newest members first (`members.read`).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/members", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), DirectoryQuery),
    responses((status = 200, body = Page<MemberRow>), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn directory(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(query): ApiQuery<DirectoryQuery>,
) -> Result<Json<Page<MemberRow>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    }
    .bounds()?;
    let rows = service::directory(
        &app,
        who.account_id(),
        org,
        service::Directory {
            search: query.search.as_deref(),
            status: query.status.as_deref(),
            role: query.role.as_deref(),
        },
        before,
        limit + 1,
    )
    .await?;
    Ok(Json(page(rows, limit, |m| m.account_id)))
}

/// One member (`members.read`, or oneself).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/members/{account}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("account" = i64, Path, description = "The member's account id")),
    responses((status = 200, body = MemberRow), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn show(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, account)): ApiPath<(i64, i64)>,
) -> Result<Json<MemberRow>, Problem> {
    let (me, _) = access::acting(&app, org, who.account_id()).await?;
    if account != me.account_id() {
        me.may(Permission::ReadMembers)?;
    }
    let member = store::members::find(app.store.read(), org, account)
        .await
        .map_err(|e| Problem::internal(&e))?
        .ok_or(EnterpriseError::NotFound)?;
    Ok(Json(member))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesChange {
    /// Role keys: built-in names and `custom:<id>`; at least one.
    #[schema(min_items = 1, max_items = 20)]
    pub roles: Vec<String>,
    /// The member's `version` the change was made from.
    pub version: i64,
}

/// Replaces a member's roles (`roles.manage`; nobody grants a permission
/// they lack, changes someone who holds one they lack, or demotes the last
/// owner). Refused with 409 when the member changed since `version`.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/members/{account}/roles", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("account" = i64, Path, description = "The member's account id")),
    request_body = RolesChange,
    responses((status = 200, body = MemberRow), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "the member changed since `version`, or the last owner would be demoted"),
        (status = 422)))]
pub async fn set_roles(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, account)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<RolesChange>,
) -> Result<Json<MemberRow>, Problem> {
    Ok(Json(
        service::set_roles(
            &app,
            who.account_id(),
            org,
            account,
            &input.roles,
            input.version,
        )
        .await?,
    ))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    /// Why, shown to administrators and kept in the audit log (up to 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Suspends a member: they keep their account but can do nothing in the
/// organization until reinstated (`members.manage`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/members/{account}/suspension", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("account" = i64, Path, description = "The member's account id")),
    request_body = Suspension,
    responses((status = 200, body = MemberRow), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "the last owner, or the caller is suspended"), (status = 422)))]
pub async fn suspend(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, account)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<Suspension>,
) -> Result<Json<MemberRow>, Problem> {
    let member = service::change_member(
        &app,
        who.account_id(),
        org,
        account,
        MemberChange::Suspend,
        input.reason.as_deref(),
    )
    .await?
    .ok_or(EnterpriseError::NotFound)?;
    Ok(Json(member))
}

/// Reinstates a suspended member (`members.manage`).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/members/{account}/suspension", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("account" = i64, Path, description = "The member's account id")),
    responses((status = 200, body = MemberRow), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn reinstate(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, account)): ApiPath<(i64, i64)>,
) -> Result<Json<MemberRow>, Problem> {
    let member = service::change_member(
        &app,
        who.account_id(),
        org,
        account,
        MemberChange::Reinstate,
        None,
    )
    .await?
    .ok_or(EnterpriseError::NotFound)?;
    Ok(Json(member))
}

/// Removes a member (`members.manage`), or leaves when the member is the
/// caller. The last owner can do neither.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/members/{account}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("account" = i64, Path, description = "The member's account id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "the last owner, or the caller is suspended"), (status = 422)))]
pub async fn remove(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, account)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, Problem> {
    service::change_member(
        &app,
        who.account_id(),
        org,
        account,
        MemberChange::Remove,
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
