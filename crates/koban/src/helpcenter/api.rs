//! The help center's JSON API under `/api/v1/help`: readers (signed out
//! too) read published articles, vote and get suggestions; agents read
//! drafts, revisions and counts; supervisors and desk admins edit.

use crate::accounts::sessions::{self, Authenticated, Current};
use crate::helpcenter::error::HelpError;
use crate::helpcenter::reader::{self, ReaderArticle, Suggestion};
use crate::helpcenter::service::{self, Writing};
use crate::helpcenter::store::{self, Stats};
use crate::http::auth::presented_token;
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{page, page_after, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use koban_policy::help as rules;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The caller's session when they present one; a token presented but not
/// valid is refused rather than taken as signed out.
pub async fn signed_in(app: &App, headers: &HeaderMap) -> Result<Option<Current>, Problem> {
    match presented_token(headers) {
        None => Ok(None),
        Some((token, _)) => sessions::authenticate(app, &token)
            .await
            .map(Some)
            .map_err(Problem::from),
    }
}

/// The language a reader asked for (`lang`), else their account's, else
/// their browser's.
fn reader_lang(
    asked: Option<&str>,
    current: Option<&Current>,
    headers: &HeaderMap,
) -> Result<&'static str, Problem> {
    if let Some(tag) = asked {
        return Ok(service::lang("lang", tag)?);
    }
    let own = current
        .and_then(|c| c.account.locale.as_deref())
        .and_then(rules::parse_lang);
    Ok(own.unwrap_or_else(|| crate::web::lang_from_headers(headers).tag()))
}

/// A category.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HelpCategory {
    pub id: i64,
    pub position: i64,
    /// The name in the reader's language, else English, else another.
    pub name: String,
    /// Every name, by language tag.
    pub names: BTreeMap<String, String>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LangQuery {
    /// `en`, `zh-CN`, `zh-TW`, `ja` or `th`; omitted, the caller's language.
    pub lang: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CategoriesQuery {
    /// `en`, `zh-CN`, `zh-TW`, `ja` or `th`; omitted, the caller's language.
    pub lang: Option<String>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The categories, in order (position, then id), a page at a time.
#[utoipa::path(get, path = "/api/v1/help/categories", tag = "help",
    security((), ("bearer" = []), ("session_cookie" = [])), params(CategoriesQuery),
    responses((status = 200, body = Page<HelpCategory>), (status = 401),
        (status = 422, description = "an unknown language, a bad cursor or limit")))]
pub async fn categories(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<CategoriesQuery>,
) -> Result<Json<Page<HelpCategory>>, Problem> {
    let (after, limit) = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .after()?;
    let current = signed_in(&app, &headers).await?;
    let lang = reader_lang(query.lang.as_deref(), current.as_ref(), &headers)?;
    let rows = store::categories_after(app.store.read(), after, limit + 1)
        .await
        .map_err(HelpError::from)?;
    let items = rows
        .into_iter()
        .map(|c| HelpCategory {
            id: c.id,
            position: c.position,
            name: reader::name_in(&c, lang),
            names: c.names,
        })
        .collect();
    Ok(Json(page_after(items, limit, |c| (c.position, c.id))))
}

/// A new category, or a category's new names and place.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpCategoryInput {
    /// The name by language tag (`en`, `zh-CN`, `zh-TW`, `ja`, `th`), each
    /// at most 100 characters; at least one.
    #[schema(value_type = BTreeMap<String, String>)]
    pub names: Option<BTreeMap<String, String>>,
    /// Lower first; 0 by default.
    pub position: Option<i64>,
}

/// What was created.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HelpCreated {
    pub id: i64,
}

/// Adds a category (supervisors and desk admins).
#[utoipa::path(post, path = "/api/v1/help/categories", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])), request_body = HelpCategoryInput,
    responses((status = 201, body = HelpCreated), (status = 401), (status = 403), (status = 422)))]
