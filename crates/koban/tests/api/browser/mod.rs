//! The web pages. HTTP-level checks (CSRF, escaping, redirects, who may see
//! what) run on both databases; the sign-up journey runs in a real headless
//! Chromium driven through chromedriver, on SQLite, in English and Chinese,
//! leaving a screenshot of every page under `target/browser-screenshots/`.

use crate::chromium::{totp_at, totp_step_now, Browser, ADMIN};
use crate::support::{Db, TestApp};
use fantoccini::Locator;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::time::Duration;

mod announcements;
mod desk_console;
mod desk_reports;
mod escalate;
mod first_case;
mod helpcenter;
mod http_checks;
mod lookup;
mod orgs_home;
mod orgs_members;
mod orgs_oversight;
mod orgs_settings;
mod privacy;
mod requester;
mod search;
mod security_center;
mod sign_in_and_locks;
mod sign_up;
mod surveys;

const PASSWORD: &str = "plum blossom 2026";

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// The value a response sets for cookie `name`, if any.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap_or_default();
    pair.split_once('=')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

/// A page visit that hands out the CSRF cookie; returns its token.
async fn csrf_token(t: &TestApp, http: &reqwest::Client) -> String {
    let response = http
        .get(t.url("/signin"))
        .send()
        .await
        .expect("GET /signin");
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(&response, "koban_csrf").expect("a CSRF cookie on the first page");
    let token = cookie_value(&cookie);
    let body = response.text().await.expect("body");
    assert!(
        body.contains(&format!("name=\"csrf_token\" value=\"{token}\"")),
        "the form echoes the cookie's token"
    );
    token
}
