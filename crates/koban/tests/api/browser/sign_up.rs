//! The sign-up journey in a real headless Chromium, in English and Chinese.

use super::*;

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
