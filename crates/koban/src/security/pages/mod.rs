//! The security center's pages: signing in (the password form, the code
//! that confirms a new account) and the steps after the password (a
//! second factor, the device limit), the account home, the lock page with self-service
//! unlock, and under `/account/security` the center itself, organised by
//! what people look for: an overview, their devices, their sign-in methods
//! (password, two-factor authentication, passkeys, recovery codes), and
//! their activity (sign-in history and timeline); then step-up. Handlers
//! call the same services as [`super::api`], then redirect
//! (POST/redirect/GET) or show the form again with the reasons.

use super::client::ClientContext;
use super::devices::{self, Device};
use super::history;
use super::passkeys::{self, PasskeyOptions};
use super::signin::{self, Challenge, Outcome};
use super::totp;
use crate::accounts::pages::{explain, internal, refused};
use crate::accounts::sessions::Viewing;
use crate::accounts::sessions::{self, Current};
use crate::accounts::{service, AccountError, Lock, LockReference};
use crate::http::pagination::PageQuery;
use crate::state::App;
use crate::store::now_ms;
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
use std::sync::Arc;

mod activity;
mod device_pages;
mod home;
mod locked;
mod methods;
mod overview;
mod sign_in;
mod sign_in_steps;
mod step_up;

use activity::*;
use device_pages::*;
pub use locked::locked_redirect;
use locked::*;
use methods::*;
use overview::overview;
pub use sign_in_steps::after_sign_in;
use sign_in_steps::*;
use step_up::*;

