//! The editors' pages under `/help/edit`: categories, articles with their
//! counts, one version's editor with its revisions, and a past revision
//! with its restore. Agents read them; supervisors and desk admins change
//! through the same service as the API.

use crate::accounts::pages::{explain_problem, internal, refused};
use crate::accounts::sessions::{Current, Viewing};
use crate::helpcenter::api::detail;
use crate::helpcenter::error::HelpError;
use crate::helpcenter::pages::refusal;
use crate::helpcenter::reader;
use crate::helpcenter::service::{self, Writing};
use crate::helpcenter::store;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::help::{self as rules, LANGS};
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

const HOME: &str = "/help/edit";

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(HOME, get(dashboard))
        .route("/help/edit/categories", post(create_category))
        .route("/help/edit/categories/{id}", post(update_category))
        .route("/help/edit/categories/{id}/delete", post(delete_category))
        .route("/help/edit/articles", post(create_article))
        .route("/help/edit/articles/{id}", get(editor))
        .route("/help/edit/articles/{id}/move", post(move_article))
        .route("/help/edit/articles/{id}/delete", post(delete_article))
        .route("/help/edit/articles/{id}/versions/{lang}", post(save))
        .route(
            "/help/edit/articles/{id}/versions/{lang}/unpublish",
            post(unpublish),
        )
        .route(
            "/help/edit/articles/{id}/versions/{lang}/revisions/{revision}",
            get(revision),
        )
        .route(
            "/help/edit/articles/{id}/versions/{lang}/revisions/{revision}/restore",
            post(restore),
        )
}

type Form = BTreeMap<String, String>;

/// The viewer if they hold `role`; else sign-in for a visitor, 404 for
/// someone outside the desk, 403 for staff below it (as the desk's admin
/// pages answer).
#[allow(clippy::result_large_err)]
fn holding(viewer: &Viewer, role: &str) -> Result<Current, Response> {
    let Some(current) = viewer.current() else {
        return Err(see_other(&url_with("/signin", &[("next", &viewer.here)])));
    };
    if !current.account.has_role("agent") {
        return Err(render::error(
            viewer,
            StatusCode::NOT_FOUND,
            "problem-not-found",
        ));
    }
    if !current.account.has_role(role) {
        return Err(render::error(
            viewer,
            StatusCode::FORBIDDEN,
            "problem-forbidden",
        ));
    }
    Ok(current.clone())
}

/// A path id, or the 404 page.
#[allow(clippy::result_large_err)]
fn id_of(viewer: &Viewer, text: &str) -> Result<i64, Response> {
    text.parse::<i64>()
        .map_err(|_| refusal(viewer, HelpError::NotFound))
}

/// [`holding`] `role`, on the article whose id is `text`.
// A page's refusal is the response it answers with.
#[allow(clippy::result_large_err)]
fn holding_on(viewer: &Viewer, role: &str, text: &str) -> Result<(Current, i64), Response> {
    let current = holding(viewer, role)?;
    Ok((current, id_of(viewer, text)?))
}

/// The dashboard's variables.
async fn dashboard_context(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    values: &Form,
) -> Result<minijinja::Value, HelpError> {
    let lang = viewer.lang.tag();
    let categories = store::categories(app.store.read()).await?;
    let articles = store::articles(app.store.read(), None).await?;
    let stats = store::stats(app.store.read(), None).await?;
    let mut rows = Vec::new();
    for a in &articles {
        let mut versions = store::versions(app.store.read(), a.id).await?;
        versions.sort_by_key(|v| LANGS.iter().position(|l| *l == v.lang));
        let title = versions
            .iter()
            .find(|v| v.lang == lang)
            .or(versions.first())
            .map(|v| v.title.clone())
            .unwrap_or_default();
        let category = categories.iter().find(|c| c.id == a.category_id);
        rows.push(context! {
            id => a.id, title => title,
            category => category.map(|c| reader::name_in(c, lang)),
            versions => versions.iter().map(|v| context! { lang => v.lang, published => v.published_at.is_some() }).collect::<Vec<_>>(),
            stats => stats.get(&a.id).copied().unwrap_or_default(),
        });
    }
    Ok(context! {
        categories => categories.iter().map(|c| context! {
            id => c.id, position => c.position, name => reader::name_in(c, lang), names => c.names,
        }).collect::<Vec<_>>(),
        articles => rows,
        help_langs => LANGS,
        editor => service::is_editor(current),
        values => values,
    })
}

