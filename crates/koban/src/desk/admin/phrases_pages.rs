//! The triage phrases page: supervisors read what steers triage beside the
//! built-in list; desk admins add and remove phrases (see
//! [`crate::desk::admin::phrases`]).

use crate::accounts::pages::{explain_problem, internal, refused};
use crate::accounts::sessions::{Current, Viewing};
use crate::desk::admin::phrases::{self as triage_phrases, NewTriagePhrase};
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::desk::triage::CATEGORIES;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

const PAGE: &str = "/desk/triage-phrases";

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(PAGE, get(page).post(add))
        .route("/desk/triage-phrases/{id}/remove", post(remove))
}

/// The viewer if they hold `role`; else the page to show: sign-in for a
/// visitor, 404 for someone outside the desk, 403 for an agent below it.
#[allow(clippy::result_large_err)]
fn holding(viewer: &Viewer, role: &str) -> Result<Current, Response> {
    let Some(current) = viewer.current() else {
        return Err(see_other(&url_with("/signin", &[("next", PAGE)])));
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

/// Every target a phrase may vote for, as the form offers them.
fn targets() -> Vec<String> {
    let mut all: Vec<String> = CATEGORIES.iter().map(|c| c.to_string()).collect();
    all.push("urgent".into());
    all.extend(CATEGORIES.iter().map(|c| format!("urgent@{c}")));
    all.push("-".into());
    all
}

async fn page_context(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    values: &BTreeMap<String, String>,
) -> Result<minijinja::Value, Response> {
    let phrases = triage_phrases::list(app)
        .await
        .map_err(|e| internal(viewer, &e))?;
    let rows: Vec<minijinja::Value> = phrases
        .into_iter()
        .map(|p| {
            let added = viewer.when(p.created_at);
            context! {
                id => p.id, target => p.target, phrase => p.phrase, weight => p.weight,
                added_at => added.iso, added_text => added.text, removed => p.removed_at.is_some(),
            }
        })
        .collect();
    Ok(context! {
        phrases => rows,
        targets => targets(),
        is_admin => current.account.has_role("admin"),
        values => values,
    })
}

/// `GET /desk/triage-phrases`.
async fn page(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    let current = match holding(&viewer, "supervisor") {
        Ok(current) => current,
        Err(response) => return response,
    };
    match page_context(&app, &viewer, &current, &BTreeMap::new()).await {
        Ok(context) => render::page(&viewer, StatusCode::OK, "desk_triage_phrases.html", context),
        Err(response) => response,
    }
}

/// `POST /desk/triage-phrases`: adds one (desk admins).
async fn add(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Response {
    let admin = match holding(&viewer, "admin") {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let result = match field("weight").trim().parse::<f64>() {
        Ok(weight) if weight.is_finite() => {
            let input = NewTriagePhrase {
                target: field("target"),
                phrase: field("phrase"),
                weight,
            };
            triage_phrases::add(&app, admin.account.id, &input).await
        }
        _ => Err(crate::desk::DeskError::field("weight", "not_a_number")),
    };
    match result {
        Ok(_) => see_other(PAGE),
        Err(error) => {
            match explain_problem(
                &viewer,
                Problem::from(error),
                &["target", "phrase", "weight"],
            ) {
                Ok(feedback) => match page_context(&app, &viewer, &admin, &form).await {
                    Ok(context) => refused(&viewer, "desk_triage_phrases.html", feedback, context),
                    Err(response) => response,
                },
                Err(response) => response,
            }
        }
    }
}

/// `POST /desk/triage-phrases/{id}/remove` (desk admins).
async fn remove(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    PageForm(_): PageForm<BTreeMap<String, String>>,
) -> Response {
    let admin = match holding(&viewer, "admin") {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    match triage_phrases::remove(&app, admin.account.id, id).await {
        Ok(()) => see_other(PAGE),
        Err(error) => {
            let problem = Problem::from(error);
            render::error(&viewer, problem.status, problem.message)
        }
    }
}
