//! The bar above every page's content that tells readers what is going on
//! (an incident, maintenance, a security notice). The shell knows no domain:
//! a domain that has something to say adds a [`BannerSource`] to the
//! application's parts when it is composed, and the layout includes the
//! template the source names with the items it gave. Without a source, or
//! when it has nothing, pages show no bar.

use super::i18n::Lang;
use crate::http::auth::Principal;
use crate::state::App;
use axum::http::HeaderMap;
use std::future::Future;
use std::pin::Pin;

/// Who a bar is for.
pub struct BannerAsk<'a> {
    pub lang: Lang,
    pub who: Option<&'a Principal>,
    /// The request's headers, for the source's own cookies (what was dismissed).
    pub headers: &'a HeaderMap,
    /// Path and query of the page, so a form in the bar can come back to it.
    pub here: &'a str,
}

/// What the layout includes: `template` (registered by the source's
/// domain) rendered with `items` as the variable `banner.items`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Banner {
    pub template: &'static str,
    pub items: serde_json::Value,
}

/// What a [`BannerSource`] returns.
pub type Banners<'a> = Pin<Box<dyn Future<Output = Option<Banner>> + Send + 'a>>;

/// Says what bar, if any, a page shows to whom.
pub struct BannerSource(pub for<'a> fn(&'a App, BannerAsk<'a>) -> Banners<'a>);

/// The bar for `ask`, from the registered source if there is one.
pub async fn banner(app: &App, ask: BannerAsk<'_>) -> Option<Banner> {
    let source = app.try_part::<BannerSource>()?;
    (source.0)(app, ask).await
}
