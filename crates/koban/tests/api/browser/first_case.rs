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
    // A screenshot of the lock, from the phone's gallery.
    let gallery = tempfile::tempdir().expect("temp dir");
    let screenshot = gallery.path().join("lock-screen.png");
    std::fs::write(&screenshot, crate::blobs::png(320, 640)).expect("screenshot");
    user.find("#files")
        .await
        .send_keys(&screenshot.display().to_string())
        .await
        .expect("choose the screenshot");
    user.shot("support-form").await;
    user.click("#support-submit").await;
    user.on_page("support-sent").await;
    assert_eq!(
        t.count("desk_attachments").await,
        1,
        "the screenshot came with the request"
    );
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

/// The agent's side, in the console, in a browser of their own.
async fn agent_verifies_and_unlocks(t: &TestApp, owner: &str, reference: &str) {
    let agent_email = "support@example.com";
    t.staff(agent_email, "agent").await;
    let Some(mut agent) = Browser::start("first_case_agent", "zh-TW", &t.base).await else {
        return;
    };
    agent.goto("/signin").await;
    agent.on_page("signin").await;
    agent.sign_in(agent_email, "staff password 1").await;
    agent.on_page("account").await;
    // The console is in the header for agents.
    agent.click("#nav-desk").await;
    agent.on_page("desk-queue").await;
    let row = format!("tr.queue-row[data-reference=\"{reference}\"]");
    let subject = agent.text(&format!("{row} .subject")).await;
    assert!(subject.contains("ログインできません"), "{subject}");
    agent.shot("queue").await;
    agent.click(&format!("{row} a.ticket-link")).await;
    agent.on_page("desk-ticket").await;
    // Triaged, and the lock is in the account's context before anything is proved.
    let category = agent
        .script("return document.querySelector('#category').value")
        .await;
    assert!(
        category == "cannot_sign_in" || category == "account_stolen",
        "{category}"
    );
    // The user's screenshot is on the ticket, shown small.
    let file = agent.text("#ticket-attachments .attachment").await;
    assert!(file.contains("lock-screen.png"), "{file}");
    agent.find("#ticket-attachments img.thumb").await;
    agent.find("#account-unproved").await;
    agent.find("#lock-state").await;
    agent.find("#actions-need-verification").await;
    agent.shot("ticket").await;

    // A code to the account's verified contact, read back by the user on the phone.
    agent.click("#verify-start").await;
    agent.on_page("desk-ticket").await;
    agent.find("#verify-check-form").await;
    let code = t.latest_code(owner).await;
    agent.fill("#code", &code).await;
    agent.click("#verify-check").await;
    agent.on_page("desk-ticket").await;
    agent.find("#verified").await;
    agent.click("#action-unlock").await;
    agent
        .fill("#reason", "本人確認済み：機種変更後にロックされた")
        .await;
    agent.shot("verified").await;
    agent.click("#action-submit").await;
    agent.on_page("desk-ticket").await;
    agent.shot("unlocked").await;
    assert_eq!(
        t.count("audit_log WHERE action = 'account.unlock'").await,
        1
    );
    let events = t
        .count(&format!(
            "desk_events WHERE kind = 'account_action' AND ticket_id = \
             (SELECT id FROM desk_tickets WHERE reference = '{}')",
            reference.replace('-', "")
        ))
        .await;
    assert_eq!(events, 1, "the ticket shows the action");
    agent.close().await;
}
