//! Two-step sign-in, the device limit and the lock page, in Chromium.

use super::*;

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
