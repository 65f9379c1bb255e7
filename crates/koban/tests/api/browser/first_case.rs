//! The source's first case, as the people in it live it, in Chromium: a
//! user locked out on a new device asks for help through the web form
//! signed out; the ticket arrives triaged with the lock in its security
//! context; an agent verifies the owner with a code sent to the verified
//! contact and unlocks from the ticket; the user signs in and turns on 2FA.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_first_case_locked_out_user_gets_back_in_through_support() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut user) = Browser::start("first_case_user", "ja-JP", &t.base).await else {
        return;
    };
    let owner = "haruto@example.jp";
    t.signed_up(owner, PASSWORD).await;

    // On the new phone the password is mistyped until the account locks.
    user.goto("/signin").await;
    user.on_page("signin").await;
    for i in 0..5 {
        user.sign_in(owner, &format!("wrong guess number {i}"))
            .await;
        user.on_page("signin").await;
    }
    user.sign_in(owner, PASSWORD).await;
    user.on_page("locked").await;
    user.shot("locked").await;

    // "Contact support" opens Koban's own form on the sign-in category.
    user.click("#contact-support").await;
    user.on_page("support").await;
    let category = user
        .script("return document.querySelector('#category').value")
        .await;
    assert_eq!(category, "cannot_sign_in");
    user.fill("#subject", "新しいスマホでログインできません")
        .await;
    user.fill(
        "#body",
        "機種変更した新しいスマホでログインしようとしたら、パスワードを何度か間違えてアカウントがロックされました。",
    )
    .await;
    user.fill("#email", owner).await;
    // The form asks what the sign-in category needs, and says so if not given.
    user.click("#support-submit").await;
    user.on_page("support").await;
    user.find("#device_os-error").await;
    user.fill("#contact_used", owner).await;
    user.fill("#device_os", "Android 15").await;
    user.fill("#error_text", "アカウントがロックされています")
        .await;
    // The browser's picker: a wall-clock time in the user's zone.
    user.script(
        "const f = document.querySelector('#happened_at'); f.value = '2026-12-04T09:30'; return f.value",
    )
    .await;
    user.shot("support-form").await;
    user.click("#support-submit").await;
    user.on_page("support-sent").await;
    let reference = user.text("#reference").await;
    assert_eq!(reference.len(), 13, "{reference}");
    user.shot("reference").await;

    agent_verifies_and_unlocks(&t, owner, &reference).await;

    // Back in, the user turns on two-step sign-in.
    user.goto("/signin").await;
    user.on_page("signin").await;
    user.sign_in(owner, PASSWORD).await;
    user.on_page("account").await;
    user.goto("/account/security/2fa").await;
    user.on_page("two-factor").await;
    user.click("#twofa-begin").await;
    user.on_page("two-factor").await;
    let secret: String = user
        .text("#totp-secret")
        .await
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    user.fill("#code", &totp_at(&secret, totp_step_now())).await;
    user.click("#totp-confirm").await;
    user.on_page("recovery-codes").await;
    user.click("#codes-kept").await;
    user.click("#codes-saved").await;
    user.on_page("two-factor").await;
    user.shot("two-factor-on").await;
    assert_eq!(
        t.count(&format!(
            "accounts WHERE email = '{owner}' AND totp_enabled_at IS NOT NULL"
        ))
        .await,
        1
    );
    user.close().await;
}

/// The agent's side, in the console.
async fn agent_verifies_and_unlocks(t: &TestApp, owner: &str, reference: &str) {
    let digits: String = reference.chars().filter(char::is_ascii_digit).collect();
    let base = format!("/api/v1/desk/tickets/{digits}");
    let agent = t.staff("support@example.com", "agent").await;
    let (status, ticket) = t.get(Some(&agent), &base).await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    assert!(
        ["cannot_sign_in", "account_stolen"].contains(&ticket["category"].as_str().unwrap_or("")),
        "{ticket}"
    );
    let (_, context) = t
        .get(Some(&agent), &format!("{base}/security-context"))
        .await;
    assert!(context["live"]["lock"].is_object(), "{context}");
    let (status, started) = t
        .post_as(
            &agent,
            &format!("{base}/verifications"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let id = started["id"].as_i64().expect("id");
    let code = t.latest_code(owner).await;
    let (status, body) = t
        .post_as(
            &agent,
            &format!("{base}/verifications/{id}/check"),
            serde_json::json!({ "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = t
        .post_as(
            &agent,
            &format!("{base}/account-actions"),
            serde_json::json!({ "action": "unlock", "reason": "owner verified by a code" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}
