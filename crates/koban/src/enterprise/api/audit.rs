//! An organization's audit log for its members: verification and the
//! filtered listing (`audit.read`), export (`audit.export`, itself
//! recorded in the chain: who took a copy of the log, and which part).

use crate::audit::api::{exported, EntryFilter};
use crate::audit::store::EntryRow;
use crate::audit::Verification;
use crate::enterprise::access::{self, scope};
use crate::enterprise::audit::{entries_for, verification_for};
use crate::enterprise::store;
use crate::enterprise::EnterpriseError;
use crate::http::auth::SignedIn;
use crate::http::json::{ApiPath, ApiQuery};
use crate::http::pagination::Page;
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use koban_policy::org::roles::Permission;
use serde_json::json;
use std::sync::Arc;

/// Checks the organization's chain and names the first entry changed,
/// removed, moved or slipped in (`audit.read`).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit/verification", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 200, body = Verification), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn verification(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
) -> Result<Json<Verification>, Problem> {
    Ok(Json(verification_for(&app, who.account_id(), org).await?))
}

/// The organization's entries, newest first, by actor, action, target and
/// time (`audit.read`).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit/entries", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), EntryFilter),
    responses((status = 200, body = Page<EntryRow>), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn entries(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(filter): ApiQuery<EntryFilter>,
) -> Result<Json<Page<EntryRow>>, Problem> {
    Ok(Json(
        entries_for(&app, who.account_id(), org, &filter).await?,
    ))
}

/// The organization's entries, filtered, as JSON or formula-safe CSV, at
/// most 100,000 (`audit.export`); the export is recorded in the chain.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/audit/export", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), EntryFilter),
    responses((status = 200, description = "A JSON array of entries, or CSV with `format=csv`",
        content((Vec<EntryRow> = "application/json"), (String = "text/csv"))),
        (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn export(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(filter): ApiQuery<EntryFilter>,
) -> Result<Response, Problem> {
    let (me, _) = access::acting(&app, org, who.account_id()).await?;
    me.may(Permission::ExportAudit)?;
    // Read first: a refused filter exports nothing and records nothing.
    let answer = exported(&app, &scope(org), &filter).await?;
    let mut change = app.store.change().await.map_err(EnterpriseError::from)?;
    store::lock_org(&mut change.tx, app.store.backend(), org)
        .await
        .map_err(EnterpriseError::from)?;
    access::record(
        &app,
        &mut change,
        org,
        me.account_id(),
        "audit.exported",
        &format!("org:{org}"),
        json!({
            "format": filter.format.as_deref().unwrap_or("json"),
            "actor": filter.actor, "action": filter.action, "target": filter.target,
            "from": filter.from, "to": filter.to,
        }),
    )
    .await?;
    change.commit().await.map_err(EnterpriseError::from)?;
    Ok(answer)
}
