//! The desk admin's JSON API: teams and members, calendars, SLA policies.
//! Desk admins change; supervisors may read; everyone else gets 403.

use crate::desk::admin::routing::{
    self as admin, DeskMemberInput, DeskSlaPolicyInput, DeskTeamInput,
};
use crate::desk::store::routing as rstore;
use crate::desk::store::settings;
use crate::http::auth::{Staff, ADMIN};
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

/// Supervisors and above (read-only access to the administration).
const SUPERVISOR: u8 = 2;

/// A member of a team, with their current load.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskMemberView {
    pub account_id: i64,
    pub cap: i64,
    pub available: bool,
    /// Tickets assigned and not yet solved.
    pub open_tickets: i64,
}

/// A team with its members.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskTeamView {
    pub slug: String,
    pub name: String,
    pub languages: Vec<String>,
    pub regions: Vec<String>,
    pub categories: Vec<String>,
    pub skills: Vec<String>,
    pub calendar_id: i64,
    pub enterprise_queue: bool,
    /// Tickets no team handles go here.
    pub is_default: bool,
    pub members: Vec<DeskMemberView>,
}

async fn team_view(app: &App, team: rstore::TeamRow) -> Result<DeskTeamView, Problem> {
    let members = rstore::members(app.store.read(), team.id)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(DeskTeamView {
        slug: team.slug,
        name: team.name,
        languages: team.languages,
        regions: team.regions,
        categories: team.categories,
        skills: team.skills,
        calendar_id: team.calendar_id,
        enterprise_queue: team.enterprise_queue,
        is_default: team.is_default,
        members: members
            .into_iter()
            .map(|m| DeskMemberView {
                account_id: m.account_id,
                cap: m.cap,
                available: m.available,
                open_tickets: m.open_tickets,
            })
            .collect(),
    })
}

/// Every team with its members (supervisors and desk admins).
#[utoipa::path(get, path = "/api/v1/desk/admin/teams", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<DeskTeamView>), (status = 401), (status = 403)))]
pub async fn teams(
    State(app): State<Arc<App>>,
    _reader: Staff<SUPERVISOR>,
) -> Result<Json<Vec<DeskTeamView>>, Problem> {
    let rows = rstore::teams(app.store.read())
        .await
        .map_err(|e| Problem::internal(&e))?;
    let mut out = Vec::new();
    for team in rows {
        out.push(team_view(&app, team).await?);
    }
    Ok(Json(out))
}

/// Adds a team (desk admins). A taken slug answers 409.
#[utoipa::path(post, path = "/api/v1/desk/admin/teams", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    request_body = DeskTeamInput,
    responses((status = 201, body = DeskTeamView), (status = 401), (status = 403), (status = 409), (status = 422)))]
pub async fn create_team(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiJson(input): ApiJson<DeskTeamInput>,
) -> Result<(StatusCode, Json<DeskTeamView>), Problem> {
    admin::save_team(&app, admin.account_id(), &input, true).await?;
    Ok((
        StatusCode::CREATED,
        Json(read_team(&app, &input.slug).await?),
    ))
}

async fn read_team(app: &App, slug: &str) -> Result<DeskTeamView, Problem> {
    let team = rstore::team(app.store.read(), slug)
        .await
        .map_err(|e| Problem::internal(&e))?
        .ok_or_else(Problem::not_found)?;
    team_view(app, team).await
}

