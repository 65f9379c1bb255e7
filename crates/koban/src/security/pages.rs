//! The security center's pages: the sign-in steps after the password (a
//! second factor, the device limit), the lock page with self-service
//! unlock, and under `/account/security` the devices, login history,
//! security timeline, two-factor set-up and step-up. Handlers call the same
//! services as [`super::api`], then redirect (POST/redirect/GET) or show the
//! form again with the reasons.

use super::client::ClientContext;
use super::devices::{self, Device};
use super::history;
use super::passkeys::{self, PasskeyOptions};
use super::signin::{self, Challenge, Outcome};
use super::totp;
use crate::accounts::pages::{explain, internal, refused};
use crate::accounts::sessions::{self, Current};
use crate::accounts::AccountError;
use crate::app::App;
use crate::http::pagination::PageQuery;
use crate::web::i18n::{has_message, t, Lang};
use crate::web::{
    clear_challenge_cookie, render, safe_next, see_other, set_cookie, url_with, PageForm, Viewer,
    When, CHALLENGE_COOKIE,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::contact::Contact;
use minijinja::context;
use std::collections::HashMap;
use std::sync::Arc;

/// Routes for the security pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/signin/second-factor",
            get(second_factor_page).post(second_factor),
        )
        .route(
            "/signin/second-factor/passkey/options",
            post(second_factor_passkey_options),
        )
        .route("/signin/devices", get(device_limit_page).post(device_limit))
        .route("/account/security", get(overview))
        .route("/account/security/devices/{id}/rename", post(rename_device))
        .route(
            "/account/security/devices/{id}/remove",
            get(remove_device_page).post(remove_device),
        )
        .route("/account/security/sign-out-others", post(sign_out_others))
        .route(
            "/account/security/passkeys",
            get(add_passkey_page).post(add_passkey),
        )
        .route(
            "/account/security/passkeys/{id}/rename",
            post(rename_passkey),
        )
        .route(
            "/account/security/passkeys/{id}/remove",
            get(remove_passkey_page).post(remove_passkey),
        )
        .route("/account/security/history", get(history_page))
        .route("/account/security/timeline", get(timeline_page))
        .route("/account/secure", get(secure_page))
        .route("/account/security/2fa", get(two_factor_page))
        .route("/account/security/2fa/begin", post(totp_begin))
        .route("/account/security/2fa/confirm", post(totp_confirm))
        .route(
            "/account/security/2fa/recovery-codes",
            get(recovery_codes_page).post(recovery_codes),
        )
        .route(
            "/account/security/2fa/disable",
            get(disable_page).post(disable),
        )
        .route("/account/security/step-up", get(step_up_page).post(step_up))
        .route("/account/security/step-up/code", post(step_up_code))
}

// ---- Shared pieces ---------------------------------------------------------

/// The `?notice=` codes of the security pages and their messages; only
/// these are shown, so a link cannot put arbitrary text on a page.
pub(super) fn notice(lang: Lang, code: Option<&str>) -> Option<String> {
    let id = match code? {
        "device-renamed" => "security-device-renamed",
        "device-removed" => "security-device-removed",
        "signed-out-others" => "security-signed-out-others",
        "2fa-on" => "twofa-on-notice",
        "2fa-off" => "twofa-off-notice",
        "passkey-added" => "passkey-added-notice",
        "passkey-renamed" => "passkey-renamed-notice",
        "passkey-removed" => "passkey-removed-notice",
        "step-up-sent" => "stepup-sent",
        "unlock-sent" => "unlock-sent",
        _ => return None,
    };
    Some(t(lang, id, &[]))
}

#[derive(Debug, Default, serde::Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// Off to sign in, coming back to `back` afterwards.
fn sign_in_first(back: &str) -> Response {
    see_other(&url_with("/signin", &[("next", back)]))
}

/// The error page for a refusal that has no form to go back to.
fn failed(viewer: &Viewer, error: AccountError) -> Response {
    match explain(viewer, error, &[]) {
        Ok(feedback) => {
            let status = StatusCode::from_u16(feedback.status).unwrap_or(StatusCode::BAD_REQUEST);
            render::page(
                viewer,
                status,
                "error.html",
                context! { status => status.as_u16(), message => feedback.alert },
            )
        }
        Err(response) => response,
    }
}

fn not_found(viewer: &Viewer) -> Response {
    render::error(viewer, StatusCode::NOT_FOUND, "problem-not-found")
}

/// A platform code in words.
fn platform_label(lang: Lang, platform: &str) -> String {
    let id = format!("platform-{platform}");
    if has_message(Lang::En, &id) {
        t(lang, &id, &[])
    } else {
        t(lang, "platform-other", &[])
    }
}

/// `prefix-code` in words where it has a message, else the code itself.
fn label(lang: Lang, prefix: &str, code: &str) -> String {
    let id = format!("{prefix}-{code}");
    if has_message(Lang::En, &id) {
        t(lang, &id, &[])
    } else {
        code.to_string()
    }
}

