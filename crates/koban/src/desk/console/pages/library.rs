//! The library pages: canned responses and macros. Every agent reads
//! them (and uses them from a ticket); desk admins add, change and delete
//! them here. Bodies are edited one language per box.

use super::{agent_of, choices, problem_page, Posted};
use crate::accounts::pages::{explain_problem, refused};
use crate::accounts::sessions::Current;
use crate::desk::console::library::{self, DeskCannedInput, DeskMacroInput};
use crate::desk::store::library::Kind;
use crate::desk::DeskError;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::i18n::Lang;
use crate::web::{render, see_other, PageForm, Viewer};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/desk/canned", get(canned_page).post(create_canned))
        .route("/desk/canned/{id}", post(update_canned))
        .route("/desk/canned/{id}/delete", post(delete_canned))
        .route("/desk/macros", get(macros_page).post(create_macro))
        .route("/desk/macros/{id}", post(update_macro))
        .route("/desk/macros/{id}/delete", post(delete_macro))
}

/// The languages a body may be written in, in the switcher's order.
fn languages() -> Vec<&'static str> {
    Lang::ALL.iter().map(|l| l.tag()).collect()
}

/// `body_<lang>` members of a form, by language.
fn bodies(form: &Posted) -> BTreeMap<String, String> {
    languages()
        .into_iter()
        .filter_map(|lang| {
            form.get(&format!("body_{lang}"))
                .map(|body| (lang.to_string(), body.clone()))
        })
        .collect()
}

/// The desk admin behind a writing form, or the page to show instead
/// (an agent who is not an admin: 403).
#[allow(clippy::result_large_err)]
fn admin_of(viewer: &Viewer) -> Result<Current, Response> {
    let agent = agent_of(viewer)?;
    if !agent.account.has_role("admin") {
        return Err(render::error(
            viewer,
            StatusCode::FORBIDDEN,
            "problem-forbidden",
        ));
    }
    Ok(agent)
}

/// The latest library changes as the page shows them (who, what, when in
/// the viewer's zone); only for supervisors and desk admins, as the API.
async fn recent_changes(
    app: &App,
    viewer: &Viewer,
    agent: &Current,
) -> Result<Vec<minijinja::Value>, DeskError> {
    if !agent.account.has_role("supervisor") {
        return Ok(Vec::new());
    }
    let changes = crate::desk::console::library_changes::recent(app).await?;
    Ok(changes
        .into_iter()
        .map(|c| {
            let when = viewer.when(c.at);
            context! {
                kind => c.item_kind,
                item_id => c.item_id,
                name => c.item_name,
                action => c.action,
                who => c.actor,
                at => when.iso,
                at_text => when.text,
            }
        })
        .collect())
}

async fn library_context(
    app: &App,
    viewer: &Viewer,
    agent: &Current,
) -> Result<minijinja::Value, DeskError> {
    Ok(context! {
        changes => recent_changes(app, viewer, agent).await?,
        can_read_changes => agent.account.has_role("supervisor"),
        canned => library::canned_list(app).await?,
        macros => library::macro_list(app).await?,
        languages => languages(),
        is_admin => agent.account.has_role("admin"),
        variables => koban_policy::desk::canned::VARIABLES,
        ..choices()
    })
}

async fn show(app: &App, viewer: &Viewer, template: &str) -> Response {
    let agent = match agent_of(viewer) {
        Ok(agent) => agent,
        Err(response) => return response,
    };
    match library_context(app, viewer, &agent).await {
        Ok(page) => render::page(viewer, StatusCode::OK, template, page),
        Err(error) => problem_page(viewer, error),
    }
}

/// `GET /desk/canned`.
async fn canned_page(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    show(&app, &viewer, "desk_library.html").await
}

/// `GET /desk/macros`.
async fn macros_page(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    show(&app, &viewer, "desk_macros.html").await
}

