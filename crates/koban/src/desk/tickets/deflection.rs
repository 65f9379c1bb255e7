//! Deflection: before a requester sends a ticket, the form shows the help
//! articles that may answer it. The help center is a domain above the
//! desk, so it lends its suggestions through a hook, as organizations lend
//! the support line: the help center adds a [`Deflection`] when it is
//! composed. Without one the form suggests nothing.

use crate::state::App;
use std::future::Future;
use std::pin::Pin;

/// An article offered on the form.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Suggestion {
    pub article_id: i64,
    pub title: String,
    /// The article's page; it carries the token that records the
    /// suggestion taken when followed.
    pub url: String,
}

/// What a [`Deflection`] function returns.
pub type SuggestFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Suggestion>, String>> + Send + 'a>>;

/// What the help center lends the desk.
pub struct Deflection {
    /// The articles for what the requester wrote (`text`), in language
    /// `lang`, each recorded as shown.
    pub suggest: for<'a> fn(&'a App, &'a str, &'a str) -> SuggestFuture<'a>,
}

/// The suggestions for `text` in `lang`; none without a help center or
/// when it fails (the form works on, the failure is logged).
pub async fn suggestions(app: &App, text: &str, lang: &str) -> Vec<Suggestion> {
    let Some(source) = app.try_part::<Deflection>() else {
        return Vec::new();
    };
    match (source.suggest)(app, text, lang).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(%error, "the ticket form shows no suggestions");
            Vec::new()
        }
    }
}