pub async fn create_category(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiJson(input): ApiJson<HelpCategoryInput>,
) -> Result<(StatusCode, Json<HelpCreated>), Problem> {
    let editor = service::editor(Some(&current))?;
    let names = input.names.unwrap_or_default();
    let id = service::create_category(&app, editor, &names, input.position).await?;
    Ok((StatusCode::CREATED, Json(HelpCreated { id })))
}

/// Renames or reorders a category (supervisors and desk admins).
#[utoipa::path(patch, path = "/api/v1/help/categories/{id}", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Category id")), request_body = HelpCategoryInput,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn update_category(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<HelpCategoryInput>,
) -> Result<StatusCode, Problem> {
    let editor = service::editor(Some(&current))?;
    service::update_category(&app, editor, id, input.names.as_ref(), input.position).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an empty category (supervisors and desk admins).
#[utoipa::path(delete, path = "/api/v1/help/categories/{id}", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Category id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "the category still holds articles"), (status = 422)))]
pub async fn delete_category(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Problem> {
    let editor = service::editor(Some(&current))?;
    service::delete_category(&app, editor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ArticlesQuery {
    /// `en`, `zh-CN`, `zh-TW`, `ja` or `th`; omitted, the caller's language.
    pub lang: Option<String>,
    /// Only this category's articles.
    pub category: Option<i64>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The published articles, newest article first, a page at a time, each
/// in the reader's language or another when it has none in it (`fallback`).
#[utoipa::path(get, path = "/api/v1/help/articles", tag = "help",
    security((), ("bearer" = []), ("session_cookie" = [])), params(ArticlesQuery),
    responses((status = 200, body = Page<ReaderArticle>), (status = 401),
        (status = 422, description = "an unknown language, a bad category, cursor or limit")))]
pub async fn articles(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ArticlesQuery>,
) -> Result<Json<Page<ReaderArticle>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .bounds()?;
    let current = signed_in(&app, &headers).await?;
    let lang = reader_lang(query.lang.as_deref(), current.as_ref(), &headers)?;
    let items = reader::articles_page(&app, lang, query.category, before, limit + 1).await?;
    Ok(Json(page(items, limit, |a| a.id)))
}

/// A new article with its first version.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpArticleInput {
    pub category_id: i64,
    /// `en`, `zh-CN`, `zh-TW`, `ja` or `th`.
    pub lang: String,
    #[schema(max_length = 200)]
    pub title: String,
    /// Markdown, at most 100,000 bytes.
    pub body: String,
    /// Publish at once; a draft otherwise.
    #[serde(default)]
    pub publish: bool,
}

/// Adds an article (supervisors and desk admins).
#[utoipa::path(post, path = "/api/v1/help/articles", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])), request_body = HelpArticleInput,
    responses((status = 201, body = HelpCreated), (status = 401), (status = 403),
        (status = 422, description = "an unknown category or language, a blank or too long title or body")))]
pub async fn create_article(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiJson(input): ApiJson<HelpArticleInput>,
) -> Result<(StatusCode, Json<HelpCreated>), Problem> {
    let editor = service::editor(Some(&current))?;
    let writing = Writing {
        lang: &input.lang,
        title: &input.title,
        body: &input.body,
        publish: input.publish,
    };
    let id = service::create_article(&app, editor, input.category_id, &writing).await?;
    Ok((StatusCode::CREATED, Json(HelpCreated { id })))
}

/// A published article in the reader's language, or another (`fallback`);
/// 404 when none of it is published.
#[utoipa::path(get, path = "/api/v1/help/articles/{id}", tag = "help",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id"), LangQuery),
    responses((status = 200, body = ReaderArticle), (status = 401), (status = 404), (status = 422)))]
pub async fn article(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<LangQuery>,
) -> Result<Json<ReaderArticle>, Problem> {
    let current = signed_in(&app, &headers).await?;
    let lang = reader_lang(query.lang.as_deref(), current.as_ref(), &headers)?;
    let found = reader::article(&app, id, lang).await?;
    reader::count_view(&app, id).await;
    Ok(Json(found))
}