/// `GET /help/edit`.
async fn dashboard(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    let current = match holding(&viewer, "agent") {
        Ok(current) => current,
        Err(response) => return response,
    };
    match dashboard_context(&app, &viewer, &current, &Form::new()).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "help_edit.html", page),
        Err(error) => refusal(&viewer, error),
    }
}

/// The dashboard again after a refused form, its values kept.
async fn dashboard_refused(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    error: HelpError,
    form: &Form,
    fields: &[&str],
) -> Response {
    if let HelpError::Store(e) = &error {
        return internal(viewer, e);
    }
    match explain_problem(viewer, Problem::from(error), fields) {
        Ok(feedback) => match dashboard_context(app, viewer, current, form).await {
            Ok(page) => refused(viewer, "help_edit.html", feedback, page),
            Err(error) => refusal(viewer, error),
        },
        Err(response) => response,
    }
}

/// The names a category form sent (`name_<tag>`), the blank ones left out.
fn names_of(form: &Form) -> BTreeMap<String, String> {
    LANGS
        .iter()
        .filter_map(|l| {
            let name = form.get(&format!("name_{l}"))?.trim().to_string();
            (!name.is_empty()).then(|| (l.to_string(), name))
        })
        .collect()
}

fn position_of(form: &Form) -> Result<Option<i64>, HelpError> {
    match form
        .get("position")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        None => Ok(None),
        Some(p) => p
            .parse()
            .map(Some)
            .map_err(|_| HelpError::field("position", "not_a_number")),
    }
}

/// `POST /help/edit/categories`.
async fn create_category(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Form>,
) -> Response {
    let current = match holding(&viewer, "supervisor") {
        Ok(current) => current,
        Err(response) => return response,
    };
    let result = match position_of(&form) {
        Ok(position) => service::create_category(&app, &current, &names_of(&form), position).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => see_other(HOME),
        Err(error) => {
            dashboard_refused(
                &app,
                &viewer,
                &current,
                error,
                &form,
                &["names", "position"],
            )
            .await
        }
    }
}

