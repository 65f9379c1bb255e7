//! Organizations: create, list one's own, read, change the profile; the
//! plan is set by desk admins.

use crate::enterprise::access;
use crate::enterprise::orgs as service;
use crate::enterprise::store::{self, orgs::OrgRow};
use crate::http::auth::{SignedIn, Staff, ADMIN};
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Up to 1,000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
}

/// The caller's own place in an organization.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub organization: OrgRow,
    /// `active` or `suspended`.
    pub status: String,
    pub roles: Vec<String>,
    /// What the caller may do here (empty while suspended).
    pub permissions: Vec<&'static str>,
}

/// Creates an organization; the caller becomes its owner.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = NewOrganization,
    responses((status = 201, body = Membership), (status = 401),
        (status = 409, description = "this account created 20 organizations already"),
        (status = 422, description = "a name empty, too long or with control characters")))]
pub async fn create(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiJson(input): ApiJson<NewOrganization>,
) -> Result<(StatusCode, Json<Membership>), Problem> {
    let org = service::create(&app, who.account_id(), &input.name, &input.description).await?;
    let owner = koban_policy::org::roles::BuiltIn::Owner;
    Ok((
        StatusCode::CREATED,
        Json(Membership {
            organization: org,
            status: "active".into(),
            roles: vec![owner.key().into()],
            permissions: owner.permissions().to_names(),
        }),
    ))
}

/// The organizations the caller belongs to.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<Membership>), (status = 401)))]
pub async fn mine(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
) -> Result<Json<Vec<Membership>>, Problem> {
    let rows = store::orgs::of_account(app.store.read(), who.account_id())
        .await
        .map_err(|e| Problem::internal(&e))?;
    let mut out = Vec::with_capacity(rows.len());
    for (org, status, roles) in rows {
        out.push(membership(&app, org, status, &roles).await?);
    }
    Ok(Json(out))
}

async fn membership(
    app: &App,
    org: OrgRow,
    status: String,
    roles: &str,
) -> Result<Membership, Problem> {
    let keys = store::split_keys(roles);
    let customs = store::roles::all(app.store.read(), org.id)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let permissions = if status == "active" {
        use koban_policy::org::roles::{permissions_of, Permission, Permissions};
        permissions_of(&access::resolve(&keys, &customs))
            .union(Permissions::of(&[Permission::ReadOrganization]))
            .to_names()
    } else {
        Vec::new()
    };
    Ok(Membership {
        organization: org,
        status,
        roles: keys,
        permissions,
    })
}

/// An organization the caller is an active member of.
#[utoipa::path(get, path = "/api/v1/orgs/{org}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 200, body = Membership), (status = 401),
        (status = 404, description = "no such organization, or the caller is not in it"),
        (status = 409, description = "the caller's membership is suspended"), (status = 422)))]
pub async fn show(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
) -> Result<Json<Membership>, Problem> {
    let (me, _) = access::acting(&app, org, who.account_id()).await?;
    Ok(Json(Membership {
        organization: me.org,
        status: me.member.status,
        roles: me.member.roles,
        permissions: me.permissions.to_names(),
    }))
}

/// Changes the name and description (`organization.manage`).
#[utoipa::path(patch, path = "/api/v1/orgs/{org}", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    request_body = NewOrganization,
    responses((status = 200, body = OrgRow), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn update(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiJson(input): ApiJson<NewOrganization>,
) -> Result<Json<OrgRow>, Problem> {
    Ok(Json(
        service::update_profile(&app, who.account_id(), org, &input.name, &input.description)
            .await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChange {
    /// `standard` or `enterprise`.
    #[schema(pattern = "^(standard|enterprise)$")]
    pub plan: String,
}

/// Sets the plan, which sets the support tier (desk admins).
#[utoipa::path(put, path = "/api/v1/orgs/{org}/plan", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    request_body = PlanChange,
    responses((status = 200, body = OrgRow), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn set_plan(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath(org): ApiPath<i64>,
    ApiJson(input): ApiJson<PlanChange>,
) -> Result<Json<OrgRow>, Problem> {
    Ok(Json(
        service::set_plan(&app, admin.account_id(), org, &input.plan).await?,
    ))
}
