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

const PASSWORD: &str = "plum blossom 2026";

// ---- HTTP-level checks -------------------------------------------------------

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

async fn form_post_without_csrf_token_is_refused_and_changes_nothing(t: TestApp) {
    let http = no_redirects();
    let token = csrf_token(&t, &http).await;
    let form = [
        ("with", "email"),
        ("email", "mei@example.com"),
        ("password", PASSWORD),
    ];
    // No token in the form, then a wrong one: both refused, nothing written.
    let response = http
        .post(t.url("/signup"))
        .header(COOKIE, format!("koban_csrf={token}"))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Change the last character to one it is not (a token may already end in 'x').
    let replacement = if token.ends_with('x') { 'y' } else { 'x' };
    let wrong = format!("{}{replacement}", &token[..token.len() - 1]);
    let mut with_wrong = form.to_vec();
    with_wrong.push(("csrf_token", &wrong));
    let response = http
        .post(t.url("/signup"))
        .header(COOKIE, format!("koban_csrf={token}"))
        .form(&with_wrong)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A token in the form but no cookie: a foreign page's forged post.
    let mut with_token = form.to_vec();
    with_token.push(("csrf_token", &token));
    let response = http
        .post(t.url("/signup"))
        .form(&with_token)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("accounts").await, 0);
    assert_eq!(t.count("deliveries").await, 0);
    // The same form with the token goes through: the refusals were about CSRF alone.
    let response = http
        .post(t.url("/signup"))
        .header(COOKIE, format!("koban_csrf={token}"))
        .form(&with_token)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        location.starts_with("/verify?identifier=mei%40example.com&sent="),
        "{location}"
    );
    assert_eq!(t.count("accounts").await, 1);
}
both!(form_post_without_csrf_token_is_refused_and_changes_nothing);

