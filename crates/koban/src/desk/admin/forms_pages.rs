//! The desk admin's forms page: every category with its fields, and an
//! editor per category (standard fields required, optional or off; custom
//! fields added, removed, reordered, typed and labelled per language).
//! Saving goes through [`crate::desk::admin::forms::save`], as the API
//! does; problems are shown next to the field they are about.

use crate::accounts::pages::{explain_problem, refused};
use crate::accounts::sessions::Current;
use crate::desk::admin::forms::{self, form_for};
use crate::desk::admin::forms_edit::{self, Posted};
use crate::desk::console::pages::agent_of;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::i18n::Lang;
use crate::web::{render, see_other, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use koban_policy::desk::forms::{Category, CustomKind, Field};
use minijinja::context;
use std::sync::Arc;

const PAGE: &str = "/desk/admin/forms";

/// Routes of the forms page.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(PAGE, get(list))
        .route("/desk/admin/forms/{category}", get(editor).post(save))
}

/// The viewer if a desk admin; else the page to show: sign-in for a
/// visitor, 404 for someone outside the desk, 403 for agents and
/// supervisors (the service checks again when saving).
#[allow(clippy::result_large_err)]
fn admin(viewer: &Viewer) -> Result<Current, Response> {
    let current = agent_of(viewer)?;
    if !current.account.has_role("admin") {
        return Err(render::error(
            viewer,
            StatusCode::FORBIDDEN,
            "problem-forbidden",
        ));
    }
    Ok(current)
}

fn not_found(viewer: &Viewer) -> Response {
    render::error(viewer, StatusCode::NOT_FOUND, "problem-not-found")
}

/// `GET /desk/admin/forms`: the categories and what each form holds.
async fn list(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    if let Err(response) = admin(&viewer) {
        return response;
    }
    let lang = viewer.lang.tag();
    let mut categories = Vec::new();
    for category in Category::ALL {
        let spec = match form_for(&app, category).await {
            Ok(spec) => spec,
            Err(e) => return crate::accounts::pages::internal(&viewer, &e),
        };
        categories.push(context! {
            id => category.as_str(),
            required => spec.required.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            optional => spec.optional.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            custom => spec.custom.iter().map(|c| c.label(lang).to_string()).collect::<Vec<_>>(),
        });
    }
    render::page(
        &viewer,
        StatusCode::OK,
        "desk_admin_forms.html",
        context! { categories => categories },
    )
}

/// What the editor template needs besides the members it shows.
fn editor_context(category: Category, values: &Posted, rows: usize) -> minijinja::Value {
    context! {
        category => category.as_str(),
        values => values,
        rows => (0..rows).collect::<Vec<_>>(),
        standard => Field::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        types => CustomKind::TYPES,
        languages => Lang::ALL.iter().map(|l| context! {
            tag => l.tag(), name => l.native_name(),
        }).collect::<Vec<_>>(),
    }
}

/// `GET /desk/admin/forms/{category}`: the editor, filled with the form.
async fn editor(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(category): Path<String>,
    Query(query): Query<Posted>,
) -> Response {
    if let Err(response) = admin(&viewer) {
        return response;
    }
    let Ok(category) = Category::parse(&category) else {
        return not_found(&viewer);
    };
    let spec = match form_for(&app, category).await {
        Ok(spec) => spec,
        Err(e) => return crate::accounts::pages::internal(&viewer, &e),
    };
    let (values, rows) = forms_edit::members(&spec);
    render::page(
        &viewer,
        StatusCode::OK,
        "desk_admin_form.html",
        context! { saved => query.contains_key("saved"), ..editor_context(category, &values, rows) },
    )
}

/// `POST /desk/admin/forms/{category}`: saves the edited form; refused,
/// the editor comes back as posted with each problem by its field.
async fn save(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(category): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let current = match admin(&viewer) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let Ok(parsed) = Category::parse(&category) else {
        return not_found(&viewer);
    };
    let result = match forms_edit::change(&form) {
        Ok(change) => forms::save(&app, &current, &category, change).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => see_other(&format!("{PAGE}/{category}?saved=1")),
        Err(error) => {
            let rows = forms_edit::rows_posted(&form);
            let mut names: Vec<String> = (0..rows)
                .filter_map(|i| {
                    form.get(&format!("c{i}.id"))
                        .map(|id| id.trim().to_string())
                })
                .collect();
            names.extend(Field::ALL.iter().map(|f| f.as_str().to_string()));
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            match explain_problem(&viewer, Problem::from(error), &names) {
                Ok(feedback) => refused(
                    &viewer,
                    "desk_admin_form.html",
                    feedback,
                    editor_context(parsed, &form, rows),
                ),
                Err(response) => response,
            }
        }
    }
}
