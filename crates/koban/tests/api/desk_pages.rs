//! The requester's support pages at the HTTP level, on both databases:
//! the form signed out and signed in, what it refuses, the reference
//! number page, my requests, a request's conversation and replies.

use crate::security_pages::{location, Pages};
use crate::support::TestApp;
use reqwest::StatusCode;

const PASSWORD: &str = "plum blossom 2026";

async fn text(response: reqwest::Response) -> String {
    response.text().await.expect("html")
}

async fn signed_out_visitors_send_a_request_and_see_its_number(t: TestApp) {
    let mut p = Pages::new(&t).await;
    for lang in ["en", "zh-CN", "zh-TW", "ja", "th"] {
        let response = p
            .http
            .get(format!("{}/support", p.base))
            .header("accept-language", lang)
            .send()
            .await
            .expect("page");
        assert_eq!(response.status(), StatusCode::OK);
        let html = text(response).await;
        assert!(html.contains("id=\"support-form\""), "{lang}");
        assert!(html.contains(&format!("<html lang=\"{lang}\"")), "{lang}");
    }
    // Every page offers the way here.
    let html = text(p.get("/signin").await).await;
    assert!(html.contains("href=\"/support\""));

    // Nothing to answer to: refused, next to the field, and nothing stored.
    let response = p
        .post(
            "/support",
            &[("subject", "收不到验证码"), ("body", "短信一直收不到")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("id=\"email-error\""), "{html}");
    assert!(html.contains("收不到验证码"), "what was typed stays");
    assert_eq!(t.count("desk_tickets").await, 0);

    let payload = "<script>alert(1)</script>";
    let response = p
        .post(
            "/support",
            &[
                ("subject", payload),
                ("body", "短信验证码一直收不到"),
                ("email", "visitor@example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let html = text(response).await;
    assert!(html.contains("id=\"reference\""), "{html}");
    assert!(!html.contains(payload));
    assert_eq!(t.count("desk_tickets").await, 1);
}
both!(signed_out_visitors_send_a_request_and_see_its_number);

async fn a_chosen_category_names_what_it_still_needs(t: TestApp) {
    t.signed_up("form@example.com", PASSWORD).await;
    let mut p = Pages::new(&t).await;
    p.sign_in("form@example.com", PASSWORD).await;
    let response = p
        .post(
            "/support",
            &[
                ("category", "cannot_sign_in"),
                ("subject", "ログインできない"),
                ("body", "エラーが出ます"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    for field in ["contact_used", "device_os", "error_text", "happened_at"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
    }
    assert_eq!(t.count("desk_tickets").await, 0);
    let response = p
        .post(
            "/support",
            &[
                ("category", "cannot_sign_in"),
                ("subject", "ログインできない"),
                ("body", "エラーが出ます"),
                ("contact_used", "form@example.com"),
                ("device_os", "iOS 18"),
                ("error_text", "アカウントがロックされています"),
                ("happened_at", "2026-12-01T10:00:00+09:00"),
                ("share_security_context", "yes"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(t.count("desk_tickets WHERE security_consent = 1").await, 1);
}
both!(a_chosen_category_names_what_it_still_needs);

async fn requesters_follow_up_on_their_requests(t: TestApp) {
    let token = t.signed_up("follow@example.com", PASSWORD).await;
    t.signed_up("nosy@example.com", PASSWORD).await;
    let (_, opened) = t
        .post_as(
            &token,
            "/api/v1/desk/tickets",
            serde_json::json!({ "subject": "群組問題", "body": "<b>群組</b>成員無法加入" }),
        )
        .await;
    let reference = opened["reference"].as_str().expect("reference").to_string();
    let mut p = Pages::new(&t).await;
    p.sign_in("follow@example.com", PASSWORD).await;
    let html = text(p.get("/support/tickets").await).await;
    assert!(html.contains(&reference), "{html}");
    let path = format!("/support/tickets/{reference}");
    let html = text(p.get(&path).await).await;
    assert!(html.contains("&lt;b&gt;群組"), "escaped: {html}");
    assert!(!html.contains("<b>群組"), "escaped: {html}");
    let response = p
        .post(&format!("{path}/reply"), &[("body", "補充：用 iPhone")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), path);
    let html = text(p.get(&path).await).await;
    assert!(html.contains("補充：用 iPhone"));
    let response = p.post(&format!("{path}/reply"), &[("body", "   ")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Someone else's request is not found, and says nothing more.
    let mut nosy = Pages::new(&t).await;
    nosy.sign_in("nosy@example.com", PASSWORD).await;
    assert_eq!(nosy.get(&path).await.status(), StatusCode::NOT_FOUND);
    let response = nosy.post(&format!("{path}/reply"), &[("body", "hi")]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Signed out: to sign-in and back.
    let mut out = Pages::new(&t).await;
    let response = out.get(&path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/signin"));
}
both!(requesters_follow_up_on_their_requests);
