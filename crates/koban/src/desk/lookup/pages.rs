//! The signed-out lookup pages: the reference number, then the code, then
//! the request itself, opened by a grant kept in a cookie for an hour.

use crate::accounts::pages::{explain_problem, refused};
use crate::accounts::sessions::Viewing;
use crate::desk::lookup;
use crate::desk::lookup::api::{CallerIp, Reader};
use crate::desk::DeskError;
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, see_other, set_cookie, PageForm, Viewer};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Cookie holding a lookup grant; only the request pages receive it.
pub const GRANT_COOKIE: &str = "koban_desk_grant";

/// Routes of the lookup pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/support/lookup", get(reference_page).post(ask))
        .route("/support/lookup/check", post(check))
}

type Posted = BTreeMap<String, String>;

/// `GET /support/lookup`.
async fn reference_page(viewer: Viewer) -> Response {
    render::page(
        &viewer,
        StatusCode::OK,
        "support_lookup.html",
        context! { step => "reference", reference => "" },
    )
}

/// `POST /support/lookup`: asks for a code, then shows the code form with
/// the same words whether or not the number is a ticket's.
async fn ask(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    CallerIp(ip): CallerIp,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let reference = form.get("reference").cloned().unwrap_or_default();
    match lookup::request(&app, &reference, &ip.to_string(), viewer.lang).await {
        Ok(()) => render::page(
            &viewer,
            StatusCode::OK,
            "support_lookup.html",
            context! { step => "code", reference => reference.trim() },
        ),
        Err(error) => again(&viewer, error, "reference", &reference),
    }
}

/// The form of `step` again, with the refusal next to its field.
fn again(viewer: &Viewer, error: DeskError, step: &str, reference: &str) -> Response {
    match explain_problem(viewer, Problem::from(error), &["reference", "code"]) {
        Ok(feedback) => refused(
            viewer,
            "support_lookup.html",
            feedback,
            context! { step => step, reference => reference.trim() },
        ),
        Err(response) => response,
    }
}

/// `POST /support/lookup/check`: a right code sets the grant cookie and
/// opens the request.
async fn check(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    CallerIp(ip): CallerIp,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let reference = form.get("reference").cloned().unwrap_or_default();
    let code = form.get("code").cloned().unwrap_or_default();
    match lookup::check(&app, &reference, &code, &ip.to_string()).await {
        Ok(grant) => {
            let mut response = see_other(&format!("/support/tickets/{}", grant.reference));
            let mut cookie = format!(
                "{GRANT_COOKIE}={}; Path=/support/tickets; HttpOnly; SameSite=Lax; Max-Age={}",
                grant.token, grant.expires_in_seconds
            );
            if viewer.secure {
                cookie.push_str("; Secure");
            }
            set_cookie(&mut response, cookie);
            response
        }
        Err(error) => again(&viewer, error, "code", &reference),
    }
}

/// Who reads a request page: the signed-in viewer, else the holder of a
/// live grant cookie; `None` for neither.
pub async fn page_reader(
    app: &App,
    viewer: &Viewer,
    headers: &HeaderMap,
) -> Result<Option<Reader>, DeskError> {
    if let Some(current) = viewer.current() {
        return Ok(Some(Reader::Session(Box::new(current.clone()))));
    }
    let Some(token) = crate::http::cookie(headers, GRANT_COOKIE) else {
        return Ok(None);
    };
    Ok(lookup::granted(app, token)
        .await?
        .map(|ticket| Reader::Grant(Box::new(ticket))))
}
