//! The help center: categories and articles in several languages, read by
//! anyone, written by the desk's editors (supervisors and desk admins),
//! with "Was this helpful?" and the ticket form's suggestions (issue 15
//! §1). Its rules (languages, limits, slugs, which version a reader gets,
//! the suggestion scorer) live in `koban_policy::help`.

pub mod api;
pub mod edit_pages;
mod error;
pub mod pages;
pub mod reader;
pub mod service;
pub mod store;

pub use error::HelpError;

use crate::desk::tickets::deflection::{Deflection, SuggestFuture, Suggestion};
use crate::domain::Domain;
use crate::state::App;
use crate::store::Migration;

/// The ticket form's suggestions, lent to the desk: each recorded as
/// shown, its link carrying the token that records it taken.
fn suggest_on_form<'a>(app: &'a App, text: &'a str, lang: &'a str) -> SuggestFuture<'a> {
    Box::pin(async move {
        let lang = koban_policy::help::parse_lang(lang).unwrap_or("en");
        reader::suggest_on_form(app, text, lang)
            .await
            .map(|found| {
                found
                    .into_iter()
                    .map(|s| Suggestion {
                        article_id: s.id,
                        title: s.title,
                        url: s.url,
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    })
}

/// The help center as the application composes it.
pub fn domain() -> Domain {
    Domain {
        build: |_, _, parts| {
            parts.insert(Deflection {
                suggest: suggest_on_form,
            });
            Ok(())
        },
        api: || {
            use utoipa_axum::routes;
            utoipa_axum::router::OpenApiRouter::new()
                .routes(routes!(api::categories, api::create_category))
                .routes(routes!(api::update_category, api::delete_category))
                .routes(routes!(api::articles, api::create_article))
                .routes(routes!(
                    api::article,
                    api::move_article,
                    api::delete_article
                ))
                .routes(routes!(api::versions))
                .routes(routes!(api::save_version))
                .routes(routes!(api::publish))
                .routes(routes!(api::unpublish))
                .routes(routes!(api::revisions))
                .routes(routes!(api::revision))
                .routes(routes!(api::restore))
                .routes(routes!(api::vote))
                .routes(routes!(api::suggestions))
        },
        pages: || pages::router().merge(edit_pages::router()),
        migrations: &[Migration {
            version: 35,
            name: "helpcenter",
            sql: include_str!("../../migrations/0035_helpcenter.sql"),
        }],
        templates: &[
            (
                "help_home.html",
                include_str!("../../templates/help_home.html"),
            ),
            (
                "help_category.html",
                include_str!("../../templates/help_category.html"),
            ),
            (
                "help_article.html",
                include_str!("../../templates/help_article.html"),
            ),
            (
                "help_edit.html",
                include_str!("../../templates/help_edit.html"),
            ),
            (
                "help_edit_article.html",
                include_str!("../../templates/help_edit_article.html"),
            ),
            (
                "help_edit_revision.html",
                include_str!("../../templates/help_edit_revision.html"),
            ),
        ],
        tags: &[(
            "help",
            "The help center: categories, articles in five languages, votes and suggestions",
        )],
        ..Domain::named("helpcenter")
    }
}
