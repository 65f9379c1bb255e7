//! HTTP-level checks of the pages on both databases: CSRF, escaping,
//! redirects, cookies, who may see what.

use super::*;

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