/// A device as the pages show it.
#[derive(Debug, serde::Serialize)]
struct DeviceView {
    id: i64,
    name: String,
    platform: String,
    client_version: Option<String>,
    first_seen: When,
    last_seen: When,
    last_ip: Option<String>,
    last_country: Option<String>,
    current: bool,
}

fn device_view(viewer: &Viewer, d: &Device) -> DeviceView {
    DeviceView {
        id: d.id,
        name: d.name.clone(),
        platform: platform_label(viewer.lang, &d.platform),
        client_version: d.client_version.clone(),
        first_seen: viewer.when(d.first_seen_at),
        last_seen: viewer.when(d.last_seen_at),
        last_ip: d.last_ip.clone(),
        last_country: d.last_country.clone(),
        current: d.current,
    }
}

/// What every page of the center shows about times.
fn zone_note(viewer: &Viewer) -> String {
    match viewer.tz {
        Some(_) => t(
            viewer.lang,
            "security-times-in-zone",
            &[("zone", viewer.zone_name())],
        ),
        None => t(viewer.lang, "security-times-in-utc", &[]),
    }
}

fn masked_contact(account: &crate::accounts::Account) -> Option<String> {
    signin::verified_contacts(account)
        .first()
        .map(Contact::masked)
}

// ---- Sign-in steps -----------------------------------------------------------

/// Turns a sign-in outcome into its redirect: the session cookie, or the
/// challenge cookie and the next step's page; a new device key is handed
/// back as the device cookie in every case.
pub fn after_sign_in(app: &App, outcome: Outcome, ctx: &ClientContext, next: &str) -> Response {
    let carry = if next == "/account" { "" } else { next };
    let mut response = match outcome {
        Outcome::SignedIn { session, .. } => {
            let mut response = see_other(next);
            set_cookie(
                &mut response,
                crate::web::session_cookie(app, &session.token),
            );
            set_cookie(&mut response, clear_challenge_cookie(app));
            response
        }
        Outcome::SecondFactor { challenge, .. } => {
            let mut response = see_other(&url_with("/signin/second-factor", &[("next", carry)]));
            set_cookie(&mut response, crate::web::challenge_cookie(app, &challenge));
            response
        }
        Outcome::DeviceLimit { challenge, .. } => {
            let mut response = see_other(&url_with("/signin/devices", &[("next", carry)]));
            set_cookie(&mut response, crate::web::challenge_cookie(app, &challenge));
            response
        }
    };
    if ctx.device_key_is_new {
        set_cookie(
            &mut response,
            crate::web::device_cookie(app, &ctx.device_key),
        );
    }
    response
}

/// Back to the sign-in form: the challenge is missing, forged, used or expired.
fn challenge_expired(app: &App) -> Response {
    let mut response = see_other("/signin?notice=expired");
    set_cookie(&mut response, clear_challenge_cookie(app));
    response
}

fn is_challenge_error(error: &AccountError) -> bool {
    matches!(error, AccountError::Invalid(errors) if errors.iter().any(|e| e.field == "challenge"))
}

