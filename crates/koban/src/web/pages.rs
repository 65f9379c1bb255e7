//! The web shell's own pages: the landing page and the embedded assets.
//! Each domain's pages live in its own `pages.rs`, composed in `app.rs`.

use super::{render, Viewer};
use crate::state::App;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// Routes for the HTML pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(landing))
        .route("/assets/{name}", get(super::assets::serve))
}

/// `/`: the account for someone signed in, else an invitation to sign in or up.
async fn landing(viewer: Viewer) -> Response {
    if viewer.who.is_some() {
        return super::see_other("/account");
    }
    render::page(&viewer, StatusCode::OK, "landing.html", ())
}
