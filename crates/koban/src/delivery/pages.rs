//! The development outbox page, for administrators: what Koban would have
//! sent, when delivery is not live.

use crate::http::pagination::PageQuery;
use crate::state::App;
use crate::web::{self, render, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// Routes for the delivery pages.
pub fn router() -> Router<Arc<App>> {
    Router::new().route("/admin/outbox", get(outbox))
}

/// One outbox message as the page shows it.
#[derive(serde::Serialize)]
struct OutboxRow {
    to: String,
    channel: String,
    subject: String,
    status: String,
    error: Option<String>,
    /// RFC 3339, for the script that shows it in the viewer's time zone.
    at: String,
    /// UTC, shown until (or without) the script.
    at_text: String,
    body: String,
}

#[derive(serde::Serialize)]
struct OutboxPage {
    rows: Vec<OutboxRow>,
    next: Option<String>,
}

/// `GET /admin/outbox`: the development outbox, for administrators only.
async fn outbox(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<PageQuery>,
) -> Response {
    let Some(who) = &viewer.who else {
        return web::see_other(&web::url_with("/signin", &[("next", &viewer.here)]));
    };
    if !who.has_role("admin") {
        return render::error(&viewer, StatusCode::FORBIDDEN, "problem-forbidden");
    }
    let query = PageQuery {
        limit: Some(query.limit.unwrap_or(50)),
        ..query
    };
    let page = match super::api::outbox_page(&app, &query).await {
        Ok(page) => page,
        Err(problem) => return render::error(&viewer, problem.status, problem.message),
    };
    let rows = page
        .items
        .into_iter()
        .map(|d| {
            let at = jiff::Timestamp::from_millisecond(d.created_at).unwrap_or_default();
            OutboxRow {
                to: d.destination,
                channel: d.channel,
                subject: d.subject,
                status: d.status,
                error: d.error,
                at: at.to_string(),
                at_text: at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
                body: d.body.unwrap_or_default(),
            }
        })
        .collect();
    let next = page
        .next_cursor
        .map(|c| web::url_with("/admin/outbox", &[("cursor", &c)]));
    render::page(
        &viewer,
        StatusCode::OK,
        "outbox.html",
        OutboxPage { rows, next },
    )
}