/// Reads the challenge named by the cookie, or the response to give instead.
async fn challenge(
    app: &App,
    viewer: &Viewer,
    headers: &HeaderMap,
    kind: &str,
) -> Result<Challenge, Response> {
    let Some(token) = crate::http::cookie(headers, CHALLENGE_COOKIE) else {
        return Err(challenge_expired(app));
    };
    match signin::open_challenge(app, token, kind).await {
        Ok(challenge) => Ok(challenge),
        Err(e) if is_challenge_error(&e) => Err(challenge_expired(app)),
        Err(e) => Err(failed(viewer, e)),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

#[derive(Debug, Default, serde::Deserialize)]
struct SecondFactorForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
    /// With `method=passkey`: the ceremony and the browser's answer (JSON),
    /// filled in by the page's script.
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

/// The browser's answer as the page's script put it in a form field.
pub(super) fn credential_field(text: &str) -> Result<serde_json::Value, AccountError> {
    serde_json::from_str(text).map_err(|_| AccountError::field("credential", "passkey_malformed"))
}

/// `POST /signin/second-factor/passkey/options`: the page's script asks for
/// the options of `navigator.credentials.get()` for the sign-in in the cookie.
async fn second_factor_passkey_options(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<axum::Json<PasskeyOptions>, crate::http::problem::Problem> {
    let token = crate::http::cookie(&headers, CHALLENGE_COOKIE)
        .ok_or_else(|| crate::http::problem::Problem::field("challenge", "invalid_value"))?;
    Ok(axum::Json(signin::passkey_options(&app, token).await?))
}

/// The second-factor form: the methods the account can use, as sign-in offers them.
async fn second_factor_context(
    app: &App,
    challenge: &Challenge,
    method: &str,
    next: &str,
) -> Result<minijinja::Value, AccountError> {
    let factors = totp::factors(app, challenge.account.id).await?;
    // A passkey is offered as its own button; the form takes the codes.
    let methods: Vec<&str> = factors
        .methods()
        .into_iter()
        .filter(|m| *m != "passkey")
        .collect();
    let method = methods
        .iter()
        .find(|m| **m == method)
        .unwrap_or(&methods[0])
        .to_string();
    Ok(context! {
        methods => methods,
        method => method,
        passkey => factors.passkey,
        totp => factors.totp,
        destination => masked_contact(&challenge.account),
        next => safe_next(Some(next), ""),
    })
}

/// `GET /signin/second-factor`.
async fn second_factor_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Response {
    let challenge = match challenge(&app, &viewer, &headers, "second_factor").await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match second_factor_context(&app, &challenge, "", &query.next).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "second_factor.html", page),
        Err(e) => failed(&viewer, e),
    }
}

/// `POST /signin/second-factor`: the code finishes the sign-in.
async fn second_factor(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    mut ctx: ClientContext,
    headers: HeaderMap,
    PageForm(form): PageForm<SecondFactorForm>,
) -> Response {
    ctx.lang = viewer.lang;
    let next = safe_next(Some(&form.next), "/account");
    let Some(token) = crate::http::cookie(&headers, CHALLENGE_COOKIE) else {
        return challenge_expired(&app);
    };
    let result = if form.method == "passkey" {
        match credential_field(&form.credential) {
            Ok(credential) => {
                signin::second_factor_passkey(&app, token, &form.ceremony, credential, &ctx).await
            }
            Err(e) => Err(e),
        }
    } else {
        signin::second_factor(&app, token, &form.method, &form.code, &ctx).await
    };
    match result {
        Ok(outcome) => after_sign_in(&app, outcome, &ctx, next),
        Err(e) if is_challenge_error(&e) => challenge_expired(&app),
        Err(error) => {
            let challenge = match challenge(&app, &viewer, &headers, "second_factor").await {
                Ok(c) => c,
                Err(response) => return response,
            };
            let page = match second_factor_context(&app, &challenge, &form.method, &form.next).await
            {
                Ok(page) => page,
                Err(e) => return failed(&viewer, e),
            };
            match explain(&viewer, error, &["code", "method"]) {
                Ok(feedback) => refused(&viewer, "second_factor.html", feedback, page),
                Err(response) => response,
            }
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct DeviceLimitForm {
    #[serde(default)]
    remove_device_id: String,
    #[serde(default)]
    next: String,
}

async fn device_limit_context(
    app: &App,
    viewer: &Viewer,
    challenge: &Challenge,
    next: &str,
) -> Result<minijinja::Value, AccountError> {
    let bound = devices::list(&app.store, challenge.account.id, None).await?;
    let views: Vec<DeviceView> = bound.iter().map(|d| device_view(viewer, d)).collect();
    Ok(context! {
        devices => views,
        this_device => challenge.spec.name,
        zone_note => zone_note(viewer),
        next => safe_next(Some(next), ""),
    })
}

/// `GET /signin/devices`: the account is at its device limit; which one goes?
async fn device_limit_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Response {
    let challenge = match challenge(&app, &viewer, &headers, "device_limit").await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match device_limit_context(&app, &viewer, &challenge, &query.next).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "device_limit.html", page),
        Err(e) => failed(&viewer, e),
    }
}

/// `POST /signin/devices`: removes the chosen device and finishes the sign-in.
async fn device_limit(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    mut ctx: ClientContext,
    headers: HeaderMap,
    PageForm(form): PageForm<DeviceLimitForm>,
) -> Response {
    ctx.lang = viewer.lang;
    let next = safe_next(Some(&form.next), "/account");
    let Some(token) = crate::http::cookie(&headers, CHALLENGE_COOKIE) else {
        return challenge_expired(&app);
    };
    let result = match form.remove_device_id.trim().parse::<i64>() {
        Ok(id) => signin::resolve_device_limit(&app, token, id, &ctx).await,
        Err(_) => Err(AccountError::field("remove_device_id", "invalid_value")),
    };
    match result {
        Ok(outcome) => after_sign_in(&app, outcome, &ctx, next),
        Err(e) if is_challenge_error(&e) => challenge_expired(&app),
        Err(error) => {
            let challenge = match challenge(&app, &viewer, &headers, "device_limit").await {
                Ok(c) => c,
                Err(response) => return response,
            };
            let page = match device_limit_context(&app, &viewer, &challenge, &form.next).await {
                Ok(page) => page,
                Err(e) => return failed(&viewer, e),
            };
            match explain(&viewer, error, &[]) {
                Ok(feedback) => refused(&viewer, "device_limit.html", feedback, page),
                Err(response) => response,
            }
        }
    }
}

// ---- Devices ---------------------------------------------------------------

async fn overview_context(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    notice: Option<String>,
) -> Result<minijinja::Value, AccountError> {
    let bound = devices::list(&app.store, current.account.id, current.device_id).await?;
    let views: Vec<DeviceView> = bound.iter().map(|d| device_view(viewer, d)).collect();
    let factors = totp::factors(app, current.account.id).await?;
    let keys: Vec<minijinja::Value> = passkeys::list(app, current.account.id)
        .await?
        .into_iter()
        .map(|p| {
            context! {
                id => p.id,
                name => p.name,
                created => viewer.when(p.created_at),
                last_used => p.last_used_at.map(|at| viewer.when(at)),
            }
        })
        .collect();
    Ok(context! {
        section => "devices",
        devices => views,
        passkeys => keys,
        totp_on => factors.on(),
        totp_app => factors.totp,
        zone_note => zone_note(viewer),
        notice => notice,
    })
}

/// `GET /account/security`: the devices, and where the rest of the center is.
async fn overview(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first(&viewer.here);
    };
    let notice = notice(viewer.lang, query.notice.as_deref());
    match overview_context(&app, &viewer, current, notice).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "security.html", page),
        Err(e) => failed(&viewer, e),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct RenameForm {
    #[serde(default)]
    name: String,
}

/// `POST /account/security/devices/{id}/rename`.
async fn rename_device(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    ctx: ClientContext,
    Path(id): Path<String>,
    PageForm(form): PageForm<RenameForm>,
) -> Response {
    let Some(current) = viewer.current.clone() else {
        return sign_in_first("/account/security");
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&viewer);
    };
    let result = async {
        let name =
            devices::check_name(&form.name).map_err(|code| AccountError::field("name", code))?;
        if !devices::rename(
            &app.store,
            current.account.id,
            id,
            name,
            Some(&ctx.ip.to_string()),
        )
        .await?
        {
            return Err(AccountError::NotFound);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => see_other("/account/security?notice=device-renamed"),
        Err(AccountError::NotFound) => not_found(&viewer),
        Err(error) => {
            viewer.here = "/account/security".into();
            let page = match overview_context(&app, &viewer, &current, None).await {
                Ok(page) => page,
                Err(e) => return failed(&viewer, e),
            };
            match explain(&viewer, error, &["name"]) {
                Ok(feedback) => refused(
                    &viewer,
                    "security.html",
                    feedback,
                    context! { renaming => id, name => form.name, ..page },
                ),
                Err(response) => response,
            }
        }
    }
}

/// Where to go to pass step-up before coming back to `back`.
fn step_up_first(back: &str) -> Response {
    see_other(&url_with("/account/security/step-up", &[("next", back)]))
}

/// The device `id` of the signed-in account and whether removing it needs a
/// fresh step-up (it is the last one), as the API decides.
async fn removable(
    app: &App,
    current: &Current,
    id: &str,
) -> Result<Option<(Device, bool)>, AccountError> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let bound = devices::list(&app.store, current.account.id, current.device_id).await?;
    let last = bound.len() == 1;
    Ok(bound
        .into_iter()
        .find(|d| d.id == id)
        .map(|d| (d, last && totp::require_step_up(current).is_err())))
}

