//! Every lock tells the truth about its way out, in the API answer, on the
//! page and in the notice: wait (how long) or unlock now with a code; only
//! support, with a reference the support desk can find; or, for a network,
//! wait or ask support.

use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "plum blossom 2026";
const WRONG: &str = "wrong guess 123";

async fn sign_in(t: &TestApp, identifier: &str, password: &str) -> (StatusCode, Value) {
    t.post(
        "/api/v1/sessions",
        json!({ "identifier": identifier, "password": password }),
    )
    .await
}

/// A page's HTML, as a browser would fetch it.
async fn page(t: &TestApp, path: &str) -> String {
    let response = t.http.get(t.url(path)).send().await.expect("page");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.expect("html")
}

fn is_reference(text: &str) -> bool {
    let b = text.as_bytes();
    text.len() == 12
        && text.starts_with("LK-")
        && b[7] == b'-'
        && b[3..7].iter().chain(&b[8..]).all(u8::is_ascii_digit)
}

/// A temporary lock says how long, and that a code unlocks it now; its
/// notice says the same with the way to the sign-in page; the code it
/// names does unlock.
async fn a_temporary_lock_names_its_wait_and_the_code(t: TestApp) {
    t.signed_up("wait@example.com", PASSWORD).await;
    for _ in 0..5 {
        sign_in(&t, "wait@example.com", WRONG).await;
    }
    let (status, problem) = sign_in(&t, "wait@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["unlock"], "code", "{problem}");
    assert!(problem.get("lock_reference").is_none(), "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("1 min") && detail.contains("code"),
        "{detail}"
    );
    let notice = t
        .newest_delivery_of("lock_notice", "wait@example.com")
        .await;
    assert!(notice.contains("1 min"), "{notice}");
    assert!(notice.contains("/signin"), "{notice}");
    let html = page(&t, "/locked?identifier=wait%40example.com&kind=temporary").await;
    assert!(
        html.contains("id=\"unlock-code-form\""),
        "the page offers the code"
    );
    // The way out it names works: a code to the verified contact unlocks.
    t.exec("DELETE FROM send_throttle").await;
    let before = t.count("deliveries").await;
    let (status, _) = t
        .post(
            "/api/v1/unlock",
            json!({ "identifier": "wait@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(t.count("deliveries").await, before + 1, "a code went out");
}
both!(a_temporary_lock_names_its_wait_and_the_code);

/// A support lock says only support can unlock, with a reference; its
/// notice carries the same reference; the support desk finds the lock by
/// it; asking for a code sends none, as the answer said; the page shows the
/// reference. A temporary lock that becomes a support lock is told again.
async fn a_support_lock_names_support_and_its_reference(t: TestApp) {
    t.signed_up("stuck@example.com", PASSWORD).await;
    for _ in 0..2 {
        sign_in(&t, "stuck@example.com", WRONG).await;
    }
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE purpose = 'lock_notice'"
        )
        .await,
        1,
        "the temporary lock was told"
    );
    // The temporary lock runs out; one more wrong password locks for support.
    t.exec("UPDATE sign_in_guards SET locked_until = 1").await;
    koban::security::state(&t.app).refusals.forget_all();
    let (status, _) = sign_in(&t, "stuck@example.com", WRONG).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, problem) = sign_in(&t, "stuck@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["unlock"], "support", "{problem}");
    let reference = problem["lock_reference"]
        .as_str()
        .expect("a reference")
        .to_string();
    assert!(is_reference(&reference), "{reference}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains(&reference), "{detail}");
    assert!(
        !detail.contains("code sent"),
        "no promise of a code: {detail}"
    );

    let notice = t
        .newest_delivery_of("lock_notice", "stuck@example.com")
        .await;
    assert!(notice.contains(&reference), "{notice}");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE purpose = 'lock_notice'"
        )
        .await,
        2,
        "becoming a support lock is told"
    );
    // The desk finds the lock from the reference a requester quotes.
    let digits: String = reference.chars().filter(char::is_ascii_digit).collect();
    let found = scalar(
        &t,
        &format!(
            "SELECT COUNT(*) FROM sign_in_guards WHERE lock_reference = {digits} AND locked_for_support = 1"
        ),
    )
    .await;
    assert_eq!(found, 1);
    // No code is sent: the answer did not promise one.
    t.exec("DELETE FROM send_throttle").await;
    let before = t.count("deliveries").await;
    let (status, _) = t
        .post(
            "/api/v1/unlock",
            json!({ "identifier": "stuck@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(t.count("deliveries").await, before);
    // The page shows the reference, and offers no code.
    let html = page(
        &t,
        &format!("/locked?identifier=stuck%40example.com&kind=support&reference={reference}"),
    )
    .await;
    assert!(html.contains(&reference), "the page quotes the reference");
    assert!(!html.contains("id=\"unlock-code-form\""), "no code offered");
    // With no support address configured, the way out is Koban's own form,
    // opened on the sign-in category with the reference filled in.
    let form = format!("support?category=cannot_sign_in&amp;reference={reference}");
    assert!(html.contains(&form), "{html}");
    let html = page(
        &t,
        &format!("/support?category=cannot_sign_in&reference={reference}"),
    )
    .await;
    assert!(html.contains("value=\"cannot_sign_in\" selected"), "{html}");
    assert!(html.contains(&format!("value=\"{reference}\"")), "{html}");
    // Something else in the reference's place is not echoed.
    let html = page(
        &t,
        "/locked?identifier=stuck%40example.com&kind=support&reference=%3Cb%3Ehi%3C%2Fb%3E",
    )
    .await;
    assert!(
        !html.contains("lock-reference"),
        "only a reference is shown"
    );
    let html = page(
        &t,
        "/support?category=cannot_sign_in&reference=%3Cb%3Ehi%3C%2Fb%3E",
    )
    .await;
    assert!(
        !html.contains("hi</b>") && !html.contains("&lt;b&gt;hi"),
        "only a reference is kept"
    );
    // A repeat answered from memory quotes the same reference.
    let (_, again) = sign_in(&t, "stuck@example.com", PASSWORD).await;
    assert_eq!(again["lock_reference"], reference.as_str());
}
both!(
    a_support_lock_names_support_and_its_reference,
    |c: &mut koban::config::Config| {
        c.risk_lock_after_failures = 2;
        c.risk_support_lock_after_failures = 3;
    }
);

/// A throttled network is told to wait (unlocking the account would not
/// help); a block-listed one to ask support. Neither gets a code form.
async fn network_refusals_name_their_own_way_out(t: TestApp) {
    for n in 0..3 {
        sign_in(&t, &format!("victim{n}@example.com"), WRONG).await;
    }
    let (_, problem) = sign_in(&t, "victim9@example.com", WRONG).await;
    assert_eq!(problem["type"], "/problems/sign-in-locked", "{problem}");
    assert_eq!(problem["unlock"], "wait", "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("network"), "{detail}");
    let html = page(&t, "/locked?identifier=victim9%40example.com&kind=network").await;
    assert!(html.contains("id=\"lock-network\""));
    assert!(!html.contains("id=\"unlock-code-form\""));
}
both!(
    network_refusals_name_their_own_way_out,
    |c: &mut koban::config::Config| c.risk_ip_failure_limit = 3
);

async fn a_blocked_network_is_sent_to_support(t: TestApp) {
    let (_, problem) = sign_in(&t, "anyone@example.com", WRONG).await;
    assert_eq!(problem["unlock"], "support", "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("network"), "{detail}");
    let html = page(&t, "/locked?identifier=anyone%40example.com&kind=blocked").await;
    assert!(html.contains("id=\"lock-network\""));
}
both!(
    a_blocked_network_is_sent_to_support,
    |c: &mut koban::config::Config| c.risk_ip_block = "127.0.0.0/8".into()
);

/// The lock's words reach a Japanese reader in Japanese.
async fn a_support_lock_answers_in_the_readers_language(t: TestApp) {
    t.signed_up("yamada@example.com", PASSWORD).await;
    for _ in 0..3 {
        sign_in(&t, "yamada@example.com", WRONG).await;
    }
    let request = t
        .http
        .post(t.url("/api/v1/sessions"))
        .header("accept-language", "ja")
        .json(&json!({ "identifier": "yamada@example.com", "password": PASSWORD }));
    let (_, problem) = t.send(request).await;
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("サポート"), "{detail}");
    let reference = problem["lock_reference"].as_str().expect("reference");
    assert!(detail.contains(reference), "{detail}");
}
both!(
    a_support_lock_answers_in_the_readers_language,
    |c: &mut koban::config::Config| {
        c.risk_lock_after_failures = 3;
        c.risk_support_lock_after_failures = 3;
    }
);
