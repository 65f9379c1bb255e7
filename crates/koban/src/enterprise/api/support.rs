//! The organization's support tickets.

use crate::enterprise::store::support::OrgTicket;
use crate::enterprise::support as service;
use crate::http::auth::SignedIn;
use crate::http::json::{ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct TicketsQuery {
    /// Only tickets not solved or closed.
    #[serde(default)]
    pub open: bool,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Every ticket opened on the organization's support line, newest first
/// (`support.read_all`): administrators follow what their people asked.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/tickets", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), TicketsQuery),
    responses((status = 200, body = Page<OrgTicket>), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn tickets(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(query): ApiQuery<TicketsQuery>,
) -> Result<Json<Page<OrgTicket>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .bounds()?;
    let rows = service::tickets(&app, who.account_id(), org, query.open, before, limit).await?;
    Ok(Json(page(rows, limit, |t| t.id)))
}
