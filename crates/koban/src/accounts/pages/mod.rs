//! The accounts pages: sign up, enter the code, sign in, forgotten password,
//! the account home and signing out. Handlers parse the form, call
//! [`service`], and either redirect (POST/redirect/GET) or show the form
//! again with the reasons, keeping what was typed except passwords.

use super::codes::Purpose;
use super::service::{self, Client, Registration};
use super::{sessions, AccountError};
use crate::accounts::sessions::Viewing;
use crate::http::auth::ClientInfo;
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use crate::web::{self, render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::contact::Contact;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

mod password_reset;
mod signup;

use password_reset::*;
pub(crate) use signup::*;

/// Routes for the account pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/signup", get(signup_page).post(signup))
        .route("/verify/resend", post(resend))
        .route("/forgot", get(forgot_page).post(forgot))
        .route("/reset", get(reset_page).post(reset))
        .route("/signout", post(sign_out))
        .route("/signout/everywhere", post(sign_out_everywhere))
        .route("/lang", post(switch_language))
}

/// Saves the language an account chose in the switcher.
pub async fn set_locale(app: &App, account_id: i64, lang: Lang) -> Result<(), AccountError> {
    super::store::set_locale(app.store.write(), account_id, lang.tag()).await?;
    Ok(())
}

/// Regions offered for a phone number typed without its country code,
/// each in its own language (like the language switch).
pub(crate) const REGIONS: &[(&str, &str)] = &[
    ("JP", "日本 +81"),
    ("TW", "臺灣 +886"),
    ("TH", "ประเทศไทย +66"),
    ("CN", "中国 +86"),
    ("HK", "香港 +852"),
    ("KR", "대한민국 +82"),
    ("SG", "Singapore +65"),
    ("MY", "Malaysia +60"),
    ("ID", "Indonesia +62"),
    ("VN", "Việt Nam +84"),
    ("PH", "Philippines +63"),
    ("US", "United States +1"),
    ("GB", "United Kingdom +44"),
];

/// The `?notice=` codes a redirect may carry, and their messages. Only
/// these are shown, so a link cannot put arbitrary text on a page.
pub(crate) fn notice(lang: Lang, code: Option<&str>) -> Option<String> {
    let id = match code? {
        "resent" => "verify-resent",
        "verified-email" => "verified-email",
        "verified-phone" => "verified-phone",
        "code-sent" => "forgot-sent",
        "reset" => "reset-done",
        "password-changed" => "password-changed",
        "signed-out" => "signed-out",
        "signed-out-everywhere" => "signed-out-everywhere",
        "expired" => "problem-challenge-invalid",
        "unlocked" => "unlock-done",
        "device-removed" => "security-device-removed-self",
        _ => return None,
    };
    Some(t(lang, id, &[]))
}

/// Why a form was refused, in words, ready for the template.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct Feedback {
    /// Field name → reasons.
    pub(crate) errors: BTreeMap<String, Vec<String>>,
    /// A message for the whole form.
    pub(crate) alert: Option<String>,
    /// The account exists already: offer sign-in and reset.
    pub(crate) exists: bool,
    /// The account waits for its code: offer the code page.
    pub(crate) unverified: bool,
    #[serde(skip)]
    pub(crate) status: u16,
    #[serde(skip)]
    pub(crate) retry_after: Option<u64>,
}

/// Puts `error` into words for a form showing `fields`; errors about other
/// fields go to the form's alert. The words are the API's problem document
/// (one mapping for both), plus hints the pages act on. Server failures
/// become the error page; a lost session goes back to sign-in.
// The Err side is the page to show instead, made once per request: boxing
// it would buy nothing.
#[allow(clippy::result_large_err)]
pub(crate) fn explain(
    viewer: &Viewer,
    error: AccountError,
    fields: &[&str],
) -> Result<Feedback, Response> {
    let lang = viewer.lang;
    let mut feedback = Feedback::default();
    match &error {
        AccountError::Unauthorized => return Err(see_other("/signin")),
        AccountError::Store(e) => return Err(internal(viewer, e)),
        AccountError::Internal(e) => return Err(internal(viewer, e)),
        AccountError::Duplicate(_) => feedback.exists = true,
        AccountError::VerificationRequired => feedback.unverified = true,
        AccountError::CodeInvalid | AccountError::TotpRefused { .. } => {
            // Said next to the code, where the person is looking.
            let message = crate::http::problem::Problem::from(error).message;
            feedback.status = 422;
            feedback
                .errors
                .insert("code".into(), vec![t(lang, message, &[])]);
            return Ok(feedback);
        }
        _ => {}
    }
    fill(
        &mut feedback,
        crate::http::problem::Problem::from(error),
        lang,
        fields,
    );
    Ok(feedback)
}