/// `POST /help/edit/categories/{id}`.
async fn update_category(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<Form>,
) -> Response {
    let (current, id) = match holding_on(&viewer, "supervisor", &id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let result = match position_of(&form) {
        Ok(position) => {
            service::update_category(&app, &current, id, Some(&names_of(&form)), position).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => see_other(HOME),
        Err(HelpError::NotFound) => refusal(&viewer, HelpError::NotFound),
        Err(error) => dashboard_refused(&app, &viewer, &current, error, &Form::new(), &[]).await,
    }
}

/// `POST /help/edit/categories/{id}/delete`.
async fn delete_category(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(_): PageForm<Form>,
) -> Response {
    let (current, id) = match holding_on(&viewer, "supervisor", &id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    match service::delete_category(&app, &current, id).await {
        Ok(()) => see_other(HOME),
        Err(HelpError::NotFound) => refusal(&viewer, HelpError::NotFound),
        Err(error) => dashboard_refused(&app, &viewer, &current, error, &Form::new(), &[]).await,
    }
}

fn field<'a>(form: &'a Form, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or_default()
}

/// `POST /help/edit/articles`: a new article with its first version.
async fn create_article(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Form>,
) -> Response {
    let current = match holding(&viewer, "supervisor") {
        Ok(current) => current,
        Err(response) => return response,
    };
    let writing = Writing {
        lang: field(&form, "lang"),
        title: field(&form, "title"),
        body: field(&form, "body"),
        publish: field(&form, "action") == "publish",
    };
    let result = match field(&form, "category_id").parse::<i64>() {
        Ok(category) => service::create_article(&app, &current, category, &writing).await,
        Err(_) => Err(HelpError::field("category_id", "required")),
    };
    match result {
        Ok(id) => see_other(&url_with(
            &format!("/help/edit/articles/{id}"),
            &[("lang", writing.lang)],
        )),
        Err(error) => {
            dashboard_refused(
                &app,
                &viewer,
                &current,
                error,
                &form,
                &["category_id", "lang", "title", "body"],
            )
            .await
        }
    }
}

/// The editor's variables for article `id` in `lang`.
async fn editor_context(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    id: i64,
    lang: &'static str,
    kept: Option<&Form>,
) -> Result<minijinja::Value, HelpError> {
    let article = detail(app, id).await?;
    let revisions = store::revisions(app.store.read(), id, lang, i64::MAX, 500).await?;
    let categories = store::categories(app.store.read()).await?;
    let version = article.versions.iter().find(|v| v.lang == lang);
    let published_url = version
        .filter(|v| v.published_at.is_some())
        .map(|v| reader::url_of(id, v.published_title.as_deref().unwrap_or_default()));
    let here = viewer.lang.tag();
    Ok(context! {
        article => context! { id => id, category_id => article.category_id },
        // Not `lang` nor `langs`: the layout's page language and switcher.
        version_lang => lang,
        versions => article.versions.iter().map(|v| context! { lang => v.lang, status => v.status }).collect::<Vec<_>>(),
        help_langs => LANGS,
        version => version.map(|v| context! {
            title => v.title, body => v.body, status => v.status, changes => v.unpublished_changes,
            author => v.author, updated_by => v.updated_by, updated => viewer.when(v.updated_at),
        }),
        values => kept.map(|f| context! { title => field(f, "title"), body => field(f, "body") }),
        preview => version.map(|v| minijinja::Value::from_safe_string(crate::web::markdown::render(&v.body))),
        published_url => published_url,
        revisions => revisions.iter().map(|r| context! {
            id => r.id, title => r.title, action => r.action, actor => r.actor, at => viewer.when(r.at),
        }).collect::<Vec<_>>(),
        categories => categories.iter().map(|c| context! { id => c.id, name => reader::name_in(c, here) }).collect::<Vec<_>>(),
        stats => article.stats,
        editor => service::is_editor(current),
    })
}

/// `GET /help/edit/articles/{id}?lang=…`.
async fn editor(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<Form>,
) -> Response {
    let (current, id) = match holding_on(&viewer, "agent", &id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let lang = query
        .get("lang")
        .and_then(|l| rules::parse_lang(l))
        .or_else(|| rules::parse_lang(viewer.lang.tag()))
        .unwrap_or("en");
    match editor_context(&app, &viewer, &current, id, lang, None).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "help_edit_article.html", page),
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /help/edit/articles/{id}/versions/{lang}`: saves the draft, and
/// publishes it when `action` is `publish`.
async fn save(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((id, lang)): Path<(String, String)>,
    PageForm(form): PageForm<Form>,
) -> Response {
    let (current, id) = match holding_on(&viewer, "supervisor", &id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(lang) = rules::parse_lang(&lang) else {
        return refusal(&viewer, HelpError::NotFound);
    };
    let writing = Writing {
        lang,
        title: field(&form, "title"),
        body: field(&form, "body"),
        publish: field(&form, "action") == "publish",
    };
    match service::save_version(&app, &current, id, &writing).await {
        Ok(()) => see_other(&url_with(
            &format!("/help/edit/articles/{id}"),
            &[("lang", lang), ("saved", "1")],
        )),
        Err(HelpError::Invalid(errors)) => match explain_problem(
            &viewer,
            Problem::from(HelpError::Invalid(errors)),
            &["title", "body"],
        ) {
            Ok(feedback) => {
                match editor_context(&app, &viewer, &current, id, lang, Some(&form)).await {
                    Ok(page) => refused(&viewer, "help_edit_article.html", feedback, page),
                    Err(error) => refusal(&viewer, error),
                }
            }
            Err(response) => response,
        },
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /help/edit/articles/{id}/versions/{lang}/unpublish`.
async fn unpublish(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((id, lang)): Path<(String, String)>,
    PageForm(_): PageForm<Form>,
) -> Response {
    let (current, id) = match holding_on(&viewer, "supervisor", &id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    match service::set_published(&app, &current, id, &lang, false).await {
        Ok(()) => see_other(&url_with(
            &format!("/help/edit/articles/{id}"),
            &[("lang", &lang)],
        )),
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /help/edit/articles/{id}/move`.
async fn move_article(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<Form>,
) -> Response {
    let (current, id) = match holding_on(&viewer, "supervisor", &id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let result = match field(&form, "category_id").parse::<i64>() {
        Ok(category) => service::move_article(&app, &current, id, category).await,
        Err(_) => Err(HelpError::field("category_id", "required")),
    };
    match result {
        Ok(()) => see_other(&format!("/help/edit/articles/{id}")),
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /help/edit/articles/{id}/delete`.
async fn delete_article(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(_): PageForm<Form>,
) -> Response {
    let (current, id) = match holding_on(&viewer, "supervisor", &id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    match service::delete_article(&app, &current, id).await {
        Ok(()) => see_other(HOME),
        Err(error) => refusal(&viewer, error),
    }
}

/// `GET /help/edit/articles/{id}/versions/{lang}/revisions/{revision}`.
async fn revision(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((id, lang, revision)): Path<(String, String, String)>,
) -> Response {
    let current = match holding(&viewer, "agent") {
        Ok(current) => current,
        Err(response) => return response,
    };
    let (Ok(id), Ok(revision), Some(lang)) = (
        id.parse::<i64>(),
        revision.parse::<i64>(),
        rules::parse_lang(&lang),
    ) else {
        return refusal(&viewer, HelpError::NotFound);
    };
    let found = async {
        store::article_by_id(app.store.read(), id)
            .await?
            .ok_or(HelpError::NotFound)?;
        store::revision_by_id(app.store.read(), id, lang, revision)
            .await?
            .ok_or(HelpError::NotFound)
    }
    .await;
    match found {
        Ok(r) => render::page(
            &viewer,
            StatusCode::OK,
            "help_edit_revision.html",
            context! {
                article_id => id, version_lang => lang, editor => service::is_editor(&current),
                revision => context! {
                    id => r.id, title => r.title, body => r.body, action => r.action, actor => r.actor,
                    at => viewer.when(r.at),
                    html => minijinja::Value::from_safe_string(crate::web::markdown::render(&r.body)),
                },
            },
        ),
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST …/revisions/{revision}/restore`: the revision's text becomes the draft.
async fn restore(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((id, lang, revision)): Path<(String, String, String)>,
    PageForm(_): PageForm<Form>,
) -> Response {
    let current = match holding(&viewer, "supervisor") {
        Ok(current) => current,
        Err(response) => return response,
    };
    let (Ok(id), Ok(revision)) = (id.parse::<i64>(), revision.parse::<i64>()) else {
        return refusal(&viewer, HelpError::NotFound);
    };
    match service::restore(&app, &current, id, &lang, revision).await {
        Ok(()) => see_other(&url_with(
            &format!("/help/edit/articles/{id}"),
            &[("lang", &lang), ("restored", "1")],
        )),
        Err(error) => refusal(&viewer, error),
    }
}
