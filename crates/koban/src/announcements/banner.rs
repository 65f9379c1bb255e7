//! The bar of current announcements above every page, through the shell's
//! hook (`web::banner::BannerSource`), and the cookie that remembers which
//! ones the reader dismissed.

use super::service;
use crate::accounts::sessions::current_of;
use crate::web::banner::{Banner, BannerSource};
use axum::http::HeaderMap;

/// Cookie holding the ids of the announcements this browser dismissed.
pub const DISMISSED_COOKIE: &str = "koban_dismissed";

/// How many dismissals the cookie keeps (the newest).
const KEEP: usize = 50;

/// The ids the reader dismissed.
pub fn dismissed(headers: &HeaderMap) -> Vec<i64> {
    crate::http::cookie(headers, DISMISSED_COOKIE)
        .unwrap_or_default()
        .split('.')
        .filter_map(|id| id.parse().ok())
        .take(KEEP)
        .collect()
}

/// The cookie's value with `id` added.
pub fn with_dismissed(headers: &HeaderMap, id: i64) -> String {
    let mut ids = dismissed(headers);
    ids.retain(|x| *x != id);
    ids.insert(0, id);
    ids.truncate(KEEP);
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(".")
}

/// The hook the layout asks for its bar.
pub fn source() -> BannerSource {
    BannerSource(|app, ask| {
        Box::pin(async move {
            let published = service::published(app).await.ok()?;
            let now = crate::store::now_ms();
            // Most pages have nothing to show: read the reader's region
            // only when a current announcement is regional.
            if !published.iter().any(|a| service::is_live(a, now)) {
                return None;
            }
            let regional = published
                .iter()
                .any(|a| service::is_live(a, now) && !a.regions.is_empty());
            let region = match ask.who.and_then(|w| current_of(w)) {
                Some(current) if regional => super::push::region_of(app, &current.account)
                    .await
                    .ok()
                    .flatten(),
                _ => None,
            };
            let dismissed = dismissed(ask.headers);
            let items: Vec<_> = published
                .iter()
                .filter(|a| !dismissed.contains(&a.id))
                .filter(|a| service::is_current_for(a, region.as_deref(), now))
                .filter_map(|a| service::localize(a, ask.lang.tag()))
                .take(3)
                .map(|a| {
                    serde_json::json!({
                        "id": a.id,
                        "kind": a.kind,
                        "lang": a.lang,
                        "title": a.title,
                    })
                })
                .collect();
            if items.is_empty() {
                return None;
            }
            Some(Banner {
                template: "announcement_banner.html",
                items: serde_json::json!({ "list": items, "next": ask.here }),
            })
        })
    })
}
