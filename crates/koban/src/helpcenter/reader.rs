//! What readers read: the published versions in the reader's language (or
//! another, said so), the categories, votes and views, and the articles
//! that match what a requester types ([`suggest`]).

use crate::helpcenter::error::HelpError;
use crate::helpcenter::store::{self, CategoryRow, Published};
use crate::state::App;
use crate::store::now_ms;
use koban_policy::help::{self as rules, suggest};
use std::collections::BTreeMap;

/// An article as a reader gets it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReaderArticle {
    pub id: i64,
    pub category_id: i64,
    /// The language of the version given.
    pub lang: String,
    /// True when it is not the language asked for (none was published in it).
    pub fallback: bool,
    pub title: String,
    /// Markdown, as written.
    pub body: String,
    /// The body rendered and sanitised.
    pub html: String,
    /// Milliseconds since the Unix epoch.
    pub published_at: i64,
    /// The reader's page.
    pub url: String,
}

/// The page of article `id` with `title`.
pub fn url_of(id: i64, title: &str) -> String {
    match rules::slug(title) {
        slug if slug.is_empty() => format!("/help/articles/{id}"),
        slug => format!("/help/articles/{id}/{slug}"),
    }
}

/// The published versions grouped by article (newest publication first),
/// each article's version chosen for `lang`.
fn chosen(versions: Vec<Published>, lang: &str) -> Vec<(Published, bool)> {
    let mut order: Vec<i64> = Vec::new();
    let mut by_article: BTreeMap<i64, Vec<Published>> = BTreeMap::new();
    for v in versions {
        if !by_article.contains_key(&v.article_id) {
            order.push(v.article_id);
        }
        by_article.entry(v.article_id).or_default().push(v);
    }
    order
        .into_iter()
        .filter_map(|id| {
            let mut all = by_article.remove(&id)?;
            let langs: Vec<&str> = all.iter().map(|v| v.lang.as_str()).collect();
            let (pick, fallback) = rules::choose_version(lang, &langs)?;
            let pick = pick.to_string();
            let index = all.iter().position(|v| v.lang == pick)?;
            Some((all.swap_remove(index), fallback))
        })
        .collect()
}

fn reader_article(v: Published, fallback: bool) -> ReaderArticle {
    let html = crate::web::markdown::render(&v.body);
    ReaderArticle {
        id: v.article_id,
        category_id: v.category_id,
        url: url_of(v.article_id, &v.title),
        lang: v.lang,
        fallback,
        title: v.title,
        body: v.body,
        html,
        published_at: v.published_at,
    }
}

/// Article `id` in `lang` (or its fallback); 404 when nothing of it is
/// published, drafts included: readers never see one.
pub async fn article(app: &App, id: i64, lang: &str) -> Result<ReaderArticle, HelpError> {
    let versions = store::published_versions(app.store.read(), Some(id), None).await?;
    let (v, fallback) = chosen(versions, lang)
        .into_iter()
        .next()
        .ok_or(HelpError::NotFound)?;
    Ok(reader_article(v, fallback))
}

/// The published articles (of one category), each in `lang` or its
/// fallback, newest first.
pub async fn articles(
    app: &App,
    lang: &str,
    category_id: Option<i64>,
) -> Result<Vec<ReaderArticle>, HelpError> {
    let versions = store::published_versions(app.store.read(), None, category_id).await?;
    Ok(chosen(versions, lang)
        .into_iter()
        .map(|(v, fallback)| reader_article(v, fallback))
        .collect())
}

/// Up to `limit` published articles (of one category) with ids below
/// `before`, newest article first, each in `lang` or its fallback: the
/// API's pages.
pub async fn articles_page(
    app: &App,
    lang: &str,
    category_id: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<ReaderArticle>, HelpError> {
    let versions = store::published_page(app.store.read(), category_id, before, limit).await?;
    Ok(chosen(versions, lang)
        .into_iter()
        .map(|(v, fallback)| reader_article(v, fallback))
        .collect())
}

/// A category's name in `lang`, else English, else any.
pub fn name_in(category: &CategoryRow, lang: &str) -> String {
    let langs: Vec<&str> = category.names.keys().map(String::as_str).collect();
    rules::choose_version(lang, &langs)
        .and_then(|(l, _)| category.names.get(l).cloned())
        .unwrap_or_default()
}

/// Counts a reader's visit. A failure to count never costs the page.
pub async fn count_view(app: &App, id: i64) {
    if let Err(error) = store::count_view(app.store.write(), id).await {
        tracing::warn!(%error, "help article view not counted");
    }
}

/// Records a vote of `voter` (see `help_votes`) on a published article.
pub async fn vote(app: &App, id: i64, voter: &str, helpful: bool) -> Result<(), HelpError> {
    if store::published_versions(app.store.read(), Some(id), None)
        .await?
        .is_empty()
    {
        return Err(HelpError::NotFound);
    }
    store::vote(app.store.write(), id, voter, helpful, now_ms()).await?;
    Ok(())
}

/// A suggested article.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub id: i64,
    pub title: String,
    /// The language of the version suggested.
    pub lang: String,
    pub url: String,
    /// How well it matched; higher is better.
    pub score: u32,
}

/// Up to [`rules::MAX_SUGGESTIONS`] published articles that match `text`,
/// best first, each in `lang` or its fallback. Titles weigh more than
/// bodies. Any word counts, unlike the full-text index (which wants every
/// word): a requester half-way through a sentence still gets answers, and
/// an article published a moment ago is found at once.
pub async fn suggest(app: &App, text: &str, lang: &str) -> Result<Vec<Suggestion>, HelpError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let versions = store::published_versions(app.store.read(), None, None).await?;
    let candidates = chosen(versions, lang);
    let documents: Vec<suggest::Document> = candidates
        .iter()
        .map(|(v, _)| suggest::Document::new(&v.title, &v.body))
        .collect();
    Ok(suggest::rank(text, &documents, rules::MAX_SUGGESTIONS)
        .into_iter()
        .map(|(i, score)| {
            let v = &candidates[i].0;
            Suggestion {
                id: v.article_id,
                title: v.title.clone(),
                lang: v.lang.clone(),
                url: url_of(v.article_id, &v.title),
                score,
            }
        })
        .collect())
}

/// Suggestions for the ticket form: each recorded as shown, its link
/// carrying the token that records it taken when opened.
pub async fn suggest_on_form(
    app: &App,
    text: &str,
    lang: &str,
) -> Result<Vec<Suggestion>, HelpError> {
    let mut found = suggest(app, text, lang).await?;
    if found.is_empty() {
        return Ok(found);
    }
    let shown: Vec<(i64, String)> = found
        .iter()
        .map(|s| (s.id, crate::crypto::random_token(16)))
        .collect();
    let mut tx = app.store.write().begin().await?;
    store::record_shown(&mut tx, &shown, lang, now_ms()).await?;
    tx.commit().await?;
    for (s, (_, token)) in found.iter_mut().zip(&shown) {
        s.url = crate::web::url_with(&s.url, &[("s", token)]);
    }
    Ok(found)
}

/// Marks a form's suggestion taken when its link was followed.
pub async fn taken(app: &App, id: i64, token: &str) {
    if token.is_empty() || token.len() > 64 {
        return;
    }
    if let Err(error) = store::record_taken(app.store.write(), id, token, now_ms()).await {
        tracing::warn!(%error, "help suggestion not recorded as taken");
    }
}
