//! The security center as a person meets it (issue 11, points 4–7): an
//! overview, devices, sign-in methods and activity each in one place; the
//! history and timeline in words; devices that count under the limit, said
//! before the second factor; recovery codes to copy, download and print.
//! Browser tests run in English and a CJK language on SQLite and leave
//! screenshots under `target/browser-screenshots/`; the device-limit rule
//! is also checked over the JSON API on both databases.

use crate::chromium::{totp_at, totp_step_now, Browser, DESKTOP, PHONE};
use crate::support::{Db, TestApp};
use koban::web::i18n::{t as message, Lang};
use reqwest::StatusCode;
use serde_json::json;

mod activity;
mod device_limit;
mod overview;
mod recovery_codes;

const PASSWORD: &str = "plum blossom 2026";
const DAY_MS: i64 = 24 * 3_600_000;

fn lang_of(tag: &str) -> Lang {
    Lang::parse(tag).expect("a supported language")
}

/// A message as the pages show it.
fn msg(lang: Lang, id: &str, args: &[(&str, String)]) -> String {
    message(lang, id, args)
}

/// A message with numbers and words as arguments, as the templates pass them.
fn tr(lang: Lang, id: &str, args: &[(&str, &str)]) -> String {
    let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (*k, v.to_string())).collect();
    msg(lang, id, &args)
}

async fn scalar(t: &TestApp, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(t.app.store.read())
        .await
        .expect("query")
        .try_get::<i64, _>(0)
        .expect("number")
}

/// Signs in over the API from an app with its own device id and name.
async fn app_sign_in(
    t: &TestApp,
    device: &str,
    name: &str,
    identifier: &str,
) -> (StatusCode, serde_json::Value) {
    t.send(
        t.http
            .post(t.url("/api/v1/sessions"))
            .header("x-koban-device", device)
            .header("x-koban-device-name", name)
            .json(&json!({ "identifier": identifier, "password": PASSWORD })),
    )
    .await
}

/// Makes every device of the account signed out and last used long ago,
/// as a browser that signed out months back.
async fn age_all_devices(t: &TestApp) {
    t.exec(&format!(
        "UPDATE devices SET last_seen_at = {}",
        koban::store::now_ms() - 90 * DAY_MS
    ))
    .await;
    t.exec("UPDATE sessions SET revoked_at = 1 WHERE revoked_at IS NULL")
        .await;
}

/// Signs the browser in and, for a language other than English, switches
/// the account to it (the account was made in English over the API).
async fn browser_signed_in(b: &Browser, email: &str, tag: &str) {
    b.goto("/signin").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("account").await;
    if tag != "en" {
        b.switch_language(tag).await;
        b.on_page("account").await;
    }
}

/// Every tab of the center sits on one row of equal height: on a phone the
/// row scrolls sideways rather than wrapping into two with the active one taller.
async fn tabs_on_one_row(b: &Browser) {
    let rows = b
        .script(
            "var a = Array.from(document.querySelectorAll('.tabs-page a'));\
             return [new Set(a.map(function (x) { return x.offsetTop; })).size,\
                     new Set(a.map(function (x) { return x.offsetHeight; })).size, a.length];",
        )
        .await;
    assert_eq!(rows, json!([1, 1, 4]), "tops, heights, tabs");
}

// ---- 7. Recovery codes people can keep --------------------------------------------------

/// Turns TOTP on through the methods page; returns the secret and the step used.
async fn totp_on_through_the_page(b: &Browser) -> (String, i64) {
    b.goto("/account/security/2fa").await;
    b.on_page("two-factor").await;
    b.click("#twofa-begin").await;
    b.on_page("two-factor").await;
    let secret: String = b
        .text("#totp-secret")
        .await
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let step = totp_step_now();
    b.fill("#code", &totp_at(&secret, step)).await;
    b.click("#totp-confirm").await;
    b.on_page("recovery-codes").await;
    (secret, step)
}