/// Back to the list after a change, or the list again with the refusal
/// and what was typed (`values`, with `editing` naming the form).
async fn after(
    app: &App,
    viewer: &Viewer,
    admin: &Current,
    kind: Kind,
    result: Result<(), DeskError>,
    values: Posted,
    editing: String,
) -> Response {
    let (template, back) = listed(kind);
    let error = match result {
        Ok(()) => return see_other(back),
        Err(error) => error,
    };
    let mut fields = vec!["name", "bodies", "status", "priority", "category", "tag"];
    let body_fields: Vec<String> = languages().iter().map(|l| format!("bodies.{l}")).collect();
    fields.extend(body_fields.iter().map(String::as_str));
    let feedback = match explain_problem(viewer, Problem::from(error), &fields) {
        Ok(feedback) => feedback,
        Err(response) => return response,
    };
    match library_context(app, viewer, admin).await {
        Ok(page) => refused(
            viewer,
            template,
            feedback,
            context! { values => values, editing => editing, ..page },
        ),
        Err(error) => problem_page(viewer, error),
    }
}

fn canned_input(form: &Posted) -> DeskCannedInput {
    DeskCannedInput {
        name: form.get("name").cloned().unwrap_or_default(),
        bodies: bodies(form),
    }
}

fn macro_input(form: &Posted) -> DeskMacroInput {
    let pick = |name: &str| form.get(name).cloned().filter(|v| !v.trim().is_empty());
    DeskMacroInput {
        name: form.get("name").cloned().unwrap_or_default(),
        status: pick("status"),
        priority: pick("priority"),
        category: pick("category"),
        tag: pick("tag"),
        bodies: bodies(form),
        public: form.get("visibility").map(String::as_str) != Some("internal"),
    }
}

fn id_of(raw: &str) -> Result<i64, DeskError> {
    raw.parse().map_err(|_| DeskError::NotFound)
}

/// Where a kind of library item is listed: its template and its page.
fn listed(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Canned => ("desk_library.html", "/desk/canned"),
        Kind::Macro => ("desk_macros.html", "/desk/macros"),
    }
}

/// Adds (`id` None) or replaces an item from its form, then back to the list.
async fn save(app: &App, viewer: &Viewer, kind: Kind, id: Option<&str>, form: Posted) -> Response {
    let admin = match admin_of(viewer) {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let result = match id.map(id_of).transpose() {
        Ok(id) => match kind {
            Kind::Canned => library::save_canned(app, &admin, id, &canned_input(&form)).await,
            Kind::Macro => library::save_macro(app, &admin, id, &macro_input(&form)).await,
        }
        .map(|_| ()),
        Err(error) => Err(error),
    };
    let editing = id.unwrap_or("new").to_string();
    after(app, viewer, &admin, kind, result, form, editing).await
}

/// `POST /desk/canned`.
async fn create_canned(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Posted>,
) -> Response {
    save(&app, &viewer, Kind::Canned, None, form).await
}

/// `POST /desk/canned/{id}`.
async fn update_canned(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    save(&app, &viewer, Kind::Canned, Some(&id), form).await
}

/// `POST /desk/canned/{id}/delete`.
async fn delete_canned(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(_form): PageForm<Posted>,
) -> Response {
    delete(&app, &viewer, Kind::Canned, &id).await
}

/// `POST /desk/macros`.
async fn create_macro(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Posted>,
) -> Response {
    save(&app, &viewer, Kind::Macro, None, form).await
}

/// `POST /desk/macros/{id}`.
async fn update_macro(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    save(&app, &viewer, Kind::Macro, Some(&id), form).await
}

/// `POST /desk/macros/{id}/delete`.
async fn delete_macro(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(_form): PageForm<Posted>,
) -> Response {
    delete(&app, &viewer, Kind::Macro, &id).await
}

async fn delete(app: &App, viewer: &Viewer, kind: Kind, id: &str) -> Response {
    let admin = match admin_of(viewer) {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let result = match id_of(id) {
        Ok(id) => library::delete(app, &admin, kind, id).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => see_other(listed(kind).1),
        Err(error) => problem_page(viewer, error),
    }
}
