//! The security center's pages at the HTTP level, on both databases: CSRF
//! on every new form, forged and expired sign-in challenges, step-up
//! redirects, and devices that belong to someone else. (The journeys run
//! in a real browser in `browser.rs`.)

use crate::support::{scalar, TestApp};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::time::Duration;

const PASSWORD: &str = "plum blossom 2026";

/// A browser stand-in: keeps cookies (ignoring paths), never follows
/// redirects, and echoes the CSRF token in every form it posts.
pub(crate) struct Pages {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    jar: BTreeMap<String, String>,
}

impl Pages {
    pub(crate) async fn new(t: &TestApp) -> Pages {
        let mut pages = Pages {
            base: t.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            jar: BTreeMap::new(),
        };
        let response = pages.get("/signin").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(pages.jar.contains_key("koban_csrf"));
        pages
    }

    pub(crate) fn csrf(&self) -> String {
        self.jar.get("koban_csrf").cloned().unwrap_or_default()
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let pair = value.split(';').next().unwrap_or_default();
            let Some((name, v)) = pair.split_once('=') else {
                continue;
            };
            if value.contains("Max-Age=0") || v.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), v.to_string());
            }
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> reqwest::Response {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("get");
        self.keep(&response);
        response
    }

    /// POSTs a form with the CSRF token added.
    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf();
        let mut form = form.to_vec();
        form.push(("csrf_token", &csrf));
        self.post_raw(path, &form).await
    }

    /// POSTs a form exactly as given.
    async fn post_raw(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .expect("post");
        self.keep(&response);
        response
    }

    pub(crate) async fn sign_in(&mut self, identifier: &str, password: &str) -> reqwest::Response {
        self.post(
            "/signin",
            &[("identifier", identifier), ("password", password)],
        )
        .await
    }
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn totp_code(secret_base32: &str, step: i64) -> String {
    let secret = koban::security::totp::base32_decode(secret_base32).expect("base32");
    koban::security::totp::code_at(&secret, step)
}

fn now_step() -> i64 {
    koban::security::totp::step_of(koban::store::now_ms())
}

