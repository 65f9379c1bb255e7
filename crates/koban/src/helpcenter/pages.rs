//! The readers' pages: `/help` (categories, newest, most helpful, a
//! search), a category, and an article with "Was this helpful?". Anyone
//! reads them, signed out too; drafts never show here.

use crate::accounts::pages::internal;
use crate::accounts::sessions::Viewing;
use crate::helpcenter::api::{visitor_cookie, voter};
use crate::helpcenter::error::HelpError;
use crate::helpcenter::reader::{self, ReaderArticle};
use crate::helpcenter::service;
use crate::helpcenter::store;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::i18n::Lang;
use crate::web::{render, see_other, set_cookie, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/help", get(home))
        .route("/help/categories/{id}", get(category))
        .route("/help/articles/{id}", get(article))
        .route("/help/articles/{id}/{slug}", get(article_with_slug))
        .route("/help/articles/{id}/vote", post(vote))
}

type Query_ = BTreeMap<String, String>;

/// A refusal as a page.
pub(crate) fn refusal(viewer: &Viewer, error: HelpError) -> Response {
    if let HelpError::Store(e) = &error {
        return internal(viewer, e);
    }
    let problem = Problem::from(error);
    render::error(viewer, problem.status, problem.message)
}

/// An article in a list, as the pages show it.
#[derive(serde::Serialize)]
struct Card {
    id: i64,
    title: String,
    url: String,
    lang: String,
    fallback: bool,
    at: String,
    at_text: String,
}

fn card(viewer: &Viewer, a: &ReaderArticle) -> Card {
    let when = viewer.when(a.published_at);
    Card {
        id: a.id,
        title: a.title.clone(),
        url: a.url.clone(),
        lang: a.lang.clone(),
        fallback: a.fallback,
        at: when.iso,
        at_text: when.text,
    }
}

/// `GET /help?q=…`: the categories with their articles, the newest and
/// the most helpful, and what matches a search.
async fn home(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<Query_>,
) -> Response {
    let lang = viewer.lang.tag();
    let result = async {
        let categories = store::categories(app.store.read()).await?;
        let articles = reader::articles(&app, lang, None).await?;
        let stats = store::stats(app.store.read(), None).await?;
        Ok::<_, HelpError>((categories, articles, stats))
    }
    .await;
    let (categories, articles, stats) = match result {
        Ok(found) => found,
        Err(error) => return refusal(&viewer, error),
    };
    let q = query
        .get("q")
        .map(|q| q.trim().to_string())
        .unwrap_or_default();
    let results = if q.is_empty() {
        None
    } else {
        let cut: String = q
            .chars()
            .take(koban_policy::help::MAX_QUERY_CHARS)
            .collect();
        match reader::suggest(&app, &cut, lang).await {
            Ok(found) => Some(found),
            Err(error) => return refusal(&viewer, error),
        }
    };
    let newest: Vec<Card> = articles.iter().take(5).map(|a| card(&viewer, a)).collect();
    let mut helpful: Vec<(&ReaderArticle, i64)> = articles
        .iter()
        .filter_map(|a| {
            let s = stats.get(&a.id)?;
            (s.helpful_yes > 0).then_some((a, s.helpful_yes - s.helpful_no))
        })
        .collect();
    helpful.sort_by_key(|h| std::cmp::Reverse(h.1));
    let helpful: Vec<Card> = helpful
        .iter()
        .take(5)
        .map(|(a, _)| card(&viewer, a))
        .collect();
    let sections: Vec<minijinja::Value> = categories
        .iter()
        .map(|c| {
            let inside: Vec<Card> = articles
                .iter()
                .filter(|a| a.category_id == c.id)
                .take(6)
                .map(|a| card(&viewer, a))
                .collect();
            let count = articles.iter().filter(|a| a.category_id == c.id).count();
            context! { id => c.id, name => reader::name_in(c, lang), articles => inside, count => count }
        })
        .collect();
    render::page(
        &viewer,
        StatusCode::OK,
        "help_home.html",
        context! {
            categories => sections, newest => newest, helpful => helpful, q => q, results => results,
            staff => viewer.current().is_some_and(service::reads_drafts),
        },
    )
}

