//! Desk role administration through the API (desk admins).

use crate::accounts::sessions::Authenticated;
use crate::desk::admin::roles;
use crate::desk::store::roles as store;
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use koban_policy::desk::permissions::Action;
use std::sync::Arc;

/// An account holding a desk role.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskAgent {
    pub account_id: i64,
    /// Its email, else its phone.
    pub identifier: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
}

/// A recorded change of a desk role.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskRoleChange {
    pub account_id: i64,
    pub from_role: String,
    pub to_role: String,
    /// Who made the change.
    pub changed_by: Option<i64>,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

/// The desk's staff and the newest role changes.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskAgents {
    pub agents: Vec<DeskAgent>,
    /// The last 100 changes, newest first.
    pub changes: Vec<DeskRoleChange>,
}

/// The newest role changes a listing shows.
pub const CHANGES_SHOWN: i64 = 100;

/// Staff with their roles, and who changed whose role (desk admins).
#[utoipa::path(get, path = "/api/v1/desk/agents", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = DeskAgents), (status = 401), (status = 403)))]
pub async fn agents(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
) -> Result<Json<DeskAgents>, Problem> {
    roles::require(&current, Action::ReadRoles)?;
    Ok(Json(listing(&app).await?))
}

/// The staff and the newest changes, for the API and the admin page.
pub async fn listing(app: &App) -> Result<DeskAgents, crate::desk::DeskError> {
    let agents = store::staff(app.store.read())
        .await?
        .into_iter()
        .map(|r| DeskAgent {
            account_id: r.account_id,
            identifier: r.identifier,
            role: r.role,
        })
        .collect();
    let changes = store::role_changes(app.store.read(), CHANGES_SHOWN)
        .await?
        .into_iter()
        .map(|c| DeskRoleChange {
            account_id: c.account_id,
            from_role: c.from_role,
            to_role: c.to_role,
            changed_by: c.changed_by,
            at: c.at,
        })
        .collect();
    Ok(DeskAgents { agents, changes })
}

choices! {
    /// A desk role.
    pub enum DeskRoleName {
        User = "user",
        Agent = "agent",
        Supervisor = "supervisor",
        Admin = "admin",
    }
}

/// The role to give.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskRoleRequest {
    /// `user` takes the desk role away.
    pub role: DeskRoleName,
}

/// Gives an account a desk role (desk admins). Nobody grants a role above
/// their own (403); the last admin cannot be demoted (409).
#[utoipa::path(put, path = "/api/v1/desk/agents/{account_id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body = DeskRoleRequest,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn set_role(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(account_id): ApiPath<i64>,
    ApiJson(input): ApiJson<DeskRoleRequest>,
) -> Result<StatusCode, Problem> {
    roles::require(&current, Action::ChangeRole)?;
    roles::change(&app, &current, account_id, input.role.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}
