//! XSS payloads in every field a person types, rendered on every console
//! page and the requester's pages as text.

use super::*;

/// Markup and template syntax a requester, an admin or an agent might type.
pub(crate) const PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "'><iframe src=javascript:alert(1)>",
    "{{7*7}}",
    "{% raw %}{{ config }}",
];

/// A payload's markup must never reach a page as markup.
pub(crate) fn assert_inert(page: &str, html: &str) {
    for needle in [
        "<script>alert",
        "<img src=x",
        "<svg onload",
        "<iframe",
        "href=\"javascript:",
        "<a href=\"javascript",
        "onerror=alert(1)>",
    ] {
        assert!(!html.contains(needle), "{page} has live {needle:?}");
    }
}

async fn xss_payloads_render_as_text(t: TestApp) {
    let owner = "owner@example.com";
    let token = t.signed_up(owner, PASSWORD).await;
    let (mut admin, admin_token) = staff_pages(&t, "xss-admin@example.com", "admin").await;
    let mut references = vec![];
    for payload in PAYLOADS {
        let (status, opened) = t
            .post_as(
                &token,
                "/api/v1/desk/tickets",
                json!({ "subject": payload, "body": format!("body {payload}"), "category": "cannot_sign_in",
                        "fields": { "error_text": payload, "steps": payload, "device_os": payload,
                                    "contact_used": owner, "happened_at": "2026-12-01T10:00:00+09:00" } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{payload}: {opened}");
        references.push(opened["reference"].as_str().expect("reference").to_string());
    }
    // A contact's name, signed out.
    let contact_ticket = open(&t, "en", json!({ "subject": "name", "body": "x", "email": "named@example.com", "name": PAYLOADS[1] })).await;
    // The library: names and bodies with markup; template syntax is refused.
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let body = format!("{payload} for {{{{requester.name}}}}");
        let (status, answer) = t
            .post_as(
                &admin_token,
                "/api/v1/desk/canned-responses",
                json!({ "name": format!("{payload} {i}"), "bodies": { "en": body } }),
            )
            .await;
        if payload.contains("{{") {
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{payload}: {answer}"
            );
        } else {
            assert_eq!(status, StatusCode::CREATED, "{payload}: {answer}");
        }
        let (status, answer) = t
            .post_as(
                &admin_token,
                "/api/v1/desk/macros",
                json!({ "name": format!("{payload} m{i}"), "priority": "high" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{payload}: {answer}");
    }
    // Tags with markup (one word each) and an agent's note and reply.
    let first = format!("/desk/tickets/{}", references[0]);
    let html = text(admin.get(&first).await).await;
    let seen = seen_of(&html);
    let response = post_with(
        &mut admin,
        &format!("{first}/fields"),
        &[
            ("tags", "<script>alert(1)</script>,<svg/onload=alert(1)>"),
            ("seen_tags", ""),
        ],
        &seen,
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(response).await
    );
    let seen = seen_of(&text(admin.get(&first).await).await);
    let canned_id = scalar(&t, "SELECT MIN(id) FROM desk_canned_responses").await;
    let response = post_with(
        &mut admin,
        &format!("{first}/reply"),
        &[("body", PAYLOADS[2]), ("visibility", "internal")],
        &seen,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let seen = seen_of(&text(admin.get(&first).await).await);
    let response = post_with(
        &mut admin,
        &format!("{first}/reply"),
        &[("body", PAYLOADS[4]), ("visibility", "public")],
        &seen,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // A team named with markup, for the administration pages.
    let (status, body) = t
        .post_as(
            &admin_token,
            "/api/v1/desk/admin/teams",
            json!({ "slug": "xss", "name": PAYLOADS[0], "calendar_id": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Every console page, and the requester's.
    let mut pages: Vec<String> = vec![
        "/desk/admin/teams".into(),
        "/desk/admin/teams?edit=xss".into(),
        "/desk/admin/calendars".into(),
        "/desk/admin/sla".into(),
        "/desk".into(),
        "/desk?view=all".into(),
        "/desk?view=unassigned".into(),
        "/desk/canned".into(),
        "/desk/macros".into(),
        "/desk/admin/forms".into(),
        "/desk/admin/forms/other".into(),
        format!("/desk/tickets/{contact_ticket}"),
        format!("{first}?canned={canned_id}"),
    ];
    pages.extend(references.iter().map(|r| format!("/desk/tickets/{r}")));
    for page in &pages {
        let response = admin.get(page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_inert(page, &text(response).await);
    }
    let html = text(admin.get(&first).await).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "escaped, and shown"
    );
    assert!(
        html.contains("&lt;svg&#x2f;onload=alert(1)&gt;")
            || html.contains("&lt;svg/onload=alert(1)&gt;"),
        "{html}"
    );
    let html = text(admin.get(&format!("/desk/tickets/{}", references[6])).await).await;
    assert!(html.contains("{{7*7}}"), "template syntax stays as typed");
    let mut requester = Pages::new(&t).await;
    requester.sign_in(owner, PASSWORD).await;
    let mut requester_pages = vec!["/support/tickets".to_string()];
    requester_pages.extend(references.iter().map(|r| format!("/support/tickets/{r}")));
    for page in &requester_pages {
        let response = requester.get(page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_inert(page, &text(response).await);
    }
    // The internal note (an <svg> payload) stays off the requester's page.
    let html = text(requester.get(&requester_pages[1]).await).await;
    assert!(!html.contains("&lt;svg onload"), "{html}");
    assert!(
        html.contains("&lt;a href="),
        "the public reply is there, as text"
    );
}
both!(xss_payloads_render_as_text);