async fn outbox_page_is_for_administrators_only(t: TestApp) {
    let http = no_redirects();
    let user = t.signed_up("user@example.com", PASSWORD).await;
    let admin = t.staff(ADMIN, "admin").await;
    // Anonymous: off to sign in, coming back afterwards.
    let response = http.get(t.url("/admin/outbox")).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/signin?next=%2Fadmin%2Foutbox")
    );
    // A signed-in user who is not an administrator: 403, and no message shows.
    let response = http
        .get(t.url("/admin/outbox"))
        .header(COOKIE, format!("koban_session={user}"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.text().await.expect("body");
    assert!(body.contains("You are not allowed to do this."), "{body}");
    assert!(!body.contains("Your code is"), "{body}");
    // The administrator sees the messages, clearly marked as development mode.
    let response = http
        .get(t.url("/admin/outbox"))
        .header(COOKIE, format!("koban_session={admin}"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("body");
    assert!(body.contains("Development mode"), "{body}");
    assert!(body.contains("data-to=\"user@example.com\""), "{body}");
    assert!(body.contains("Your code is"), "{body}");
}
both!(outbox_page_is_for_administrators_only);

async fn language_switch_never_leaves_the_site(t: TestApp) {
    let http = no_redirects();
    let token = csrf_token(&t, &http).await;
    for (next, expected) in [
        ("https://evil.example", "/"),
        ("//evil.example/path", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/signin?x=1", "/signin?x=1"),
    ] {
        let response = http
            .post(t.url("/lang"))
            .header(COOKIE, format!("koban_csrf={token}"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("lang", "ja"),
                ("next", next),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(
            response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some(expected),
            "{next}"
        );
        let cookie = set_cookie(&response, "koban_lang").expect("language cookie");
        assert!(cookie.starts_with("koban_lang=ja;"), "{cookie}");
    }
    // The cookie then chooses the language, over Accept-Language.
    let body = http
        .get(t.url("/signin"))
        .header(COOKIE, "koban_lang=ja")
        .header("accept-language", "en")
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(body.contains("<html lang=\"ja\""), "{body}");
    assert!(body.contains("ログイン"), "{body}");
}
both!(language_switch_never_leaves_the_site);

async fn the_accounts_own_language_comes_first(t: TestApp) {
    let http = no_redirects();
    let (status, body) = t
        .post(
            "/api/v1/accounts",
            serde_json::json!({ "email": "lin@example.com", "password": PASSWORD, "locale": "zh-CN" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let code = t.latest_code("lin@example.com").await;
    let (status, body) = t
        .post(
            "/api/v1/verifications",
            serde_json::json!({ "identifier": "lin@example.com", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let session = body["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let body = http
        .get(t.url("/account"))
        .header(COOKIE, format!("koban_session={session}; koban_lang=ja"))
        .header("accept-language", "th")
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(body.contains("<html lang=\"zh-CN\""), "{body}");
    assert!(body.contains("我的账号"), "{body}");
    // Anonymous, the cookie decides; without it, Accept-Language does.
    let body = http
        .get(t.url("/signin"))
        .header("accept-language", "zh-TW, en;q=0.5")
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(body.contains("<html lang=\"zh-TW\""), "{body}");
}
both!(the_accounts_own_language_comes_first);

async fn submitted_markup_is_escaped_and_passwords_are_not_echoed(t: TestApp) {
    let http = no_redirects();
    let token = csrf_token(&t, &http).await;
    let hostile = "\"><script>alert(1)</script>@x.example";
    let response = http
        .post(t.url("/signup"))
        .header(COOKIE, format!("koban_csrf={token}"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("with", "email"),
            ("email", hostile),
            ("password", "secret <b>pass</b> 99"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(!body.contains("<script>alert(1)"), "{body}");
    assert!(body.contains("&quot;&gt;&lt;script&gt;alert(1)"), "{body}");
    assert!(
        !body.contains("secret"),
        "the password is not sent back: {body}"
    );
    assert!(
        body.contains("This is not a valid email address."),
        "{body}"
    );
    assert_eq!(t.count("accounts").await, 0);
    // The same on the sign-in form, whose identifier is shown again too.
    let response = http
        .post(t.url("/signin"))
        .header(COOKIE, format!("koban_csrf={token}"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("identifier", "<img src=x onerror=alert(1)>"),
            ("password", "whatever it is"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(!body.contains("<img src=x"), "{body}");
    assert!(
        body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{body}"
    );
}
both!(submitted_markup_is_escaped_and_passwords_are_not_echoed);

async fn session_cookie_is_http_only_and_lax(t: TestApp) {
    let http = no_redirects();
    t.signed_up("kai@example.com", PASSWORD).await;
    let token = csrf_token(&t, &http).await;
    let response = http
        .post(t.url("/signin"))
        .header(COOKIE, format!("koban_csrf={token}"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("identifier", "kai@example.com"),
            ("password", PASSWORD),
            ("next", "https://evil.example"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/account"),
        "a foreign `next` is not followed"
    );
    let cookie = set_cookie(&response, "koban_session").expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    // Served over plain http (the tests' public URL): not Secure.
    assert!(!cookie.contains("Secure"), "{cookie}");
    let session = cookie_value(&cookie);
    // Sign-out clears it and ends the session.
    let response = http
        .post(t.url("/signout"))
        .header(
            COOKIE,
            format!("koban_csrf={token}; koban_session={session}"),
        )
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cleared = set_cookie(&response, "koban_session").expect("cleared cookie");
    assert!(cleared.starts_with("koban_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        t.get(Some(&session), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}
both!(session_cookie_is_http_only_and_lax);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_secure_when_served_over_https() {
    let t = TestApp::start(Db::Sqlite, |c| {
        c.public_url = "https://koban.example".into();
    })
    .await;
    t.signed_up("kai@example.com", PASSWORD).await;
    let http = no_redirects();
    let token = csrf_token(&t, &http).await;
    let response = http
        .post(t.url("/signin"))
        .header(COOKIE, format!("koban_csrf={token}"))
        // A client's claim of TLS does not count; the configuration does.
        .header("x-forwarded-proto", "http")
        .form(&[
            ("csrf_token", token.as_str()),
            ("identifier", "kai@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&response, "koban_session").expect("session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_embedded_and_cached_for_long() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let http = no_redirects();
    let page = http
        .get(t.url("/signin"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    // Attribute values are HTML-escaped, `/` included.
    let page = page.replace("&#x2f;", "/");
    let start = page.find("/assets/koban.css?v=").expect("stylesheet link");
    let href: String = page[start..].chars().take_while(|c| *c != '"').collect();
    let response = http.get(t.url(&href)).send().await.expect("get css");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable")
    );
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/css")));
    assert!(response.text().await.expect("css").contains("#06c755"));
    assert_eq!(
        http.get(t.url("/assets/../Cargo.toml"))
            .send()
            .await
            .expect("get")
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_up_with_email_in_english() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("sign_up_with_email_in_english", "en-US", &t.base).await
    else {
        return;
    };
    t.staff(ADMIN, "admin").await;
    let email = "mei@example.com";

    b.goto("/").await;
    b.on_page("landing").await;
    assert!(b.body_text().await.contains("Create account"));
    assert_eq!(
        b.find("html")
            .await
            .attr("lang")
            .await
            .expect("lang")
            .as_deref(),
        Some("en")
    );
    b.shot("landing").await;

    b.click("#landing-sign-up").await;
    b.on_page("signup").await;
    b.click("#with-email").await;
    b.find("#email").await;
    // A bad address and a weak password: both said at once.
    b.fill("#email", "mei@").await;
    b.fill("#password", "password").await;
    // The password can be shown to check it, and hidden again.
    b.click("#password-toggle").await;
    assert_eq!(
        b.find("#password")
            .await
            .attr("type")
            .await
            .expect("type")
            .as_deref(),
        Some("text")
    );
    assert_eq!(b.text("#password-toggle").await, "Hide");
    b.click("#password-toggle").await;
    assert_eq!(
        b.find("#password")
            .await
            .attr("type")
            .await
            .expect("type")
            .as_deref(),
        Some("password")
    );
    b.click("#signup-submit").await;
    b.find("#password-error").await;
    b.find("#email-error").await;
    assert!(b.text("#password-error").await.contains("too common"));
    b.shot("signup-errors").await;
    // A weak password alone: the form comes back with the reason, the email kept.
    b.fill("#email", email).await;
    b.fill("#password", "password").await;
    b.click("#signup-submit").await;
    b.find("#password-error").await;
    assert!(b.client().find(Locator::Css("#email-error")).await.is_err());
    assert!(b.text("#password-error").await.contains("too common"));
    assert_eq!(
        b.find("#email")
            .await
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some(email)
    );
    b.shot("signup-error").await;
    b.fill("#password", PASSWORD).await;
    b.shot("signup").await;
    b.click("#signup-submit").await;
    b.on_page("verify").await;
    assert!(b.text("#verify-lead").await.contains("@example.com"));
    // One contact, so no "other contact"; a new code only after the wait,
    // counted down on the disabled button.
    assert!(b
        .client()
        .find(Locator::Css("#verify-resend-other"))
        .await
        .is_err());
    let resend = b.find("#verify-resend").await;
    assert!(!resend.is_enabled().await.expect("enabled"));
    let label = resend.text().await.expect("label");
    assert!(
        label.starts_with("Send a new code in 0:") || label == "Send a new code in 1:00",
        "{label}"
    );
    b.shot("verify").await;

    let code = b.code_from_outbox(email, None).await;
    b.goto(&format!("/verify?identifier={email}")).await;
    b.on_page("verify").await;
    b.fill("#code", &code).await;
    b.click("#verify-submit").await;
    b.on_page("account").await;
    assert_eq!(b.text("#account-email").await, email);
    assert!(b
        .text("#notice")
        .await
        .contains("Your email address is verified."));
    b.shot("account").await;
    // The footer's languages switch the page, and back.
    b.click("#footer-lang-th").await;
    b.find("html[lang=\"th\"]").await;
    b.on_page("account").await;
    b.click("#footer-lang-en").await;
    b.find("html[lang=\"en\"]").await;

    b.click("#account-sign-out").await;
    b.on_page("signin").await;
    assert!(b.text("#notice").await.contains("You are signed out."));
    b.shot("signed-out").await;
    // A wrong password is refused in words, then the right one works.
    b.sign_in(email, "not the password 1").await;
    b.find("#alert").await;
    assert!(b
        .text("#alert")
        .await
        .contains("The account or password is wrong."));
    b.shot("signin-error").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("account").await;

    // Forgot the password: a reset code by email, a new password, sign in with it.
    b.click("#account-sign-out").await;
    b.on_page("signin").await;
    b.click("#signin-forgot").await;
    b.on_page("forgot").await;
    b.fill("#identifier", email).await;
    b.shot("forgot").await;
    b.click("#forgot-submit").await;
    b.on_page("reset").await;
    let reset_code = t.latest_code_after(&code, email).await;
    b.fill("#code", &reset_code).await;
    b.fill("#new_password", "a brand new phrase 7").await;
    b.shot("reset").await;
    b.click("#reset-submit").await;
    b.on_page("signin").await;
    assert!(b.text("#notice").await.contains("password was changed"));
    b.fill("#password", "a brand new phrase 7").await;
    b.click("#signin-submit").await;
    b.on_page("account").await;

    // The same pages on a phone-sized screen.
    b.client().set_window_size(390, 844).await.expect("resize");
    b.goto("/account").await;
    b.on_page("account").await;
    b.shot("account-narrow").await;
    b.click("#nav-sign-out").await;
    b.on_page("signin").await;
    b.shot("signin-narrow").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_up_with_phone_in_chinese() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("sign_up_with_phone_in_chinese", "zh-CN", &t.base).await
    else {
        return;
    };
    t.staff(ADMIN, "admin").await;
    let phone = "+819012345678";

    b.goto("/").await;
    b.on_page("landing").await;
    assert_eq!(
        b.find("html")
            .await
            .attr("lang")
            .await
            .expect("lang")
            .as_deref(),
        Some("zh-CN"),
        "Accept-Language from the browser picks Chinese"
    );
    assert_eq!(b.text("#nav-sign-in").await, "登录");
    b.shot("landing").await;

    b.click("#landing-sign-up").await;
    b.on_page("signup").await;
    assert!(b.body_text().await.contains("创建账号"));
    // A number without its region and a short password: both said at once,
    // in Chinese; the password can be shown (显示) and hidden (隐藏).
    b.fill("#phone", "12").await;
    b.fill("#password", "short").await;
    assert_eq!(b.text("#password-toggle").await, "显示");
    b.click("#password-toggle").await;
    assert_eq!(b.text("#password-toggle").await, "隐藏");
    b.click("#signup-submit").await;
    b.find("#phone-error").await;
    b.find("#password-error").await;
    b.shot("signup-errors").await;
    // A national number with the region chosen from the list.
    b.fill("#phone", "090-1234-5678").await;
    b.find("#region")
        .await
        .select_by_value("JP")
        .await
        .expect("region");
    b.fill("#password", PASSWORD).await;
    b.shot("signup").await;
    b.click("#signup-submit").await;
    b.on_page("verify").await;
    assert!(b.body_text().await.contains("输入验证码"));
    assert!(b
        .client()
        .find(Locator::Css("#verify-resend-other"))
        .await
        .is_err());
    let resend = b.find("#verify-resend").await;
    assert!(!resend.is_enabled().await.expect("enabled"));
    assert!(resend
        .text()
        .await
        .expect("label")
        .contains("后可重新发送验证码"));
    b.shot("verify").await;
    // Without the page script the button works at once, and the server
    // refuses in words, counting down again.
    b.client()
        .execute(
            // A fresh copy of the button, which the page's countdown does not hold.
            "var b = document.getElementById('verify-resend'); var c = b.cloneNode(true); c.removeAttribute('data-wait-until'); c.disabled = false; b.replaceWith(c);",
            vec![],
        )
        .await
        .expect("script");
    b.click("#verify-resend").await;
    b.find("#alert").await;
    assert!(b.text("#alert").await.contains("请求过于频繁"));
    assert!(!b
        .find("#verify-resend")
        .await
        .is_enabled()
        .await
        .expect("enabled"));
    b.shot("verify-throttled").await;

    let code = b.code_from_outbox(phone, None).await;
    b.goto("/verify?identifier=%2B819012345678").await;
    b.on_page("verify").await;
    // A wrong code first: the reason shows beside the field, in Chinese.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.fill("#code", wrong).await;
    b.click("#verify-submit").await;
    b.find("#code-error").await;
    assert!(b.text("#code-error").await.contains("验证码"));
    b.shot("verify-error").await;
    b.fill("#code", &code).await;
    b.click("#verify-submit").await;
    b.on_page("account").await;
    assert!(b.body_text().await.contains("我的账号"));
    // As people write it in Japan, not as it is stored.
    assert_eq!(b.text("#account-phone").await, "090-1234-5678");
    assert!(b.text("#notice").await.contains("手机号码已验证"));
    assert!(b.body_text().await.contains("已验证"));
    b.shot("account").await;

    b.click("#account-sign-out").await;
    b.on_page("signin").await;
    assert!(b.body_text().await.contains("您已退出登录"));
    b.shot("signin").await;
    b.sign_in(phone, PASSWORD).await;
    b.on_page("account").await;

    // The language switch changes the account's own setting too.
    b.click("details.lang-switch summary").await;
    b.click("#lang-ja").await;
    b.find("html[lang=\"ja\"]").await;
    b.on_page("account").await;
    assert_eq!(b.text("#account-sign-out").await, "ログアウト");
    b.shot("account-ja").await;
    b.close().await;
}

// ---- The security center in the browser -------------------------------------------

/// Enrols TOTP through the pages (the test reads the secret off the page
/// and computes the codes), signs out, signs in with the password and then
/// the code, and finds the sign-in in the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_totp_enrolment_and_two_step_sign_in() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("totp_enrolment_and_two_step_sign_in", "en-US", &t.base).await
    else {
        return;
    };
    let email = "totp@example.com";
    t.signed_up(email, PASSWORD).await;

    b.goto("/signin").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("account").await;
    // The page reminds an account without 2FA to turn it on.
    assert!(b
        .find("#reminders .reminder[data-kind=\"enable_two_factor\"]")
        .await
        .text()
        .await
        .expect("text")
        .contains("two-factor"));
    b.shot("account-reminder").await;
    b.click("#account-security").await;
    b.on_page("security").await;
    assert_eq!(b.text("#twofa-state").await, "Off");
    b.shot("security").await;
    b.click("#tab-devices").await;
    b.on_page("security-devices").await;
    assert_eq!(b.text("#this-device").await, "This device");
    b.click("#tab-overview").await;
    b.on_page("security").await;

    b.click("#twofa-manage").await;
    b.on_page("two-factor").await;
    b.click("#twofa-begin").await;
    b.on_page("two-factor").await;
    b.find("#totp-qr svg").await;
    let secret: String = b
        .text("#totp-secret")
        .await
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert_eq!(secret.len(), 32, "{secret}");
    b.shot("totp-setup").await;
    // A wrong code first: said beside the field, 2FA still off.
    let step = totp_step_now();
    let right = totp_at(&secret, step);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    b.fill("#code", wrong).await;
    b.click("#totp-confirm").await;
    // Said as an authenticator app works: there is no new code to request.
    let said = b.text("#code-error").await;
    assert!(said.contains("doesn't match"), "{said}");
    assert!(!said.contains("Request"), "{said}");
    b.find("#totp-qr svg").await;
    b.shot("totp-setup-error").await;
    b.fill("#code", &totp_at(&secret, totp_step_now())).await;
    let used = totp_step_now();
    b.click("#totp-confirm").await;
    b.on_page("recovery-codes").await;
    let codes = b.text("#recovery-codes").await;
    assert_eq!(
        codes.lines().filter(|l| l.len() == 11).count(),
        10,
        "{codes}"
    );
    b.shot("recovery-codes").await;
    b.click("#codes-kept").await;
    b.click("#codes-saved").await;
    b.on_page("two-factor").await;
    assert_eq!(b.text("#twofa-state").await, "On");
    b.shot("totp-on").await;

    b.click("#nav-sign-out").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("second-factor").await;
    assert!(b
        .text("#second-factor-lead")
        .await
        .contains("authenticator"));
    assert!(
        !b.client()
            .current_url()
            .await
            .expect("url")
            .as_str()
            .contains("kbc_"),
        "the challenge is not in the URL"
    );
    b.shot("second-factor").await;
    // The code that just turned 2FA on is refused as used, not as wrong.
    b.fill("#code", &totp_at(&secret, used)).await;
    b.click("#second-factor-submit").await;
    b.on_page("second-factor").await;
    let said = b.text("#code-error").await;
    assert!(
        said.contains("just used") && said.contains("next one"),
        "{said}"
    );
    // A code from a step after the one used at enrolment.
    let code = totp_at(&secret, totp_step_now().max(used + 1));
    b.fill("#code", &code).await;
    b.click("#second-factor-submit").await;
    b.on_page("account").await;
    assert!(b.client().find(Locator::Css("#reminders")).await.is_err());

    b.goto("/account/security/history").await;
    b.on_page("login-history").await;
    let newest = b.find("#login-history tbody tr.attempt").await;
    assert_eq!(
        newest.attr("data-outcome").await.expect("attr").as_deref(),
        Some("success")
    );
    let text = b.text("#login-history").await;
    assert!(
        text.contains("Password correct, second factor asked"),
        "{text}"
    );
    b.shot("login-history").await;
    b.click("#tab-timeline").await;
    b.on_page("security-timeline").await;
    assert!(b
        .text("#timeline")
        .await
        .contains("Two-factor authentication turned on"));
    b.shot("timeline").await;
    b.client().set_window_size(390, 844).await.expect("resize");
    b.goto("/account/security").await;
    b.on_page("security").await;
    b.shot("security-narrow").await;
    b.goto("/account/security/history").await;
    b.on_page("login-history").await;
    b.shot("login-history-narrow").await;
    b.close().await;
}

async fn api_sign_in_from(t: &TestApp, device: &str, identifier: &str) -> (String, i64) {
    let (status, body) = t
        .send(
            t.http
                .post(t.url("/api/v1/sessions"))
                .header("x-koban-device", device)
                .header("x-koban-device-name", format!("Phone {}", &device[..6]))
                .json(&serde_json::json!({ "identifier": identifier, "password": PASSWORD })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["session"]["token"]
            .as_str()
            .expect("token")
            .to_string(),
        body["device_id"].as_i64().expect("device id"),
    )
}

/// The device-limit conflict: two apps already bound, the browser is the
/// third; it is shown the bound devices, removes one, and is signed in;
/// the removed device's session is dead at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_device_limit_conflict() {
    let t = TestApp::start(Db::Sqlite, |c| {
        c.max_devices = 2;
        // Three devices in a day would be churn, which asks for a code first.
        c.risk_device_churn_count = 0;
    })
    .await;
    let Some(mut b) = Browser::start("device_limit_conflict", "en-US", &t.base).await else {
        return;
    };
    let email = "limit@example.com";
    t.signed_up(email, PASSWORD).await;
    // The sign-up's own device (where verification binds one) goes, so the
    // two apps below fill the limit exactly.
    t.exec("UPDATE devices SET removed_at = 1").await;
    let (first, first_id) = api_sign_in_from(&t, "first-phone-0000000001", email).await;
    let (second, second_id) = api_sign_in_from(&t, "other-phone-0000000002", email).await;

    b.goto("/signin").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("device-limit").await;
    let list = b.text("#device-limit-list").await;
    assert!(list.contains("Phone first-"), "{list}");
    assert!(list.contains("Phone other-"), "{list}");
    assert!(list.contains("127.0.0.1"), "{list}");
    b.shot("device-limit").await;
    b.click(&format!("#remove-device-{first_id}")).await;
    b.on_page("account").await;
    b.shot("account").await;

    assert_eq!(
        t.get(Some(&first), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "the removed device's session ended"
    );
    assert_eq!(t.get(Some(&second), "/api/v1/me").await.0, StatusCode::OK);
    b.goto("/account/security/devices").await;
    b.on_page("security-devices").await;
    let devices = b.text("#devices").await;
    assert!(!devices.contains("Phone first-"), "{devices}");
    assert!(devices.contains("Phone other-"), "{devices}");
    assert!(devices.contains("This device"), "{devices}");
    assert!(b
        .client()
        .find(Locator::Css(&format!("li[data-device-id=\"{second_id}\"]")))
        .await
        .is_ok());
    b.shot("security").await;
    b.close().await;
}

/// Four wrong passwords warn that the next locks and offer a reset; the
/// fifth locks; the sixth attempt shows the lock page: how long is left,
/// counting down, the end in the viewer's zone, one way out first (a code,
/// on a device the account has not used) and the others folded, one
/// new-password field, and support. Unlocking with the emailed code needs
/// the new password, and then that password signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_lock_page_and_self_service_unlock() {
    let t = TestApp::start(Db::Sqlite, |c| {
        c.support_url = "mailto:help@example.com".into();
    })
    .await;
    let Some(mut b) = Browser::start("lock_page_and_self_service_unlock", "en-US", &t.base).await
    else {
        return;
    };
    let email = "locked@example.com";
    t.signed_up(email, PASSWORD).await;

    b.goto("/signin").await;
    b.on_page("signin").await;
    for i in 0..5 {
        b.sign_in(email, &format!("wrong guess number {i}")).await;
        b.on_page("signin").await;
        let alert = b.text("#alert").await;
        assert!(
            alert.contains("The account or password is wrong."),
            "{alert}"
        );
        let warned = b
            .client()
            .find(Locator::Css("#last-try-forgot"))
            .await
            .is_ok();
        // Only the fourth failure leaves a single try: it warns and offers a reset.
        assert_eq!(warned, i == 3, "try {i}: {alert}");
        assert_eq!(
            alert.contains("One more wrong password locks"),
            i == 3,
            "{alert}"
        );
        if i == 3 {
            b.shot("last-try-warning").await;
        }
    }
    b.sign_in(email, PASSWORD).await;
    b.on_page("locked").await;
    b.find("#lock-temporary").await;
    let text = b.body_text().await;
    assert!(text.contains("Too many wrong passwords"), "{text}");
    assert!(!text.contains("If the account is locked"), "{text}");
    // A live countdown from about a minute, and the end as a local time.
    let first = b.text("#lock-countdown").await;
    assert!(
        first.starts_with("0:") || first.starts_with("1:"),
        "{first}"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = b.text("#lock-countdown").await;
    assert_ne!(first, later, "the countdown moves");
    let until = b.text("#lock-until").await;
    assert!(!until.contains("UTC") && until.contains(':'), "{until}");
    // This browser never signed in to the account: a code first, the other
    // ways folded, and only one password field on the page.
    let send = b.find("#unlock-send").await;
    assert!(send
        .attr("class")
        .await
        .expect("class")
        .unwrap_or_default()
        .contains("btn-primary"));
    b.find("#other-ways:not([open]) #unlock-passkey").await;
    let passwords = b
        .client()
        .find_all(Locator::Css("input[type=password]"))
        .await
        .expect("inputs");
    assert_eq!(passwords.len(), 1);
    let support = b.find("#contact-support").await;
    assert_eq!(
        support.attr("href").await.expect("href").as_deref(),
        Some("mailto:help@example.com")
    );
    b.shot("locked").await;

    b.click("#unlock-send").await;
    b.on_page("locked").await;
    assert!(b.text("#notice").await.contains("sent a code"));
    b.find("#unlock-form").await;
    let code = t.latest_code(email).await;
    // Wrong passwords caused the lock: a new password is required.
    b.fill("#code", &code).await;
    b.click("#unlock-submit").await;
    b.find("#new_password-error").await;
    b.shot("unlock-needs-password").await;
    b.fill("#code", &code).await;
    b.fill("#new_password", "a fresh start phrase 9").await;
    b.shot("unlock").await;
    b.click("#unlock-submit").await;
    b.on_page("signin").await;
    assert!(b.text("#notice").await.contains("unlocked"));
    b.shot("unlocked").await;
    b.sign_in(email, "a fresh start phrase 9").await;
    b.on_page("account").await;
    b.goto("/account/security/timeline").await;
    b.on_page("security-timeline").await;
    let timeline = b.text("#timeline").await;
    assert!(timeline.contains("Sign-in unlocked"), "{timeline}");
    assert!(timeline.contains("Sign-in locked"), "{timeline}");
    b.shot("timeline").await;
    b.close().await;
}

/// On a browser the account signed in from before, the lock page offers
/// the account's own ways, best first: here its authenticator app (no
/// passkey, which it does not have), in Japanese, and unlocks with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_lock_page_on_a_known_device_in_japanese() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) =
        Browser::start("lock_page_on_a_known_device_in_japanese", "ja", &t.base).await
    else {
        return;
    };
    let email = "kaori@example.com";
    let token = t.signed_up(email, PASSWORD).await;
    let (_, enrolment) = t
        .post_as(&token, "/api/v1/me/2fa/totp", serde_json::json!({}))
        .await;
    let secret = enrolment["secret"].as_str().expect("secret").to_string();
    let enrolled = totp_step_now();
    let (status, confirmed) = t
        .post_as(
            &token,
            "/api/v1/me/2fa/totp/confirm",
            serde_json::json!({ "code": totp_at(&secret, enrolled) }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let recovery = confirmed["recovery_codes"][0]
        .as_str()
        .expect("a recovery code")
        .to_string();
    // This browser signs in once (password, then the app), so it is known.
    b.goto("/signin").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("second-factor").await;
    // The code that turned 2FA on was used: said so, in Japanese.
    b.fill("#code", &totp_at(&secret, enrolled)).await;
    b.click("#second-factor-submit").await;
    b.on_page("second-factor").await;
    let said = b.text("#code-error").await;
    assert!(
        said.contains("使用済み") && said.contains("次のコード"),
        "{said}"
    );
    b.fill("#code", &totp_at(&secret, enrolled + 1)).await;
    b.click("#second-factor-submit").await;
    b.on_page("account").await;
    b.click("#nav-sign-out").await;
    b.on_page("signin").await;
    for i in 0..5 {
        b.sign_in(email, &format!("間違い {i}")).await;
        b.on_page("signin").await;
    }
    b.sign_in(email, PASSWORD).await;
    b.on_page("locked").await;
    let text = b.body_text().await;
    assert!(text.contains("パスワードの入力ミスが続いた"), "{text}");
    // The app comes first, typed straight in; no passkey is offered at all.
    b.find("#way-entry #unlock-form").await;
    assert!(b.text("#way-entry").await.contains("認証アプリ"));
    assert!(b
        .client()
        .find(Locator::Css("#unlock-passkey"))
        .await
        .is_err());
    b.find("#other-ways #unlock-send").await;
    b.shot("locked-known-device").await;
    // Both app codes of this half-minute are used: a recovery code, chosen
    // among the kinds of code this account has.
    b.fill("#new_password", "新しい合言葉 2027").await;
    b.find("#method")
        .await
        .select_by_value("recovery_code")
        .await
        .expect("choose recovery code");
    b.fill("#code", &recovery).await;
    b.click("#unlock-submit").await;
    b.on_page("signin").await;
    b.shot("unlocked").await;
    b.close().await;
}

/// The security center in Chinese, down to the lock page's support path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_security_center_in_chinese() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("security_center_in_chinese", "zh-CN", &t.base).await else {
        return;
    };
    let email = "zhong@example.com";
    t.signed_up(email, PASSWORD).await;
    b.goto("/signin").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("account").await;
    // The account was made in English over the API; switch it to Chinese.
    b.click("details.lang-switch summary").await;
    b.click("#lang-zh-CN").await;
    b.find("html[lang=\"zh-CN\"]").await;
    b.on_page("account").await;
    b.click("#account-security").await;
    b.on_page("security").await;
    assert!(b.body_text().await.contains("安全中心"));
    b.shot("security").await;
    b.click("#tab-devices").await;
    b.on_page("security-devices").await;
    assert_eq!(b.text("#this-device").await, "当前设备");
    b.click("#tab-activity").await;
    b.on_page("login-history").await;
    assert!(b.text("#login-history").await.contains("登录成功"));
    b.shot("login-history").await;
    // Removing the only device needs a fresh check: a code by email.
    t.exec("UPDATE devices SET removed_at = 1 WHERE id <> (SELECT MAX(id) FROM devices)")
        .await;
    b.goto("/account/security/devices").await;
    b.on_page("security-devices").await;
    b.click("#devices li.device form button.btn-danger").await;
    b.on_page("step-up").await;
    assert!(b.body_text().await.contains("确认是您本人"));
    b.shot("step-up").await;
    b.goto("/locked?identifier=zhong%40example.com&kind=support")
        .await;
    b.on_page("locked").await;
    b.find("#lock-support").await;
    assert!(b.body_text().await.contains("联系客服"));
    b.shot("locked-support").await;
    b.close().await;
}

/// WebDriver's "Add Virtual Authenticator" (WebAuthn Level 2 §11.3): a
/// platform authenticator that verifies the user at once, so passkeys can
/// be made and used in headless Chromium.
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        });
        (http::Method::POST, Some(body.to_string()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_passkey_added_in_the_security_center_and_used_to_sign_in() {
    // WebAuthn wants a secure context and a domain: http://localhost is both,
    // 127.0.0.1 is not a valid relying-party id.
    let t = TestApp::start(Db::Sqlite, |c| {
        c.webauthn_rp_id = "localhost".into();
        c.webauthn_origin = "http://localhost".into();
    })
    .await;
    let base = t.base.replace("127.0.0.1", "localhost");
    let Some(mut b) = Browser::start("passkey_second_factor", "en-US", &base).await else {
        return;
    };
    b.client()
        .issue_cmd(AddVirtualAuthenticator)
        .await
        .expect("a virtual authenticator");
    let email = "passkey@example.com";
    t.signed_up(email, PASSWORD).await;

    b.goto("/signin").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("account").await;
    b.goto("/account/security/2fa").await;
    b.on_page("two-factor").await;
    b.find("#no-passkeys").await;
    b.shot("security-no-passkeys").await;
    // Adding a passkey asks for a fresh check first: here a code by email.
    b.click("#passkey-add").await;
    b.on_page("step-up").await;
    b.click("#step-up-send").await;
    b.find("#notice").await;
    let code = t.latest_code(email).await;
    b.fill("#code", &code).await;
    b.click("#step-up-submit").await;
    b.on_page("passkey-add").await;
    b.fill("#name", "This laptop").await;
    b.shot("passkey-add").await;
    b.click("#passkey-create").await;
    // The first second factor turns 2FA on and shows the recovery codes once.
    b.on_page("recovery-codes").await;
    b.shot("passkey-recovery-codes").await;
    b.goto("/account/security/2fa").await;
    b.on_page("two-factor").await;
    assert!(b.text("#passkeys").await.contains("This laptop"));
    assert_eq!(b.text("#twofa-state").await, "On");
    b.shot("security-with-passkey").await;

    b.click("#nav-sign-out").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("second-factor").await;
    assert!(b.text("#second-factor-lead").await.contains("passkey"));
    b.shot("second-factor-passkey").await;
    b.click("#use-passkey").await;
    b.on_page("account").await;
    b.shot("signed-in-with-passkey").await;

    let outcomes: Vec<String> = {
        use sqlx::Row;
        sqlx::query("SELECT outcome FROM login_attempts ORDER BY id DESC LIMIT 2")
            .fetch_all(t.app.store.read())
            .await
            .expect("attempts")
            .iter()
            .map(|r| r.try_get("outcome").expect("outcome"))
            .collect()
    };
    assert_eq!(outcomes, ["success", "second_factor_required"]);
    b.goto("/account/security/timeline").await;
    b.on_page("security-timeline").await;
    assert!(b.text("#timeline").await.contains("Passkey added"));
    b.close().await;
}