/// `GET /account/security/devices/{id}/remove`: asks to confirm (the step-up
/// page comes back here).
async fn remove_device_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first(&viewer.here);
    };
    match removable(&app, current, &id).await {
        Ok(None) => not_found(&viewer),
        Ok(Some((_, true))) => step_up_first(&viewer.here),
        Ok(Some((device, false))) => render::page(
            &viewer,
            StatusCode::OK,
            "confirm.html",
            context! {
                section => "devices",
                title => t(viewer.lang, "security-remove-title", &[]),
                text => t(viewer.lang, "security-remove-text", &[("device", device.name.clone())]),
                action => format!("/account/security/devices/{}/remove", device.id),
                button => t(viewer.lang, "security-remove", &[]),
                button_id => "confirm-remove",
                danger => true,
            },
        ),
        Err(e) => failed(&viewer, e),
    }
}

/// `POST /account/security/devices/{id}/remove`: unbinds the device and
/// ends its sessions; the last device needs a fresh step-up first.
async fn remove_device(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    ctx: ClientContext,
    Path(id): Path<String>,
) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first("/account/security");
    };
    let device = match removable(&app, current, &id).await {
        Ok(None) => return not_found(&viewer),
        Ok(Some((device, true))) => {
            return step_up_first(&format!("/account/security/devices/{}/remove", device.id))
        }
        Ok(Some((device, false))) => device,
        Err(e) => return failed(&viewer, e),
    };
    if let Err(e) = devices::remove(
        &app.store,
        current.account.id,
        device.id,
        Some(&ctx.ip.to_string()),
        "removed by owner",
    )
    .await
    {
        return internal(&viewer, &e);
    }
    if device.current {
        // This browser's own session ended with its device.
        let mut response = see_other("/signin?notice=device-removed");
        set_cookie(&mut response, crate::web::clear_session_cookie(&app));
        return response;
    }
    see_other("/account/security?notice=device-removed")
}

/// `POST /account/security/sign-out-others`: every other session ends.
async fn sign_out_others(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first("/account/security");
    };
    match sessions::revoke_all(&app, current.account.id, Some(current.session_id)).await {
        Ok(_) => see_other("/account/security?notice=signed-out-others"),
        Err(e) => failed(&viewer, e),
    }
}

// ---- Login history and timeline -----------------------------------------------