/// Turns TOTP on through the pages; returns the secret and the step used.
async fn enrol_totp(p: &mut Pages) -> (String, i64) {
    let response = p.post("/account/security/2fa/begin", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account/security/2fa");
    let body = p
        .get("/account/security/2fa")
        .await
        .text()
        .await
        .expect("body");
    let start = body.find("id=\"totp-secret\">").expect("secret shown") + 17;
    let secret: String = body[start..]
        .chars()
        .take_while(|c| *c != '<')
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(body.contains("<svg"), "the QR code is embedded");
    let step = now_step();
    let response = p
        .post(
            "/account/security/2fa/confirm",
            &[("code", &totp_code(&secret, step))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("body");
    assert_eq!(body.matches("<li><code>").count(), 10, "{body}");
    (secret, step)
}

/// A code for a step after `used` that the server accepts now.
fn next_code(secret: &str, used: i64) -> String {
    totp_code(secret, now_step().max(used + 1))
}

async fn new_forms_refuse_posts_without_the_csrf_token(t: TestApp) {
    t.signed_up("csrf@example.com", PASSWORD).await;
    let mut p = Pages::new(&t).await;
    let response = p.sign_in("csrf@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(p.jar.contains_key("koban_session"));
    let device: i64 = scalar(&t, "SELECT MAX(id) FROM devices").await;
    let bound = scalar(&t, "SELECT COUNT(*) FROM devices WHERE removed_at IS NULL").await;
    let sessions = t.count("sessions").await;
    let events = t.count("security_events").await;
    let remove = format!("/account/security/devices/{device}/remove");
    let rename = format!("/account/security/devices/{device}/rename");
    for (path, form) in [
        (
            "/signin/second-factor",
            vec![("method", "totp"), ("code", "123456")],
        ),
        ("/signin/devices", vec![("remove_device_id", "1")]),
        ("/locked/code", vec![("identifier", "csrf@example.com")]),
        (
            "/locked/unlock",
            vec![("identifier", "csrf@example.com"), ("code", "123456")],
        ),
        ("/account/security/sign-out-others", vec![]),
        (remove.as_str(), vec![]),
        (rename.as_str(), vec![("name", "Renamed")]),
        ("/account/security/2fa/begin", vec![]),
        ("/account/security/2fa/confirm", vec![("code", "123456")]),
        ("/account/security/2fa/recovery-codes", vec![]),
        ("/account/security/2fa/disable", vec![]),
        (
            "/account/security/step-up",
            vec![("method", "code"), ("code", "123456")],
        ),
        ("/account/security/step-up/code", vec![]),
    ] {
        // No token, then a wrong one.
        let response = p.post_raw(path, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let mut wrong = form.clone();
        wrong.push(("csrf_token", "not-the-token-at-all-0000"));
        let response = p.post_raw(path, &wrong).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(t.count("sessions").await, sessions);
    assert_eq!(t.count("security_events").await, events);
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM accounts WHERE totp_secret_sealed IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM devices WHERE removed_at IS NULL").await,
        bound
    );
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE purpose IN ('unlock', 'step_up')"
        )
        .await,
        0
    );
    // The session still works: the refusals were about CSRF alone.
    let response = p.get("/account/security").await;
    assert_eq!(response.status(), StatusCode::OK);
}
both!(new_forms_refuse_posts_without_the_csrf_token);

async fn forged_and_expired_challenges_are_refused(t: TestApp) {
    t.signed_up("challenge@example.com", PASSWORD).await;
    let mut p = Pages::new(&t).await;
    assert_eq!(
        p.sign_in("challenge@example.com", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (secret, used) = enrol_totp(&mut p).await;
    // Sign out and in again: the password now leads to the second factor,
    // with the challenge in an HttpOnly cookie, not in the URL.
    assert_eq!(
        p.post("/signout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let response = p.sign_in("challenge@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin/second-factor");
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("koban_signin="))
        .expect("challenge cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("Path=/signin"), "{cookie}");
    assert!(cookie.contains("Max-Age=600"), "{cookie}");
    let real = p.jar.get("koban_signin").cloned().expect("kept");
    assert!(!p.jar.contains_key("koban_session"));
    let page = p.get("/signin/second-factor").await;
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.expect("body");
    assert!(!body.contains(&real), "the token is not on the page");

    // A forged challenge: back to sign in, no session, even with a right code.
    p.jar
        .insert("koban_signin".into(), format!("kbc_{}", "A".repeat(43)));
    let response = p
        .post(
            "/signin/second-factor",
            &[("method", "totp"), ("code", &next_code(&secret, used))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin?notice=expired");
    assert!(!p.jar.contains_key("koban_session"));
    assert!(!p.jar.contains_key("koban_signin"), "the cookie is cleared");
    for junk in ["", "garbage", "kbs_not_a_challenge"] {
        p.jar.insert("koban_signin".into(), junk.into());
        let response = p.get("/signin/second-factor").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{junk}");
        assert_eq!(location(&response), "/signin?notice=expired");
    }
    // The real one, expired: refused alike.
    t.exec("UPDATE sign_in_challenges SET expires_at = 1").await;
    p.jar.insert("koban_signin".into(), real.clone());
    let response = p
        .post(
            "/signin/second-factor",
            &[("method", "totp"), ("code", &next_code(&secret, used))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin?notice=expired");
    assert!(!p.jar.contains_key("koban_session"));
    let body = p
        .get("/signin?notice=expired")
        .await
        .text()
        .await
        .expect("body");
    assert!(body.contains("This sign-in step has expired."), "{body}");
    // A challenge of the other kind does not open this page either.
    p.jar.insert("koban_signin".into(), real);
    let response = p
        .post("/signin/devices", &[("remove_device_id", "1")])
        .await;
    assert_eq!(location(&response), "/signin?notice=expired");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM devices WHERE removed_at IS NOT NULL"
        )
        .await,
        0
    );
    // A fresh sign-in with the right code works.
    assert_eq!(
        location(&p.sign_in("challenge@example.com", PASSWORD).await),
        "/signin/second-factor"
    );
    let response = p
        .post(
            "/signin/second-factor",
            &[("method", "totp"), ("code", &next_code(&secret, used))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account");
    assert!(p.jar.contains_key("koban_session"));
    assert!(!p.jar.contains_key("koban_signin"));
}
both!(forged_and_expired_challenges_are_refused);

async fn step_up_pages_redirect_and_come_back(t: TestApp) {
    t.signed_up("stepup@example.com", PASSWORD).await;
    let mut p = Pages::new(&t).await;
    p.sign_in("stepup@example.com", PASSWORD).await;
    // Without 2FA, the 2FA actions lead back to the 2FA page.
    for path in [
        "/account/security/2fa/disable",
        "/account/security/2fa/recovery-codes",
    ] {
        let response = p.get(path).await;
        assert_eq!(location(&response), "/account/security/2fa", "{path}");
    }
    // Removing the last device needs a fresh step-up: the code goes to the
    // email. (Only this browser's device is left bound for that.)
    let device = scalar(&t, "SELECT MAX(id) FROM devices").await;
    t.exec(&format!(
        "UPDATE devices SET removed_at = 1 WHERE id <> {device}"
    ))
    .await;
    let remove = format!("/account/security/devices/{device}/remove");
    let response = p.post(&remove, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let expected = format!(
        "/account/security/step-up?next=%2Faccount%2Fsecurity%2Fdevices%2F{device}%2Fremove"
    );
    assert_eq!(location(&response), expected);
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM devices WHERE removed_at IS NULL").await,
        1
    );
    let body = p.get(&expected).await.text().await.expect("body");
    assert!(body.contains("id=\"step-up-send\""), "{body}");
    // Nothing to type before a code was asked for.
    assert!(!body.contains("id=\"step-up-form\""), "{body}");
    let next = remove.clone();
    let response = p
        .post("/account/security/step-up/code", &[("next", &next)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).contains("notice=step-up-sent"));
    // Once sent, typing it comes first and sending again after.
    let sent = p
        .get(&location(&response))
        .await
        .text()
        .await
        .expect("body");
    let form_at = sent.find("id=\"step-up-form\"").expect("the code form");
    let again_at = sent.find("id=\"step-up-send\"").expect("send again");
    assert!(form_at < again_at, "{sent}");
    let code = t.latest_code("stepup@example.com").await;
    // A wrong code is refused in words; the right one returns to the action.
    let response = p
        .post(
            "/account/security/step-up",
            &[("method", "code"), ("code", "000000"), ("next", &next)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(body.contains("id=\"code-error\""), "{body}");
    let response = p
        .post(
            "/account/security/step-up",
            &[("method", "code"), ("code", &code), ("next", &next)],
        )
        .await;
    assert_eq!(location(&response), remove);
    let response = p.get(&remove).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("id=\"confirm-remove\""));
    // A step-up never sends anyone off the security center.
    let response = p
        .post(
            "/account/security/step-up",
            &[
                ("method", "code"),
                ("code", "123456"),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(!body.contains("evil.example"), "{body}");

    // With 2FA on: turning it off needs a fresh step-up with the app.
    let (secret, used) = enrol_totp(&mut p).await;
    t.exec("UPDATE sessions SET stepped_up_at = NULL").await;
    for path in [
        "/account/security/2fa/disable",
        "/account/security/2fa/recovery-codes",
    ] {
        let expected = format!(
            "/account/security/step-up?next={}",
            path.replace('/', "%2F")
        );
        assert_eq!(location(&p.get(path).await), expected, "GET {path}");
        assert_eq!(location(&p.post(path, &[]).await), expected, "POST {path}");
    }
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM accounts WHERE totp_enabled_at IS NOT NULL"
        )
        .await,
        1
    );
    let response = p
        .post(
            "/account/security/step-up",
            &[
                ("method", "totp"),
                ("code", &next_code(&secret, used)),
                ("next", "/account/security/2fa/disable"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/account/security/2fa/disable");
    let response = p.post("/account/security/2fa/disable", &[]).await;
    assert_eq!(location(&response), "/account/security/2fa?notice=2fa-off");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM accounts WHERE totp_enabled_at IS NOT NULL"
        )
        .await,
        0
    );
    // Signed out, every security page asks to sign in first and comes back.
    let mut anonymous = Pages::new(&t).await;
    let response = anonymous.get("/account/security/history").await;
    assert_eq!(
        location(&response),
        "/signin?next=%2Faccount%2Fsecurity%2Fhistory"
    );
}
both!(step_up_pages_redirect_and_come_back);

async fn another_users_device_cannot_be_touched(t: TestApp) {
    t.signed_up("owner@example.com", PASSWORD).await;
    t.signed_up("other@example.com", PASSWORD).await;
    let mut owner = Pages::new(&t).await;
    owner.sign_in("owner@example.com", PASSWORD).await;
    let mut other = Pages::new(&t).await;
    other.sign_in("other@example.com", PASSWORD).await;
    let theirs = scalar(
        &t,
        "SELECT MAX(d.id) FROM devices d JOIN accounts a ON a.id = d.account_id WHERE a.email = 'other@example.com'",
    )
    .await;
    let events = t.count("security_events").await;
    for path in [
        format!("/account/security/devices/{theirs}/remove"),
        format!("/account/security/devices/{theirs}/rename"),
        "/account/security/devices/999999/remove".to_string(),
        "/account/security/devices/not-a-number/remove".to_string(),
    ] {
        let response = owner.post(&path, &[("name", "Mine now")]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body = response.text().await.expect("body");
        assert!(body.contains("There is nothing here."), "{body}");
    }
    let response = owner
        .get(&format!("/account/security/devices/{theirs}/remove"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Nothing changed: their device, its name and their session are as they were.
    assert_eq!(t.count("security_events").await, events);
    assert_eq!(
        scalar(
            &t,
            &format!("SELECT COUNT(*) FROM devices WHERE id = {theirs} AND removed_at IS NULL AND name <> 'Mine now'")
        )
        .await,
        1
    );
    let response = other.get("/account/security/devices").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("body");
    assert!(body.contains("id=\"this-device\""), "{body}");
    // The owner's own list shows only the owner's device.
    let body = owner
        .get("/account/security/devices")
        .await
        .text()
        .await
        .expect("body");
    let mine = scalar(
        &t,
        "SELECT COUNT(*) FROM devices d JOIN accounts a ON a.id = d.account_id WHERE a.email = 'owner@example.com' AND d.removed_at IS NULL",
    )
    .await;
    assert_eq!(
        body.matches("class=\"card device").count() as i64,
        mine,
        "{body}"
    );
    assert!(!body.contains(&format!("data-device-id=\"{theirs}\"")));
}
both!(another_users_device_cannot_be_touched);

async fn bad_renames_are_explained_and_change_nothing(t: TestApp) {
    t.signed_up("rename@example.com", PASSWORD).await;
    let mut p = Pages::new(&t).await;
    p.sign_in("rename@example.com", PASSWORD).await;
    let device = scalar(&t, "SELECT MAX(id) FROM devices").await;
    let path = format!("/account/security/devices/{device}/rename");
    let long = "x".repeat(65);
    for (name, reason) in [
        ("   ", "This field is empty."),
        (long.as_str(), "This is too long."),
        ("evil\u{202e}name", "hidden or control character"),
    ] {
        let response = p.post(&path, &[("name", name)]).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        let body = response.text().await.expect("body");
        assert!(body.contains(reason), "{name}: {body}");
    }
    let response = p.post(&path, &[("name", "Mei's <laptop>")]).await;
    assert_eq!(
        location(&response),
        "/account/security/devices?notice=device-renamed"
    );
    let body = p
        .get("/account/security/devices?notice=device-renamed")
        .await
        .text()
        .await
        .expect("body");
    assert!(body.contains("Mei&#x27;s &lt;laptop&gt;"), "{body}");
    assert!(body.contains("The device was renamed."), "{body}");
}
both!(bad_renames_are_explained_and_change_nothing);