/// `GET /help/categories/{id}`.
async fn category(State(app): State<Arc<App>>, viewer: Viewer, Path(id): Path<String>) -> Response {
    let lang = viewer.lang.tag();
    let Ok(id) = id.parse::<i64>() else {
        return refusal(&viewer, HelpError::NotFound);
    };
    let result = async {
        let category = store::category_by_id(app.store.read(), id)
            .await?
            .ok_or(HelpError::NotFound)?;
        let articles = reader::articles(&app, lang, Some(id)).await?;
        Ok::<_, HelpError>((category, articles))
    }
    .await;
    match result {
        Ok((c, articles)) => render::page(
            &viewer,
            StatusCode::OK,
            "help_category.html",
            context! {
                category => context! { id => c.id, name => reader::name_in(&c, lang) },
                articles => articles.iter().map(|a| card(&viewer, a)).collect::<Vec<_>>(),
            },
        ),
        Err(error) => refusal(&viewer, error),
    }
}

async fn article(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<Query_>,
) -> Response {
    show(&app, &viewer, &headers, &id, &query).await
}

async fn article_with_slug(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, _slug)): Path<(String, String)>,
    Query(query): Query<Query_>,
) -> Response {
    show(&app, &viewer, &headers, &id, &query).await
}

/// The name of a language tag in the reader's own script.
fn lang_name(tag: &str) -> String {
    Lang::parse(tag)
        .map(|l| l.native_name().to_string())
        .unwrap_or_else(|| tag.to_string())
}

/// `GET /help/articles/{id}[/{slug}]?s=…`: the article in the reader's
/// language or another with a note; `s` is the token of a ticket form's
/// suggestion, recorded as taken.
async fn show(
    app: &App,
    viewer: &Viewer,
    headers: &HeaderMap,
    id: &str,
    query: &Query_,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return refusal(viewer, HelpError::NotFound);
    };
    let lang = viewer.lang.tag();
    let found = match reader::article(app, id, lang).await {
        Ok(found) => found,
        Err(error) => return refusal(viewer, error),
    };
    // Coming back from a vote is the same visit.
    if !query.contains_key("voted") {
        reader::count_view(app, id).await;
    }
    if let Some(token) = query.get("s") {
        reader::taken(app, id, token).await;
    }
    let current = viewer.current();
    let (voter, new_cookie) = voter(current, headers);
    let (mine, category) = match async {
        let mine = store::vote_of(app.store.read(), id, &voter).await?;
        let category = store::category_by_id(app.store.read(), found.category_id).await?;
        Ok::<_, HelpError>((mine, category))
    }
    .await
    {
        Ok(read) => read,
        Err(error) => return refusal(viewer, error),
    };
    let when = viewer.when(found.published_at);
    let mut response = render::page(
        viewer,
        StatusCode::OK,
        "help_article.html",
        context! {
            article => context! {
                id => found.id, title => found.title, lang => found.lang,
                // Rendered by web::markdown (pulldown-cmark, then ammonia):
                // the only HTML of an article a page shows.
                html => minijinja::Value::from_safe_string(found.html),
                at => when.iso, at_text => when.text,
            },
            fallback => found.fallback.then(|| context! { wanted => lang_name(lang), shown => lang_name(&found.lang) }),
            category => category.map(|c| context! { id => c.id, name => reader::name_in(&c, lang) }),
            vote => mine.map(|helpful| if helpful { "yes" } else { "no" }),
            voted => query.contains_key("voted"),
            staff => current.is_some_and(service::reads_drafts),
        },
    );
    if let Some(token) = new_cookie {
        set_cookie(&mut response, visitor_cookie(app, &token));
    }
    response
}

/// `POST /help/articles/{id}/vote` with `helpful` = `yes` or `no`.
async fn vote(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm<Query_>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return refusal(&viewer, HelpError::NotFound);
    };
    let helpful = match form.get("helpful").map(String::as_str) {
        Some("yes") => true,
        Some("no") => false,
        _ => {
            return render::error(
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                "problem-validation",
            )
        }
    };
    let (voter, new_cookie) = voter(viewer.current(), &headers);
    if let Err(error) = reader::vote(&app, id, &voter, helpful).await {
        return refusal(&viewer, error);
    }
    let mut response = see_other(&format!("/help/articles/{id}?voted=1#vote"));
    if let Some(token) = new_cookie {
        set_cookie(&mut response, visitor_cookie(&app, &token));
    }
    response
}