#[derive(Debug, Default, serde::Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct AttemptRow {
    at: When,
    outcome: String,
    outcome_code: String,
    ok: bool,
    decision: String,
    ip: String,
    country: Option<String>,
    device: String,
    risk_score: i64,
    reasons: Vec<String>,
}

/// `GET /account/security/history`: the account's sign-in attempts, newest first.
async fn history_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<CursorQuery>,
) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first(&viewer.here);
    };
    let query = PageQuery {
        cursor: query.cursor,
        limit: Some(20),
    };
    let page = match history::attempts(&app, current.account.id, &query).await {
        Ok(page) => page,
        Err(problem) => return render::error(&viewer, problem.status, problem.message),
    };
    let names: HashMap<i64, String> =
        match devices::list(&app.store, current.account.id, None).await {
            Ok(list) => list.into_iter().map(|d| (d.id, d.name)).collect(),
            Err(e) => return internal(&viewer, &e),
        };
    let lang = viewer.lang;
    let rows: Vec<AttemptRow> = page
        .items
        .into_iter()
        .map(|a| AttemptRow {
            at: viewer.when(a.at),
            outcome: label(lang, "attempt", &a.outcome),
            ok: a.outcome == "success",
            decision: label(lang, "decision", &a.decision),
            ip: a.ip,
            country: a.country,
            device: a
                .device_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| {
                    koban_policy::device::describe_user_agent(a.user_agent.as_deref().unwrap_or(""))
                        .0
                }),
            risk_score: a.risk_score,
            reasons: a
                .reasons
                .iter()
                .map(|r| label(lang, "risk-reason", r))
                .collect(),
            outcome_code: a.outcome,
        })
        .collect();
    let next = page
        .next_cursor
        .map(|c| url_with("/account/security/history", &[("cursor", &c)]));
    render::page(
        &viewer,
        StatusCode::OK,
        "login_history.html",
        context! { section => "history", rows => rows, next => next, zone_note => zone_note(&viewer) },
    )
}

#[derive(Debug, serde::Serialize)]
struct EventRow {
    at: When,
    kind: String,
    kind_code: String,
    detail: String,
    ip: Option<String>,
}

/// `GET /account/security/timeline`: what changed on the account, newest first.
async fn timeline_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<CursorQuery>,
) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first(&viewer.here);
    };
    let query = PageQuery {
        cursor: query.cursor,
        limit: Some(20),
    };
    let page = match history::events(&app.store, current.account.id, &query).await {
        Ok(page) => page,
        Err(problem) => return render::error(&viewer, problem.status, problem.message),
    };
    let rows: Vec<EventRow> = page
        .items
        .into_iter()
        .map(|e| EventRow {
            at: viewer.when(e.at),
            kind: label(viewer.lang, "event", &e.kind),
            detail: event_detail(viewer.lang, &e.kind, e.detail),
            kind_code: e.kind,
            ip: e.ip,
        })
        .collect();
    let next = page
        .next_cursor
        .map(|c| url_with("/account/security/timeline", &[("cursor", &c)]));
    render::page(
        &viewer,
        StatusCode::OK,
        "timeline.html",
        context! { section => "timeline", rows => rows, next => next, zone_note => zone_note(&viewer) },
    )
}

/// An event's detail in the reader's words: the risk engine's reasons are
/// stored as codes and shown translated; other details as written.
fn event_detail(lang: Lang, kind: &str, detail: String) -> String {
    if !matches!(kind, "risky_sign_in" | "sign_in_step_up" | "locked") {
        return detail;
    }
    detail
        .split(',')
        .filter(|code| !code.is_empty())
        .map(|code| label(lang, "risk-reason", code))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where "this wasn't me" in a risky sign-in alert leads: the three things
/// that take an account back, or, signed out, the way to sign in or reset
/// the password (a reset signs out every device).
async fn secure_page(viewer: Viewer) -> Response {
    render::page(
        &viewer,
        StatusCode::OK,
        "secure.html",
        context! { signed_in => viewer.current.is_some() },
    )
}

// ---- Two-factor authentication ------------------------------------------------

/// The base32 secret in groups of four, easier to type.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The server-rendered QR code, ready to embed. It is our own SVG (the
/// `qrcode` crate's output for our otpauth URI), so it alone is marked safe;
/// everything else on the page stays escaped. The XML prolog is dropped.
fn qr_markup(svg: &str) -> minijinja::Value {
    let svg = svg
        .find("<svg")
        .map(|start| &svg[start..])
        .unwrap_or_default();
    let lower = svg.to_ascii_lowercase();
    // Defence in depth: a QR code is only paths; anything active is not shown.
    if lower.contains("script") || lower.contains("foreignobject") || lower.contains(" on") {
        return minijinja::Value::from("");
    }
    minijinja::Value::from_safe_string(svg.to_string())
}

async fn two_factor_context(
    app: &App,
    current: &Current,
    notice: Option<String>,
) -> Result<minijinja::Value, AccountError> {
    let factors = totp::factors(app, current.account.id).await?;
    let pending = if factors.totp {
        None
    } else {
        totp::pending(app, current).await?
    };
    Ok(context! {
        section => "2fa",
        on => factors.on(),
        totp_on => factors.totp,
        passkey_on => factors.passkey,
        pending => pending.map(|e| context! {
            secret => grouped(&e.secret),
            otpauth_uri => e.otpauth_uri,
            qr => qr_markup(&e.qr_svg),
        }),
        notice => notice,
    })
}

/// `GET /account/security/2fa`: on or off; while enrolling, the QR code.
async fn two_factor_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first(&viewer.here);
    };
    let notice = notice(viewer.lang, query.notice.as_deref());
    match two_factor_context(&app, current, notice).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "two_factor.html", page),
        Err(e) => failed(&viewer, e),
    }
}