/// Where an article belongs.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpArticleMove {
    pub category_id: i64,
}

/// Moves an article to another category (supervisors and desk admins).
#[utoipa::path(patch, path = "/api/v1/help/articles/{id}", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id")), request_body = HelpArticleMove,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn move_article(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<HelpArticleMove>,
) -> Result<StatusCode, Problem> {
    let editor = service::editor(Some(&current))?;
    service::move_article(&app, editor, id, input.category_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes an article (supervisors and desk admins): readers see it no more.
#[utoipa::path(delete, path = "/api/v1/help/articles/{id}", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn delete_article(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Problem> {
    let editor = service::editor(Some(&current))?;
    service::delete_article(&app, editor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One language of an article as editors see it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HelpVersion {
    pub lang: String,
    /// The draft's title and body (the latest save).
    pub title: String,
    pub body: String,
    /// `published` or `draft`.
    pub status: String,
    /// Published, and saved since.
    pub unpublished_changes: bool,
    pub published_title: Option<String>,
    pub published_at: Option<i64>,
    /// Who wrote the version first.
    pub author: String,
    pub updated_by: String,
    pub updated_at: i64,
}

/// An article as editors see it: every version and what readers did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HelpArticleDetail {
    pub id: i64,
    pub category_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub versions: Vec<HelpVersion>,
    pub stats: Stats,
}

/// Every version of an article, drafts included, with its counts (agents,
/// supervisors and desk admins).
pub async fn detail(app: &App, id: i64) -> Result<HelpArticleDetail, HelpError> {
    let article = store::article_by_id(app.store.read(), id)
        .await?
        .ok_or(HelpError::NotFound)?;
    let mut versions = store::versions(app.store.read(), id).await?;
    versions.sort_by_key(|v| rules::LANGS.iter().position(|l| *l == v.lang));
    let stats = store::stats(app.store.read(), Some(id))
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(HelpArticleDetail {
        id,
        category_id: article.category_id,
        created_at: article.created_at,
        updated_at: article.updated_at,
        versions: versions
            .into_iter()
            .map(|v| HelpVersion {
                status: if v.published_at.is_some() {
                    "published"
                } else {
                    "draft"
                }
                .into(),
                unpublished_changes: v.published_at.is_some()
                    && (v.published_title.as_deref() != Some(v.title.as_str())
                        || v.published_body.as_deref() != Some(v.body.as_str())),
                lang: v.lang,
                title: v.title,
                body: v.body,
                published_title: v.published_title,
                published_at: v.published_at,
                author: v.author,
                updated_by: v.updated_by,
                updated_at: v.updated_at,
            })
            .collect(),
        stats,
    })
}

/// An article's versions, drafts included, with views, votes and
/// suggestions shown and taken (agents and above).
#[utoipa::path(get, path = "/api/v1/help/articles/{id}/versions", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id")),
    responses((status = 200, body = HelpArticleDetail), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn versions(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HelpArticleDetail>, Problem> {
    service::staff(Some(&current))?;
    Ok(Json(detail(&app, id).await?))
}

/// A version's new text.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpVersionInput {
    #[schema(max_length = 200)]
    pub title: String,
    /// Markdown, at most 100,000 bytes.
    pub body: String,
    /// Publish it too; a draft otherwise (readers keep what was published).
    #[serde(default)]
    pub publish: bool,
}

/// Saves a version's draft, creating the language if new; every save is a
/// revision (supervisors and desk admins).
#[utoipa::path(put, path = "/api/v1/help/articles/{id}/versions/{lang}", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id"), ("lang" = String, Path, description = "en, zh-CN, zh-TW, ja or th")),
    request_body = HelpVersionInput,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn save_version(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((id, lang)): ApiPath<(i64, String)>,
    ApiJson(input): ApiJson<HelpVersionInput>,
) -> Result<StatusCode, Problem> {
    let editor = service::editor(Some(&current))?;
    let writing = Writing {
        lang: &lang,
        title: &input.title,
        body: &input.body,
        publish: input.publish,
    };
    service::save_version(&app, editor, id, &writing).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publishes a version's draft (supervisors and desk admins).
#[utoipa::path(post, path = "/api/v1/help/articles/{id}/versions/{lang}/publish", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id"), ("lang" = String, Path, description = "Language tag")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn publish(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((id, lang)): ApiPath<(i64, String)>,
) -> Result<StatusCode, Problem> {
    let editor = service::editor(Some(&current))?;
    service::set_published(&app, editor, id, &lang, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a version from readers; its draft stays (supervisors and desk admins).
#[utoipa::path(post, path = "/api/v1/help/articles/{id}/versions/{lang}/unpublish", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id"), ("lang" = String, Path, description = "Language tag")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn unpublish(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((id, lang)): ApiPath<(i64, String)>,
) -> Result<StatusCode, Problem> {
    let editor = service::editor(Some(&current))?;
    service::set_published(&app, editor, id, &lang, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One recorded save, publish, unpublish or restore.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HelpRevision {
    pub id: i64,
    pub lang: String,
    pub title: String,
    pub body: String,
    /// `created`, `saved`, `published`, `unpublished` or `restored`.
    pub action: String,
    /// The revision a restore brought back.
    pub restored_from: Option<i64>,
    /// Who did it.
    pub actor: String,
    pub at: i64,
}

impl From<store::RevisionRow> for HelpRevision {
    fn from(r: store::RevisionRow) -> HelpRevision {
        HelpRevision {
            id: r.id,
            lang: r.lang,
            title: r.title,
            body: r.body,
            action: r.action,
            restored_from: r.restored_from,
            actor: r.actor,
            at: r.at,
        }
    }
}

/// A version's revisions, newest first, a page at a time (agents and above).
#[utoipa::path(get, path = "/api/v1/help/articles/{id}/versions/{lang}/revisions", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id"), ("lang" = String, Path, description = "Language tag"),
        PageQuery),
    responses((status = 200, body = Page<HelpRevision>), (status = 401), (status = 403), (status = 404),
        (status = 422, description = "a bad id, cursor or limit")))]
pub async fn revisions(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((id, lang)): ApiPath<(i64, String)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<HelpRevision>>, Problem> {
    service::staff(Some(&current))?;
    let (before, limit) = query.bounds()?;
    let lang = rules::parse_lang(&lang).ok_or(HelpError::NotFound)?;
    store::article_by_id(app.store.read(), id)
        .await
        .map_err(HelpError::from)?
        .ok_or(HelpError::NotFound)?;
    // Every version has its "created" revision, so a version known is one
    // with revisions, and a cursor past the last one is an empty page.
    let versions = store::versions(app.store.read(), id)
        .await
        .map_err(HelpError::from)?;
    if !versions.iter().any(|v| v.lang == lang) {
        return Err(HelpError::NotFound.into());
    }
    let rows = store::revisions(app.store.read(), id, lang, before, limit + 1)
        .await
        .map_err(HelpError::from)?;
    let items = rows.into_iter().map(HelpRevision::from).collect();
    Ok(Json(page(items, limit, |r: &HelpRevision| r.id)))
}

/// One revision (agents and above).
#[utoipa::path(get, path = "/api/v1/help/articles/{id}/versions/{lang}/revisions/{revision}", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id"), ("lang" = String, Path, description = "Language tag"),
        ("revision" = i64, Path, description = "Revision id")),
    responses((status = 200, body = HelpRevision), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn revision(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((id, lang, revision)): ApiPath<(i64, String, i64)>,
) -> Result<Json<HelpRevision>, Problem> {
    service::staff(Some(&current))?;
    let lang = rules::parse_lang(&lang).ok_or(HelpError::NotFound)?;
    store::article_by_id(app.store.read(), id)
        .await
        .map_err(HelpError::from)?
        .ok_or(HelpError::NotFound)?;
    let row = store::revision_by_id(app.store.read(), id, lang, revision)
        .await
        .map_err(HelpError::from)?
        .ok_or(HelpError::NotFound)?;
    Ok(Json(row.into()))
}

/// Makes a revision's text the version's draft again, as a new revision
/// (supervisors and desk admins).
#[utoipa::path(post, path = "/api/v1/help/articles/{id}/versions/{lang}/revisions/{revision}/restore", tag = "help",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id"), ("lang" = String, Path, description = "Language tag"),
        ("revision" = i64, Path, description = "Revision id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn restore(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath((id, lang, revision)): ApiPath<(i64, String, i64)>,
) -> Result<StatusCode, Problem> {
    let editor = service::editor(Some(&current))?;
    service::restore(&app, editor, id, &lang, revision).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Was this helpful?"
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpVote {
    pub helpful: bool,
}

/// The cookie that tells one signed-out reader's votes from another's.
pub const VISITOR_COOKIE: &str = "koban_help_visitor";

/// Who votes: the account, else the visitor cookie (a new one when the
/// browser has none; the caller sets it).
pub fn voter(current: Option<&Current>, headers: &HeaderMap) -> (String, Option<String>) {
    if let Some(current) = current {
        return (format!("a:{}", current.account.id), None);
    }
    match crate::http::cookie(headers, VISITOR_COOKIE).filter(|v| (16..=64).contains(&v.len())) {
        Some(token) => (
            format!("v:{}", crate::crypto::sha256_hex(token.as_bytes())),
            None,
        ),
        None => {
            let token = crate::crypto::random_token(18);
            (
                format!("v:{}", crate::crypto::sha256_hex(token.as_bytes())),
                Some(token),
            )
        }
    }
}

/// The visitor cookie, kept for a year.
pub fn visitor_cookie(app: &App, token: &str) -> String {
    let mut cookie =
        format!("{VISITOR_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000");
    if crate::web::is_secure(app) {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Says whether a published article helped; one vote per reader (account,
/// or the visitor cookie signed out), changed by voting again.
#[utoipa::path(post, path = "/api/v1/help/articles/{id}/vote", tag = "help",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(("id" = i64, Path, description = "Article id")), request_body = HelpVote,
    responses((status = 204), (status = 401), (status = 404), (status = 422)))]
pub async fn vote(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<HelpVote>,
) -> Result<Response, Problem> {
    let current = signed_in(&app, &headers).await?;
    let (voter, new_cookie) = voter(current.as_ref(), &headers);
    reader::vote(&app, id, &voter, input.helpful).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(token) = new_cookie {
        crate::web::set_cookie(&mut response, visitor_cookie(&app, &token));
    }
    Ok(response)
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SuggestionsQuery {
    /// What the requester typed (subject and body), at most 2,000 characters.
    #[param(max_length = 2000)]
    pub q: String,
    /// `en`, `zh-CN`, `zh-TW`, `ja` or `th`; omitted, the caller's language.
    pub lang: Option<String>,
}

/// Up to five published articles matching what a requester is typing,
/// best first: the ticket form's deflection.
#[utoipa::path(get, path = "/api/v1/help/suggestions", tag = "help",
    security((), ("bearer" = []), ("session_cookie" = [])), params(SuggestionsQuery),
    responses((status = 200, body = Vec<Suggestion>), (status = 401), (status = 422)))]
pub async fn suggestions(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SuggestionsQuery>,
) -> Result<Json<Vec<Suggestion>>, Problem> {
    let current = signed_in(&app, &headers).await?;
    let lang = reader_lang(query.lang.as_deref(), current.as_ref(), &headers)?;
    if query.q.chars().count() > rules::MAX_QUERY_CHARS {
        return Err(Problem::field("q", "too_long"));
    }
    Ok(Json(reader::suggest(&app, &query.q, lang).await?))
}
