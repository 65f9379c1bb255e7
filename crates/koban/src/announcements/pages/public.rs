//! What readers see: /announcements (current and recent), one
//! announcement, and dismissing one from the banner.

use crate::accounts::sessions::Viewing;
use crate::announcements::{banner, service, store};
use crate::state::App;
use crate::web::{render, safe_next, see_other, set_cookie, PageForm, Viewer};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/announcements", get(listing))
        .route("/announcements/{id}", get(one))
        .route("/announcements/{id}/dismiss", post(dismiss))
}

/// The region the viewer is known by, if signed in and known.
async fn region(app: &App, viewer: &Viewer) -> Option<String> {
    let current = viewer.current()?;
    crate::announcements::push::region_of(app, &current.account)
        .await
        .ok()
        .flatten()
}

/// An announcement as a page shows it.
fn view(viewer: &Viewer, a: service::Localized) -> minijinja::Value {
    context! {
        id => a.id,
        kind => a.kind,
        lang => a.lang,
        title => a.title,
        // Sanitised by `web::markdown::render`, the only HTML a page takes from people.
        body_html => minijinja::Value::from_safe_string(a.body_html),
        starts => viewer.when(a.starts_at),
        ends => a.ends_at.map(|ms| viewer.when(ms)),
        regions => a.regions,
    }
}

/// `GET /announcements`.
async fn listing(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    let region = region(&app, &viewer).await;
    let lang = viewer.lang.tag();
    let (current, recent) = match (
        service::current(&app, lang, region.as_deref()).await,
        service::recent(&app, lang, region.as_deref()).await,
    ) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(e), _) | (_, Err(e)) => {
            return crate::accounts::pages::internal(&viewer, &e);
        }
    };
    let current: Vec<_> = current.into_iter().map(|a| view(&viewer, a)).collect();
    let recent: Vec<_> = recent.into_iter().map(|a| view(&viewer, a)).collect();
    render::page(
        &viewer,
        StatusCode::OK,
        "announcements.html",
        context! { current => current, recent => recent, zone => viewer.zone_name() },
    )
}

/// `GET /announcements/{id}`: a published one, current or past.
async fn one(State(app): State<Arc<App>>, viewer: Viewer, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found");
    };
    let found = match store::find(app.store.read(), id).await {
        Ok(found) => found,
        Err(e) => return crate::accounts::pages::internal(&viewer, &e),
    };
    let Some(a) = found
        .filter(|a| a.status == "published" && a.starts_at <= crate::store::now_ms())
        .and_then(|a| service::localize(&a, viewer.lang.tag()))
    else {
        return render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found");
    };
    render::page(
        &viewer,
        StatusCode::OK,
        "announcement.html",
        context! { a => view(&viewer, a) },
    )
}

#[derive(Debug, Default, serde::Deserialize)]
struct DismissForm {
    #[serde(default)]
    next: Option<String>,
}

/// `POST /announcements/{id}/dismiss`: this browser stops showing it in the banner.
async fn dismiss(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm<DismissForm>,
) -> Response {
    let next = safe_next(form.next.as_deref(), "/announcements").to_string();
    let Ok(id) = id.parse::<i64>() else {
        return see_other(&next);
    };
    let mut response = see_other(&next);
    let mut cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000",
        banner::DISMISSED_COOKIE,
        banner::with_dismissed(&headers, id)
    );
    if crate::web::is_secure(&app) {
        cookie.push_str("; Secure");
    }
    set_cookie(&mut response, cookie);
    response
}
