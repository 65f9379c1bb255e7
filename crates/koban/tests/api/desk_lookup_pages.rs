//! The lookup pages signed out (number, code, the request and a reply),
//! a reply to a closed request from its page, and the desk admin's roles page.

use crate::security_pages::{location, Pages};
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

async fn text(response: reqwest::Response) -> String {
    response.text().await.expect("html")
}

async fn a_signed_out_requester_opens_their_request_with_a_code(t: TestApp) {
    let (_, opened) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "ログインできない", "body": "新しい端末で入れません", "email": "page@example.jp" }),
        )
        .await;
    let reference = opened["reference"].as_str().expect("reference").to_string();
    let mut p = Pages::new(&t).await;
    let html = text(p.get("/support").await).await;
    assert!(
        html.contains("href=\"/support/lookup\""),
        "linked from Contact support"
    );
    for lang in ["en", "zh-CN", "zh-TW", "ja", "th"] {
        let response = p
            .http
            .get(format!("{}/support/lookup", p.base))
            .header("accept-language", lang)
            .send()
            .await
            .expect("page");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            text(response).await.contains("id=\"lookup-form\""),
            "{lang}"
        );
    }
    // A mistyped number is refused next to the field.
    let mut typo: Vec<char> = reference.chars().collect();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == '0' { '1' } else { '0' };
    let typo: String = typo.into_iter().collect();
    let response = p.post("/support/lookup", &[("reference", &typo)]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("reference-error"));
    // A number that is nobody's and a real one read the same.
    let nobody = koban_policy::desk::reference::format(
        koban_policy::desk::reference::Reference::from_random(42),
    );
    let response = p.post("/support/lookup", &[("reference", &nobody)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(text(response).await.contains("id=\"lookup-sent\""));
    let response = p
        .post("/support/lookup", &[("reference", &reference)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(text(response).await.contains("id=\"lookup-sent\""));
    let body = t.newest_delivery_of("desk_lookup", "page@example.jp").await;
    let code = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| s.len() == 6)
        .expect("code")
        .to_string();
    let response = p
        .post(
            "/support/lookup/check",
            &[("reference", &reference), ("code", "000000")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = p
        .post(
            "/support/lookup/check",
            &[("reference", &reference), ("code", &code)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = format!("/support/tickets/{reference}");
    assert_eq!(location(&response), path);
    let html = text(p.get(&path).await).await;
    assert!(html.contains("ログインできない"), "{html}");
    // Escalating takes the account: no form for a grant, and a post
    // anyway goes to sign-in and back to the request, changing nothing.
    assert!(!html.contains("id=\"escalate-form\""), "{html}");
    let response = p
        .post(&format!("{path}/escalate"), &[("reason", "急いでいます")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/signin?next=%2Fsupport%2Ftickets%2F{reference}")
    );
    assert_eq!(t.count("desk_events WHERE kind = 'escalated'").await, 0);
    let response = p
        .post(
            &format!("{path}/reply"),
            &[("body", "追記：iPhone 15 です")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(text(p.get(&path).await)
        .await
        .contains("追記：iPhone 15 です"));
    // A reply refused as too long stays in the form, to be shortened.
    let long = "長".repeat(20_001);
    let response = p.post(&format!("{path}/reply"), &[("body", &long)]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains(&format!(">{long}</textarea>")));
    assert!(html.contains("id=\"body-error\""));
    // The grant opens this request only.
    let (_, other) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "other", "body": "someone else's", "email": "else@example.jp" }),
        )
        .await;
    let other = other["reference"].as_str().unwrap();
    let response = p.get(&format!("/support/tickets/{other}")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
both!(a_signed_out_requester_opens_their_request_with_a_code);

async fn a_reply_to_a_closed_request_opens_a_follow_up_and_says_so(t: TestApp) {
    let token = t.signed_up("closed@example.com", "plum blossom 2026").await;
    let agent = t.staff("closer@example.com", "agent").await;
    let (_, opened) = t
        .post_as(
            &token,
            "/api/v1/desk/tickets",
            json!({ "subject": "old problem", "body": "it broke" }),
        )
        .await;
    let reference = opened["reference"].as_str().unwrap().to_string();
    for status in ["solved", "closed"] {
        let (code, body) = t
            .send(
                t.http
                    .patch(t.url(&format!("/api/v1/desk/tickets/{reference}")))
                    .bearer_auth(&agent)
                    .json(&json!({ "status": status })),
            )
            .await;
        assert_eq!(code, StatusCode::NO_CONTENT, "{body}");
    }
    let mut p = Pages::new(&t).await;
    p.sign_in("closed@example.com", "plum blossom 2026").await;
    let path = format!("/support/tickets/{reference}");
    let html = text(p.get(&path).await).await;
    assert!(html.contains("id=\"ticket-closed\"") && html.contains("id=\"reply-form\""));
    let response = p
        .post(&format!("{path}/reply"), &[("body", "it broke again")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let next = location(&response);
    assert!(next.starts_with(&format!("{path}?follow_up=")), "{next}");
    let html = text(p.get(&next).await).await;
    assert!(html.contains("id=\"followed-up\""), "{html}");
    let follow_up = next.rsplit('=').next().unwrap();
    assert!(
        html.contains(&format!("href=\"/support/tickets/{follow_up}\"")),
        "{html}"
    );
    let html = text(p.get(&format!("/support/tickets/{follow_up}")).await).await;
    assert!(html.contains("it broke again"));
}
both!(a_reply_to_a_closed_request_opens_a_follow_up_and_says_so);

async fn desk_admins_change_roles_from_their_page(t: TestApp) {
    t.staff("pageadmin@example.com", "admin").await;
    t.staff("pagesup@example.com", "supervisor").await;
    let user = t
        .signed_up("promoted@example.com", "plum blossom 2026")
        .await;
    let (_, me) = t.get(Some(&user), "/api/v1/me").await;
    let user_id = me["id"].as_i64().unwrap().to_string();
    let mut sup = Pages::new(&t).await;
    sup.sign_in("pagesup@example.com", "staff password 1").await;
    assert_eq!(
        sup.get("/desk/admin/agents").await.status(),
        StatusCode::FORBIDDEN
    );
    let response = sup
        .post(
            "/desk/admin/agents",
            &[("account_id", &user_id), ("role", "agent")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let mut p = Pages::new(&t).await;
    p.sign_in("pageadmin@example.com", "staff password 1").await;
    let html = text(p.get("/desk/admin/agents").await).await;
    assert!(html.contains("pageadmin@example.com") && html.contains("id=\"role-form\""));
    // Without the form's CSRF token: refused.
    let response = p
        .http
        .post(format!("{}/desk/admin/agents", p.base))
        .header(reqwest::header::COOKIE, p.cookie_header())
        .form(&[("account_id", user_id.as_str()), ("role", "agent")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = p
        .post(
            "/desk/admin/agents",
            &[("account_id", &user_id), ("role", "root")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = p
        .post(
            "/desk/admin/agents",
            &[("account_id", &user_id), ("role", "agent")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = text(p.get(&location(&response)).await).await;
    assert!(html.contains("promoted@example.com") && html.contains("id=\"notice\""));
    assert_eq!(t.count("accounts WHERE role = 'agent'").await, 1);
    assert_eq!(t.count("desk_role_changes").await, 1);
}
both!(desk_admins_change_roles_from_their_page);