/// Puts a problem document another domain answered with into words for a
/// form showing `fields`, as [`explain`] does for accounts' own errors.
// The Err side is the page to show instead, as in `explain`.
#[allow(clippy::result_large_err)]
pub(crate) fn explain_problem(
    viewer: &Viewer,
    problem: crate::http::problem::Problem,
    fields: &[&str],
) -> Result<Feedback, Response> {
    if problem.status == StatusCode::UNAUTHORIZED {
        return Err(see_other(&url_with("/signin", &[("next", &viewer.here)])));
    }
    if problem.status.is_server_error() {
        return Err(render::error(viewer, problem.status, problem.message));
    }
    let mut feedback = Feedback::default();
    fill(&mut feedback, problem, viewer.lang, fields);
    Ok(feedback)
}

/// The status, the words and the per-field reasons of `problem`.
fn fill(
    feedback: &mut Feedback,
    problem: crate::http::problem::Problem,
    lang: Lang,
    fields: &[&str],
) {
    let document = problem.to_json(lang, "");
    feedback.status = problem.status.as_u16();
    feedback.retry_after = problem.retry_after_seconds;
    let mut alert = document["detail"].as_str().unwrap_or_default().to_string();
    for e in problem.errors {
        let reason = t(lang, &format!("reason-{}", e.code), &[]);
        if fields.contains(&e.field.as_str()) {
            feedback.errors.entry(e.field).or_default().push(reason);
        } else {
            alert.push(' ');
            alert.push_str(&reason);
        }
    }
    feedback.alert = Some(alert);
}

pub(crate) fn internal(viewer: &Viewer, cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %cause, "page failed");
    render::error(
        viewer,
        StatusCode::INTERNAL_SERVER_ERROR,
        "problem-internal",
    )
}

/// Shows a form again after `feedback`, with its status and Retry-After.
pub(crate) fn refused(
    viewer: &Viewer,
    template: &str,
    feedback: Feedback,
    page: minijinja::Value,
) -> Response {
    let status = StatusCode::from_u16(feedback.status).unwrap_or(StatusCode::BAD_REQUEST);
    let retry_after = feedback.retry_after;
    let mut response = render::page(
        viewer,
        status,
        template,
        context! { feedback => feedback, ..page },
    );
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The service's view of this browser, in the page's language.
pub(crate) fn client(info: ClientInfo, viewer: &Viewer) -> Client {
    Client {
        lang: Some(viewer.lang),
        ..info.0
    }
}

pub(crate) fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

pub(crate) fn signed_out(app: &App, notice: &str) -> Response {
    let mut response = see_other(&url_with("/signin", &[("notice", notice)]));
    crate::web::set_cookie(&mut response, crate::web::clear_session_cookie(app));
    response
}

pub(crate) fn check_rate(app: &App, contact: &Contact) -> Result<(), AccountError> {
    app.limiter
        .check_account(contact.as_str())
        .map_err(AccountError::RateLimited)
}

// ---- Sign out --------------------------------------------------------------

/// `POST /signout`: ends this session.
async fn sign_out(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    if let Some(current) = viewer.current() {
        if let Err(error) = sessions::revoke(&app, current.session_id).await {
            return internal(&viewer, &error);
        }
    }
    signed_out(&app, "signed-out")
}

/// `POST /signout/everywhere`: ends every session of the account.
async fn sign_out_everywhere(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    if let Some(current) = viewer.current() {
        if let Err(error) = sessions::revoke_all(&app, current.account.id, None).await {
            return internal(&viewer, &error);
        }
    }
    signed_out(&app, "signed-out-everywhere")
}

/// The language switch form.
#[derive(serde::Deserialize)]
struct LangForm {
    #[serde(default)]
    lang: String,
    next: Option<String>,
}

/// `POST /lang`, the language switch in every page's footer: remembers the language in a cookie and, for someone signed
/// in, as their own setting (which outranks the cookie), then goes back.
async fn switch_language(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<LangForm>,
) -> Response {
    let back = web::safe_next(form.next.as_deref(), "/").to_string();
    let Some(lang) = Lang::parse(&form.lang) else {
        return web::see_other(&back);
    };
    if let Some(current) = viewer.current() {
        if let Err(error) = set_locale(&app, current.account.id, lang).await {
            tracing::error!(%error, "saving the language setting failed");
            return render::error(
                &viewer,
                StatusCode::INTERNAL_SERVER_ERROR,
                "problem-internal",
            );
        }
    }
    let mut response = web::see_other(&back);
    web::set_cookie(&mut response, web::lang_cookie(&app, lang));
    response
}
