//! The web shell's own pages: the landing page, the language switch, the
//! embedded assets and the development outbox. Each domain's pages live in
//! its own `pages.rs` and are gathered here.

use super::i18n::Lang;
use super::{render, PageForm, Viewer};
use crate::app::App;
use crate::http::pagination::PageQuery;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// Routes for the HTML pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(landing))
        .route("/lang", post(switch_language))
        .route("/assets/{name}", get(super::assets::serve))
        .route("/admin/outbox", get(outbox))
        .merge(crate::accounts::pages::router())
        .merge(crate::security::pages::router())
}

/// `/`: the account for someone signed in, else an invitation to sign in or up.
async fn landing(viewer: Viewer) -> Response {
    if viewer.current.is_some() {
        return super::see_other("/account");
    }
    render::page(&viewer, StatusCode::OK, "landing.html", ())
}

/// The language switch form.
#[derive(serde::Deserialize)]
struct LangForm {
    #[serde(default)]
    lang: String,
    next: Option<String>,
}

/// `POST /lang`: remembers the language in a cookie and, for someone signed
/// in, as their own setting (which outranks the cookie), then goes back.
async fn switch_language(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<LangForm>,
) -> Response {
    let back = super::safe_next(form.next.as_deref(), "/").to_string();
    let Some(lang) = Lang::parse(&form.lang) else {
        return super::see_other(&back);
    };
    if let Some(current) = &viewer.current {
        if let Err(error) = crate::accounts::pages::set_locale(&app, current.account.id, lang).await
        {
            tracing::error!(%error, "saving the language setting failed");
            return render::error(
                &viewer,
                StatusCode::INTERNAL_SERVER_ERROR,
                "problem-internal",
            );
        }
    }
    let mut response = super::see_other(&back);
    super::set_cookie(&mut response, super::lang_cookie(&app, lang));
    response
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
    let Some(current) = &viewer.current else {
        return super::see_other(&super::url_with("/signin", &[("next", &viewer.here)]));
    };
    if !current.account.has_role("admin") {
        return render::error(&viewer, StatusCode::FORBIDDEN, "problem-forbidden");
    }
    let query = PageQuery {
        limit: Some(query.limit.unwrap_or(50)),
        ..query
    };
    let page = match crate::delivery::api::outbox_page(&app, &query).await {
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
        .map(|c| super::url_with("/admin/outbox", &[("cursor", &c)]));
    render::page(
        &viewer,
        StatusCode::OK,
        "outbox.html",
        OutboxPage { rows, next },
    )
}