/// Shows the 2FA page again after `error` on one of its forms.
async fn two_factor_refused(app: &App, viewer: &mut Viewer, error: AccountError) -> Response {
    let Some(current) = viewer.current.clone() else {
        return sign_in_first("/account/security/2fa");
    };
    viewer.here = "/account/security/2fa".into();
    let page = match two_factor_context(app, &current, None).await {
        Ok(page) => page,
        Err(e) => return failed(viewer, e),
    };
    match explain(viewer, error, &["code"]) {
        Ok(feedback) => refused(viewer, "two_factor.html", feedback, page),
        Err(response) => response,
    }
}

/// `POST /account/security/2fa/begin`: a new secret, pending until confirmed.
async fn totp_begin(State(app): State<Arc<App>>, mut viewer: Viewer) -> Response {
    let Some(current) = viewer.current.clone() else {
        return sign_in_first("/account/security/2fa");
    };
    match totp::begin(&app, &current).await {
        Ok(_) => see_other("/account/security/2fa"),
        Err(error) => two_factor_refused(&app, &mut viewer, error).await,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct CodeForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
    /// With `method=passkey`: filled in by the page's script.
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

/// The recovery codes, shown once, straight in the answer to the POST that
/// made them: they are stored only hashed, so no later GET could show them.
fn recovery_codes_shown(viewer: &Viewer, codes: Vec<String>, first: bool) -> Response {
    render::page(
        viewer,
        StatusCode::OK,
        "recovery_codes.html",
        context! { section => "2fa", codes => codes, first => first },
    )
}

/// `POST /account/security/2fa/confirm`: the first code turns 2FA on.
async fn totp_confirm(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    PageForm(form): PageForm<CodeForm>,
) -> Response {
    let Some(current) = viewer.current.clone() else {
        return sign_in_first("/account/security/2fa");
    };
    match totp::confirm(&app, &current, &form.code).await {
        Ok(codes) => {
            viewer.here = "/account/security/2fa".into();
            recovery_codes_shown(&viewer, codes, true)
        }
        Err(error) => two_factor_refused(&app, &mut viewer, error).await,
    }
}

/// A "are you sure" page for an action that needs a fresh step-up.
fn confirm_page(viewer: &Viewer, what: &str, action: &str) -> Response {
    render::page(
        viewer,
        StatusCode::OK,
        "confirm.html",
        context! {
            section => "2fa",
            title => t(viewer.lang, &format!("{what}-title"), &[]),
            text => t(viewer.lang, &format!("{what}-text"), &[]),
            action => action,
            button => t(viewer.lang, &format!("{what}-button"), &[]),
            button_id => format!("confirm-{what}"),
            danger => what == "twofa-disable",
        },
    )
}

/// Checks the common ground of the step-up-guarded 2FA actions: signed in,
/// 2FA on, a fresh step-up. Err is the response to give instead.
async fn guarded(app: &App, viewer: &Viewer, back: &str) -> Result<Current, Response> {
    let Some(current) = viewer.current.clone() else {
        return Err(sign_in_first(back));
    };
    match totp::factors(app, current.account.id).await {
        Ok(factors) if factors.on() => {}
        Ok(_) => return Err(see_other("/account/security/2fa")),
        Err(e) => return Err(failed(viewer, e)),
    }
    if totp::require_step_up(&current).is_err() {
        return Err(step_up_first(back));
    }
    Ok(current)
}

const RECOVERY_CODES_PATH: &str = "/account/security/2fa/recovery-codes";
const DISABLE_PATH: &str = "/account/security/2fa/disable";

/// `GET /account/security/2fa/recovery-codes`: confirm making a new set.
async fn recovery_codes_page(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    match guarded(&app, &viewer, RECOVERY_CODES_PATH).await {
        Ok(_) => confirm_page(&viewer, "twofa-regenerate", RECOVERY_CODES_PATH),
        Err(response) => response,
    }
}

/// `POST /account/security/2fa/recovery-codes`: a new set; the old one dies.
async fn recovery_codes(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    ctx: ClientContext,
) -> Response {
    let current = match guarded(&app, &viewer, RECOVERY_CODES_PATH).await {
        Ok(current) => current,
        Err(response) => return response,
    };
    match totp::regenerate_recovery_codes(&app, current.account.id, Some(&ctx.ip.to_string())).await
    {
        Ok(codes) => {
            viewer.here = "/account/security/2fa".into();
            recovery_codes_shown(&viewer, codes, false)
        }
        Err(e) => failed(&viewer, e),
    }
}

/// `GET /account/security/2fa/disable`: confirm turning 2FA off.
async fn disable_page(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    match guarded(&app, &viewer, DISABLE_PATH).await {
        Ok(_) => confirm_page(&viewer, "twofa-disable", DISABLE_PATH),
        Err(response) => response,
    }
}

/// `POST /account/security/2fa/disable`.
async fn disable(State(app): State<Arc<App>>, viewer: Viewer, ctx: ClientContext) -> Response {
    let current = match guarded(&app, &viewer, DISABLE_PATH).await {
        Ok(current) => current,
        Err(response) => return response,
    };
    match totp::disable(
        &app,
        current.account.id,
        Some(&ctx.ip.to_string()),
        "by owner",
    )
    .await
    {
        Ok(()) => see_other("/account/security/2fa?notice=2fa-off"),
        Err(e) => failed(&viewer, e),
    }
}

// ---- Step-up ---------------------------------------------------------------

/// Where a passed step-up goes: a page of the security center only.
fn step_up_next(next: &str) -> &str {
    let next = safe_next(Some(next), "/account/security");
    if next.starts_with("/account/security") {
        next
    } else {
        "/account/security"
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct StepUpQuery {
    #[serde(default)]
    next: String,
    notice: Option<String>,
}

async fn step_up_context(
    app: &App,
    current: &Current,
    next: &str,
    method: &str,
    notice: Option<String>,
) -> Result<minijinja::Value, AccountError> {
    let factors = totp::factors(app, current.account.id).await?;
    let methods: Vec<&str> = factors
        .methods()
        .into_iter()
        .filter(|m| *m != "passkey")
        .collect();
    let method = methods
        .iter()
        .find(|m| **m == method)
        .unwrap_or(&methods[0])
        .to_string();
    Ok(context! {
        section => "step-up",
        on => factors.on(),
        totp => factors.totp,
        passkey => factors.passkey,
        methods => methods,
        method => method,
        destination => masked_contact(&current.account),
        next => step_up_next(next),
        notice => notice,
    })
}

/// `GET /account/security/step-up?next=…`: confirm it's you.
async fn step_up_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<StepUpQuery>,
) -> Response {
    let Some(current) = &viewer.current else {
        return sign_in_first(&viewer.here);
    };
    let notice = notice(viewer.lang, query.notice.as_deref());
    match step_up_context(&app, current, &query.next, "", notice).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "step_up.html", page),
        Err(e) => failed(&viewer, e),
    }
}

async fn step_up_refused(
    app: &App,
    viewer: &mut Viewer,
    current: &Current,
    form: &CodeForm,
    error: AccountError,
) -> Response {
    viewer.here = url_with(
        "/account/security/step-up",
        &[("next", step_up_next(&form.next))],
    );
    let page = match step_up_context(app, current, &form.next, &form.method, None).await {
        Ok(page) => page,
        Err(e) => return failed(viewer, e),
    };
    match explain(viewer, error, &["code", "method"]) {
        Ok(feedback) => refused(viewer, "step_up.html", feedback, page),
        Err(response) => response,
    }
}

/// `POST /account/security/step-up`: a fresh second factor, then back to the action.
async fn step_up(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    PageForm(form): PageForm<CodeForm>,
) -> Response {
    let Some(current) = viewer.current.clone() else {
        return sign_in_first("/account/security");
    };
    let result = if form.method == "passkey" {
        match credential_field(&form.credential) {
            Ok(credential) => passkeys::step_up(&app, &current, &form.ceremony, credential).await,
            Err(e) => Err(e),
        }
    } else {
        totp::step_up(&app, &current, &form.method, &form.code).await
    };
    match result {
        Ok(()) => see_other(step_up_next(&form.next)),
        Err(error) => step_up_refused(&app, &mut viewer, &current, &form, error).await,
    }
}

/// `POST /account/security/step-up/code`: a code to a verified contact (accounts without 2FA).
async fn step_up_code(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    PageForm(form): PageForm<CodeForm>,
) -> Response {
    let Some(current) = viewer.current.clone() else {
        return sign_in_first("/account/security");
    };
    match totp::send_step_up_code(&app, &current).await {
        Ok(()) => see_other(&url_with(
            "/account/security/step-up",
            &[
                ("next", step_up_next(&form.next)),
                ("notice", "step-up-sent"),
            ],
        )),
        Err(error) => step_up_refused(&app, &mut viewer, &current, &form, error).await,
    }
}

// ---- Passkeys ------------------------------------------------------------------

const ADD_PASSKEY_PATH: &str = "/account/security/passkeys";

#[derive(Debug, Default, serde::Deserialize)]
struct PasskeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

/// Signed in with a fresh step-up, as adding or removing a passkey needs;
/// Err is the response to give instead (sign in, or step up first).
// The Err side is the page to show instead, made once per request: boxing
// it would buy nothing.
#[allow(clippy::result_large_err)]
fn stepped_up(viewer: &Viewer, back: &str) -> Result<Current, Response> {
    let Some(current) = viewer.current.clone() else {
        return Err(sign_in_first(back));
    };
    if totp::require_step_up(&current).is_err() {
        return Err(step_up_first(back));
    }
    Ok(current)
}

fn add_passkey_context(name: &str) -> minijinja::Value {
    context! { section => "devices", name => name }
}

/// `GET /account/security/passkeys`: name the passkey, then the browser
/// makes it (the page's script calls `navigator.credentials.create()`).
async fn add_passkey_page(viewer: Viewer) -> Response {
    if let Err(response) = stepped_up(&viewer, ADD_PASSKEY_PATH) {
        return response;
    }
    let name = t(viewer.lang, "passkey-default-name", &[]);
    render::page(
        &viewer,
        StatusCode::OK,
        "passkey_add.html",
        add_passkey_context(&name),
    )
}

/// `POST /account/security/passkeys`: stores the passkey the browser made.
async fn add_passkey(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    ctx: ClientContext,
    PageForm(form): PageForm<PasskeyForm>,
) -> Response {
    let current = match stepped_up(&viewer, ADD_PASSKEY_PATH) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let result = match credential_field(&form.credential) {
        Ok(credential) => {
            passkeys::finish_registration(
                &app,
                &current,
                &form.ceremony,
                &form.name,
                credential,
                Some(&ctx.ip.to_string()),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(added) => match added.recovery_codes {
            Some(codes) => {
                viewer.here = "/account/security".into();
                recovery_codes_shown(&viewer, codes, true)
            }
            None => see_other("/account/security?notice=passkey-added"),
        },
        Err(error) => match explain(&viewer, error, &["name"]) {
            Ok(feedback) => refused(
                &viewer,
                "passkey_add.html",
                feedback,
                add_passkey_context(&form.name),
            ),
            Err(response) => response,
        },
    }
}

/// `POST /account/security/passkeys/{id}/rename`.
async fn rename_passkey(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    ctx: ClientContext,
    Path(id): Path<String>,
    PageForm(form): PageForm<RenameForm>,
) -> Response {
    let Some(current) = viewer.current.clone() else {
        return sign_in_first("/account/security");
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&viewer);
    };
    match passkeys::rename(
        &app,
        current.account.id,
        id,
        &form.name,
        Some(&ctx.ip.to_string()),
    )
    .await
    {
        Ok(true) => see_other("/account/security?notice=passkey-renamed"),
        Ok(false) => not_found(&viewer),
        Err(error) => {
            viewer.here = "/account/security".into();
            let page = match overview_context(&app, &viewer, &current, None).await {
                Ok(page) => page,
                Err(e) => return failed(&viewer, e),
            };
            match explain(&viewer, error, &["name"]) {
                Ok(feedback) => refused(
                    &viewer,
                    "security.html",
                    feedback,
                    context! { renaming_passkey => id, name => form.name, ..page },
                ),
                Err(response) => response,
            }
        }
    }
}

/// The account's passkey `id`, if there is one.
async fn own_passkey(
    app: &App,
    current: &Current,
    id: &str,
) -> Result<Option<passkeys::PasskeyView>, AccountError> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    Ok(passkeys::list(app, current.account.id)
        .await?
        .into_iter()
        .find(|p| p.id == id))
}

/// `GET /account/security/passkeys/{id}/remove`: asks to confirm, after a
/// fresh step-up (the step-up page comes back here).
async fn remove_passkey_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let current = match stepped_up(&viewer, &viewer.here) {
        Ok(current) => current,
        Err(response) => return response,
    };
    match own_passkey(&app, &current, &id).await {
        Ok(None) => not_found(&viewer),
        Ok(Some(passkey)) => render::page(
            &viewer,
            StatusCode::OK,
            "confirm.html",
            context! {
                section => "devices",
                title => t(viewer.lang, "passkey-remove-title", &[]),
                text => t(viewer.lang, "passkey-remove-text", &[("name", passkey.name.clone())]),
                action => format!("/account/security/passkeys/{}/remove", passkey.id),
                button => t(viewer.lang, "security-remove", &[]),
                button_id => "confirm-remove-passkey",
                danger => true,
            },
        ),
        Err(e) => failed(&viewer, e),
    }
}

/// `POST /account/security/passkeys/{id}/remove`.
async fn remove_passkey(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    ctx: ClientContext,
    Path(id): Path<String>,
) -> Response {
    let back = format!("/account/security/passkeys/{id}/remove");
    let current = match stepped_up(&viewer, &back) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&viewer);
    };
    match passkeys::remove(&app, &current, id, Some(&ctx.ip.to_string())).await {
        Ok(()) => see_other("/account/security?notice=passkey-removed"),
        Err(AccountError::NotFound) => not_found(&viewer),
        Err(e) => failed(&viewer, e),
    }
}
