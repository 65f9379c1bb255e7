//! The security center in Chromium: the Chinese pages, and a passkey added
//! with a virtual authenticator and used to sign in.

use super::*;

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