/// Routes for the security pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/signin", get(sign_in::signin_page).post(sign_in::signin))
        .route("/verify", get(sign_in::verify_page).post(sign_in::verify))
        .route("/account", get(home::account_page))
        .route("/account/password", post(home::change_password))
        .route(
            "/signin/second-factor",
            get(second_factor_page).post(second_factor),
        )
        .route(
            "/signin/second-factor/passkey/options",
            post(second_factor_passkey_options),
        )
        .route("/signin/devices", get(device_limit_page).post(device_limit))
        .route("/locked", get(locked_page))
        .route("/locked/code", post(unlock_code))
        .route("/locked/unlock", post(unlock))
        .route("/locked/passkey/options", post(unlock_passkey_options))
        .route("/account/security", get(overview))
        .route("/account/security/devices", get(devices_page))
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
fn notice(lang: Lang, code: Option<&str>) -> Option<String> {
    let id = match code? {
        "device-renamed" => "security-device-renamed",
        "device-removed" => "security-device-removed",
        "signed-out-others" => "security-signed-out-others",
        "2fa-on" => "twofa-on-notice",
        "2fa-off" => "twofa-off-notice",
        "passkey-added" => "passkey-added-notice",
        "passkey-renamed" => "passkey-renamed-notice",
        "passkey-removed" => "passkey-removed-notice",
        "codes-saved" => "codes-saved-notice",
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

/// A page from its context, or the error page for what stopped it.
fn show(viewer: &Viewer, template: &str, page: Result<minijinja::Value, AccountError>) -> Response {
    match page {
        Ok(page) => render::page(viewer, StatusCode::OK, template, page),
        Err(e) => failed(viewer, e),
    }
}

/// The kinds of code a form takes (a passkey is a button of its own) and
/// the one to show chosen: `asked` if the account has it, else the first.
fn code_methods(factors: totp::Factors, asked: &str) -> (Vec<&'static str>, String) {
    let methods: Vec<&'static str> = factors
        .methods()
        .into_iter()
        .filter(|m| *m != "passkey")
        .collect();
    let chosen = methods
        .iter()
        .find(|m| **m == asked)
        .or(methods.first())
        .map(|m| m.to_string())
        .unwrap_or_default();
    (methods, chosen)
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
    short_id: String,
    platform: String,
    client_version: Option<String>,
    first_seen: When,
    last_seen: When,
    last_ip: Option<String>,
    last_country: Option<String>,
    current: bool,
    signed_in: bool,
    holds_place: bool,
}

/// A device's name as shown: what the owner or the browser named it, except
/// the English placeholder a client that said nothing about itself was
/// given at sign-in, which reads as "other device" in the reader's language.
fn shown_device_name(lang: Lang, name: &str) -> String {
    if name == UNNAMED_DEVICE {
        t(lang, "platform-other", &[])
    } else {
        name.to_string()
    }
}

/// What `describe_user_agent` names a client it cannot read.
const UNNAMED_DEVICE: &str = "Unknown device";

fn device_view(viewer: &Viewer, d: &Device) -> DeviceView {
    DeviceView {
        id: d.id,
        name: shown_device_name(viewer.lang, &d.name),
        short_id: d.short_id.clone(),
        platform: platform_label(viewer.lang, &d.platform),
        client_version: d.client_version.clone(),
        first_seen: viewer.when(d.first_seen_at),
        last_seen: viewer.when(d.last_seen_at),
        last_ip: d.last_ip.clone(),
        last_country: d.last_country.clone(),
        current: d.current,
        signed_in: d.signed_in,
        holds_place: d.holds_place,
    }
}

/// The device-limit rule in words: how many places, which devices hold
/// one, and the organization that set the limit when one did.
fn place_rule(app: &App, lang: Lang, limit: &DeviceLimit) -> String {
    let max = limit.0.max(1).to_string();
    let rule = match app.config.device_limit_window_days.max(0) {
        0 => t(lang, "security-places-signed-in", &[("max", max)]),
        days => t(
            lang,
            "security-places-rule",
            &[("max", max), ("days", days.to_string())],
        ),
    };
    match &limit.1 {
        Some(set) => format!(
            "{rule} {}",
            t(
                lang,
                "security-places-set-by",
                &[("organization", set.source.organization.clone())]
            )
        ),
        None => rule,
    }
}

/// The device limit over an account and the policy that set it, if any.
type DeviceLimit = (i64, Option<koban_policy::org::policy::Limit>);

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

/// The browser's answer as the page's script put it in a form field.
fn credential_field(text: &str) -> Result<serde_json::Value, AccountError> {
    serde_json::from_str(text).map_err(|_| AccountError::field("credential", "passkey_malformed"))
}

#[derive(Debug, Default, serde::Deserialize)]
struct RenameForm {
    #[serde(default)]
    name: String,
}

/// Where to go to pass step-up before coming back to `back`.
fn step_up_first(back: &str) -> Response {
    see_other(&url_with("/account/security/step-up", &[("next", back)]))
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
    let file = codes_file(viewer, &codes);
    render::page(
        viewer,
        StatusCode::OK,
        "recovery_codes.html",
        context! {
            section => "methods",
            codes => codes,
            first => first,
            copy_text => file,
            download => format!("data:text/plain;charset=utf-8,{}", percent_encoded(&file)),
            file_name => "koban-recovery-codes.txt",
        },
    )
}

/// The recovery codes as a text file a person can keep: what they are,
/// whose, when they were made, the codes, and how to use them. The page
/// offers it as a download built into the link itself, since the codes are
/// never stored where a later request could fetch them.
fn codes_file(viewer: &Viewer, codes: &[String]) -> String {
    let lang = viewer.lang;
    let account = viewer
        .current()
        .map(|c| c.account.display_identifier().to_string())
        .unwrap_or_default();
    let made = viewer.when(now_ms()).text;
    let mut text = format!(
        "{}\n{}\n{}\n\n",
        t(lang, "codes-file-title", &[]),
        account,
        t(lang, "codes-file-made", &[("when", made)])
    );
    for code in codes {
        text.push_str(code);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&t(lang, "codes-file-note", &[]));
    text.push('\n');
    text
}

/// RFC 3986 percent-encoding of everything but unreserved characters, as a
/// `data:` URL's body needs (a space must not become `+`).
fn percent_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Signed in with a fresh step-up, as adding or removing a passkey needs;
/// Err is the response to give instead (sign in, or step up first).
// The Err side is the page to show instead, made once per request: boxing
// it would buy nothing.
#[allow(clippy::result_large_err)]
fn stepped_up(viewer: &Viewer, back: &str) -> Result<Current, Response> {
    let Some(current) = viewer.current().cloned() else {
        return Err(sign_in_first(back));
    };
    if totp::require_step_up(&current).is_err() {
        return Err(step_up_first(back));
    }
    Ok(current)
}
