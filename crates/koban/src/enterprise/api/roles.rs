//! An organization's roles.

use crate::enterprise::roles::{self as service, RoleView};
use crate::http::auth::SignedIn;
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomRole {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Permission names (`members.read`, `audit.export`, …); never
    /// `organization.own`, nor one the caller lacks.
    #[schema(min_items = 1, max_items = 32)]
    pub permissions: Vec<String>,
}

/// The built-in roles and the organization's custom roles (any member).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/roles", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 200, body = Vec<RoleView>), (status = 401), (status = 404), (status = 409), (status = 422)))]
pub async fn list(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
) -> Result<Json<Vec<RoleView>>, Problem> {
    Ok(Json(service::list(&app, who.account_id(), org).await?))
}

/// Creates a custom role (`roles.manage`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/roles", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    request_body = CustomRole,
    responses((status = 201, body = RoleView), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "the name is taken"), (status = 422)))]
pub async fn create(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiJson(input): ApiJson<CustomRole>,
) -> Result<(StatusCode, Json<RoleView>), Problem> {
    let role = service::write(
        &app,
        who.account_id(),
        org,
        None,
        &input.name,
        &input.permissions,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(role)))
}

/// Renames a custom role or changes its permissions (`roles.manage`).
#[utoipa::path(put, path = "/api/v1/orgs/{org}/roles/{role}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("role" = i64, Path, description = "Custom role id")),
    request_body = CustomRole,
    responses((status = 200, body = RoleView), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "the name is taken"), (status = 422)))]
pub async fn update(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, role)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<CustomRole>,
) -> Result<Json<RoleView>, Problem> {
    Ok(Json(
        service::write(
            &app,
            who.account_id(),
            org,
            Some(role),
            &input.name,
            &input.permissions,
        )
        .await?,
    ))
}

/// Deletes a custom role nobody holds (`roles.manage`).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/roles/{role}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), ("role" = i64, Path, description = "Custom role id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "members hold the role"), (status = 422)))]
pub async fn delete(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath((org, role)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, Problem> {
    service::delete(&app, who.account_id(), org, role).await?;
    Ok(StatusCode::NO_CONTENT)
}
