//! The announcements' pages: the public listing and one announcement, the
//! dismissal of a banner, and the editors' pages under /desk/announcements.

mod desk;
mod public;

use crate::state::App;
use axum::Router;
use std::sync::Arc;

pub fn router() -> Router<Arc<App>> {
    public::router().merge(desk::router())
}

pub const TEMPLATES: &[crate::web::render::Template] = &[
    (
        "announcement_banner.html",
        include_str!("../../../templates/announcement_banner.html"),
    ),
    (
        "announcement_macros.html",
        include_str!("../../../templates/announcement_macros.html"),
    ),
    (
        "announcements.html",
        include_str!("../../../templates/announcements.html"),
    ),
    (
        "announcement.html",
        include_str!("../../../templates/announcement.html"),
    ),
    (
        "announcement_desk.html",
        include_str!("../../../templates/announcement_desk.html"),
    ),
    (
        "announcement_edit.html",
        include_str!("../../../templates/announcement_edit.html"),
    ),
];
