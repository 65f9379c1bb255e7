//! The page a second-factor verification link opens: the requester answers
//! with the account's authenticator code or a recovery code, signed in or
//! not (they may be locked out: that is often why they wrote).

use crate::accounts::pages::{explain_problem, internal, refused};
use crate::desk::verification::second_factor;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, PageForm, Viewer};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Routes for the verification link's page.
pub fn router() -> Router<Arc<App>> {
    Router::new().route("/support/verify/{token}", get(page).post(answer))
}

const METHODS: [&str; 2] = ["totp", "recovery_code"];

fn form(method: &str) -> minijinja::Value {
    context! { methods => METHODS, method => method, done => false }
}

fn gone(viewer: &Viewer) -> Response {
    render::error(viewer, StatusCode::NOT_FOUND, "support-verify-gone")
}

/// `GET /support/verify/{token}`.
async fn page(State(app): State<Arc<App>>, viewer: Viewer, Path(token): Path<String>) -> Response {
    match second_factor::pending(&app, &token).await {
        Ok(Some(_)) => render::page(&viewer, StatusCode::OK, "support_verify.html", form("totp")),
        Ok(None) => gone(&viewer),
        Err(error) => internal(&viewer, &error),
    }
}

/// `POST /support/verify/{token}`.
async fn answer(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(token): Path<String>,
    PageForm(posted): PageForm<BTreeMap<String, String>>,
) -> Response {
    let method = posted.get("method").map(String::as_str).unwrap_or("totp");
    let code = posted.get("answer").map(String::as_str).unwrap_or_default();
    match second_factor::answer(&app, &token, method, code).await {
        Ok(()) => render::page(
            &viewer,
            StatusCode::OK,
            "support_verify.html",
            context! { done => true },
        ),
        Err(crate::desk::DeskError::NotFound) => gone(&viewer),
        Err(error) => match explain_problem(&viewer, Problem::from(error), &["answer"]) {
            Ok(feedback) => refused(&viewer, "support_verify.html", feedback, form(method)),
            Err(response) => response,
        },
    }
}