/// Rewrites a team (desk admins); the slug in the body must be the path's.
#[utoipa::path(put, path = "/api/v1/desk/admin/teams/{slug}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("slug" = String, Path, description = "The team's slug")),
    request_body = DeskTeamInput,
    responses((status = 200, body = DeskTeamView), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn update_team(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath(slug): ApiPath<String>,
    ApiJson(input): ApiJson<DeskTeamInput>,
) -> Result<Json<DeskTeamView>, Problem> {
    if input.slug != slug {
        return Err(Problem::field("slug", "invalid_value"));
    }
    admin::save_team(&app, admin.account_id(), &input, false).await?;
    Ok(Json(read_team(&app, &slug).await?))
}

/// Removes a team and its memberships (desk admins); the default team stays (404).
#[utoipa::path(delete, path = "/api/v1/desk/admin/teams/{slug}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("slug" = String, Path, description = "The team's slug")),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn delete_team(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath(slug): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    admin::delete_team(&app, admin.account_id(), &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an agent to a team or changes their cap (desk admins).
#[utoipa::path(put, path = "/api/v1/desk/admin/teams/{slug}/members/{account_id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("slug" = String, Path, description = "The team's slug"), ("account_id" = i64, Path, description = "An agent's account id")),
    request_body = DeskMemberInput,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn save_member(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath((slug, account_id)): ApiPath<(String, i64)>,
    ApiJson(input): ApiJson<DeskMemberInput>,
) -> Result<StatusCode, Problem> {
    admin::save_member(&app, admin.account_id(), &slug, account_id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes an agent out of a team (desk admins).
#[utoipa::path(delete, path = "/api/v1/desk/admin/teams/{slug}/members/{account_id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("slug" = String, Path, description = "The team's slug"), ("account_id" = i64, Path, description = "An agent's account id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn delete_member(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath((slug, account_id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, Problem> {
    admin::delete_member(&app, admin.account_id(), &slug, account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A calendar.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskCalendarView {
    pub id: i64,
    pub name: String,
    /// `{"zone": "Asia/Tokyo", "week": {"mon": ["09:00-18:00"], …},
    /// "holidays": ["2026-01-01"], "overrides": {"2026-12-31": ["09:00-12:00"]}}`.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
}

/// A calendar as an admin writes it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskCalendarInput {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// See [`DeskCalendarView::spec`]; hours are `HH:MM-HH:MM` (an end
    /// before the start runs past midnight) or `"24h"`.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
}

/// Every calendar (supervisors and desk admins).
#[utoipa::path(get, path = "/api/v1/desk/admin/calendars", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = Vec<DeskCalendarView>), (status = 401), (status = 403)))]
pub async fn calendars(
    State(app): State<Arc<App>>,
    _reader: Staff<SUPERVISOR>,
) -> Result<Json<Vec<DeskCalendarView>>, Problem> {
    let rows = settings::calendars(app.store.read())
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(Json(
        rows.into_iter()
            .map(|c| DeskCalendarView {
                id: c.id,
                name: c.name,
                spec: serde_json::from_str(&c.spec).unwrap_or_default(),
            })
            .collect(),
    ))
}

/// Adds a calendar (desk admins): an unknown time zone or bad hours answer 422.
#[utoipa::path(post, path = "/api/v1/desk/admin/calendars", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    request_body = DeskCalendarInput,
    responses((status = 201, body = DeskCalendarView), (status = 401), (status = 403), (status = 409), (status = 422)))]
pub async fn create_calendar(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiJson(input): ApiJson<DeskCalendarInput>,
) -> Result<(StatusCode, Json<DeskCalendarView>), Problem> {
    let id = admin::save_calendar(&app, admin.account_id(), None, &input.name, &input.spec).await?;
    let spec = admin::check_calendar(&input.spec)?;
    Ok((
        StatusCode::CREATED,
        Json(DeskCalendarView {
            id,
            name: input.name.trim().to_string(),
            spec: serde_json::to_value(spec.spec()).unwrap_or_default(),
        }),
    ))
}

/// Replaces a calendar's hours (desk admins).
#[utoipa::path(put, path = "/api/v1/desk/admin/calendars/{id}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "The calendar's id")),
    request_body = DeskCalendarInput,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn update_calendar(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DeskCalendarInput>,
) -> Result<StatusCode, Problem> {
    admin::save_calendar(&app, admin.account_id(), Some(id), &input.name, &input.spec).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The SLA policies, most specific match wins.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskSlaPolicies {
    #[schema(max_items = 100)]
    pub policies: Vec<DeskSlaPolicyInput>,
}

/// The SLA policies (supervisors and desk admins).
#[utoipa::path(get, path = "/api/v1/desk/admin/sla-policies", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    responses((status = 200, body = DeskSlaPolicies), (status = 401), (status = 403)))]
pub async fn policies(
    State(app): State<Arc<App>>,
    _reader: Staff<SUPERVISOR>,
) -> Result<Json<DeskSlaPolicies>, Problem> {
    let rows = settings::policies(app.store.read())
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(Json(DeskSlaPolicies {
        policies: rows
            .into_iter()
            .map(|p| DeskSlaPolicyInput {
                priority: p.priority,
                tier: p.tier,
                channel: p.channel,
                first_response: p.first_response,
                next_response: p.next_response,
                resolution: p.resolution,
                warn_percent: p.warn_percent,
                on_warning: p.on_warning,
                on_breach: p.on_breach,
            })
            .collect(),
    }))
}

/// Replaces the SLA policies, all or nothing (desk admins).
#[utoipa::path(put, path = "/api/v1/desk/admin/sla-policies", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    request_body = DeskSlaPolicies,
    responses((status = 204), (status = 401), (status = 403), (status = 422)))]
pub async fn replace_policies(
    State(app): State<Arc<App>>,
    Staff(admin): Staff<ADMIN>,
    ApiJson(input): ApiJson<DeskSlaPolicies>,
) -> Result<StatusCode, Problem> {
    admin::save_policies(&app, admin.account_id(), &input.policies).await?;
    Ok(StatusCode::NO_CONTENT)
}
