//! Desk admins add phrases to triage's rule layer and remove them; the
//! rules change at once, every change names who made it, and nobody else
//! may make one. Through HTTP, on both databases.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PHRASES: &str = "/api/v1/desk/triage/phrases";

async fn triaged(t: &TestApp, agent: &str, subject: &str) -> Value {
    let (status, answer) = t
        .post_as(
            agent,
            "/api/v1/desk/triage",
            json!({ "subject": subject, "body": "" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

async fn admins_steer_triage_with_phrases(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let supervisor = t.staff("lead@example.com", "supervisor").await;
    let agent = t.staff("agent@example.com", "agent").await;
    let user = t.signed_up("user@example.com", "plum blossom 2026").await;
    let subject = "Zorblax 又壞了";
    let before = triaged(&t, &agent, subject).await;
    assert_ne!(before["category"], "broadcast_failure", "{before}");

    let phrase = json!({ "target": "broadcast_failure", "phrase": "zorblax", "weight": 3.0 });
    for (who, status) in [
        (Some(&agent), StatusCode::FORBIDDEN),
        (Some(&supervisor), StatusCode::FORBIDDEN),
        (Some(&user), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        let (got, _) = match who {
            Some(token) => t.post_as(token, PHRASES, phrase.clone()).await,
            None => t.post(PHRASES, phrase.clone()).await,
        };
        assert_eq!(got, status);
    }
    assert_eq!(t.count("desk_triage_phrases").await, 0);

    let (status, added) = t.post_as(&admin, PHRASES, phrase.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let after = triaged(&t, &agent, subject).await;
    assert_eq!(after["category"], "broadcast_failure", "before: {before}");
    assert_eq!(after["decided_by"], "rule");
    assert_eq!(after["evidence"][0], "zorblax");

    // Supervisors read the list; agents do not.
    let (status, list) = t.get(Some(&supervisor), PHRASES).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list[0]["phrase"], "zorblax");
    assert!(list[0]["created_by"].is_i64());
    let (status, _) = t.get(Some(&agent), PHRASES).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let id = added["id"].as_i64().expect("id");
    let (status, _) = t.delete(&supervisor, &format!("{PHRASES}/{id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = t.delete(&admin, &format!("{PHRASES}/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = t.delete(&admin, &format!("{PHRASES}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let again = triaged(&t, &agent, subject).await;
    assert_eq!(again["category"], before["category"], "{again}");
    let (_, list) = t.get(Some(&admin), PHRASES).await;
    assert!(
        list[0]["removed_by"].is_i64(),
        "the removal is recorded: {list}"
    );
}
both!(admins_steer_triage_with_phrases);

async fn phrases_that_do_not_read_change_nothing(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let (status, _) = t
        .post_as(
            &admin,
            PHRASES,
            json!({ "target": "privacy", "phrase": "刪除我的資料", "weight": 3 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for (input, field) in [
        (
            json!({ "target": "no_such", "phrase": "foo", "weight": 1 }),
            "target",
        ),
        (
            json!({ "target": "urgent@nowhere", "phrase": "foo", "weight": 1 }),
            "target",
        ),
        (
            json!({ "target": "privacy", "phrase": "   ", "weight": 1 }),
            "phrase",
        ),
        (
            json!({ "target": "privacy", "phrase": "*", "weight": 1 }),
            "phrase",
        ),
        (
            json!({ "target": "privacy", "phrase": "a*b*c", "weight": 1 }),
            "phrase",
        ),
        (
            json!({ "target": "privacy", "phrase": "a\tb", "weight": 1 }),
            "phrase",
        ),
        (
            json!({ "target": "privacy", "phrase": "x".repeat(101), "weight": 1 }),
            "phrase",
        ),
        (
            json!({ "target": "privacy", "phrase": "ok", "weight": 0 }),
            "weight",
        ),
        (
            json!({ "target": "privacy", "phrase": "ok", "weight": 11 }),
            "weight",
        ),
        (
            json!({ "target": "privacy", "phrase": "刪除我的資料", "weight": 2 }),
            "phrase",
        ),
    ] {
        let (status, problem) = t.post_as(&admin, PHRASES, input.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{input} → {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{input} → {problem}");
    }
    for input in [
        json!({ "target": "privacy", "phrase": "ok" }),
        json!({ "target": "privacy", "phrase": "ok", "weight": "3" }),
        json!({ "target": "privacy", "phrase": "ok", "weight": 3, "lang": "ja" }),
    ] {
        let (status, _) = t.post_as(&admin, PHRASES, input.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{input}");
    }
    let (status, _) = t.delete(&admin, &format!("{PHRASES}/999999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(t.count("desk_triage_phrases").await, 1);
}
both!(phrases_that_do_not_read_change_nothing);

async fn the_phrases_page_is_for_supervisors_and_admins_edit_it(t: TestApp) {
    use crate::security_pages::{location, Pages};
    t.staff("admin@example.com", "admin").await;
    t.staff("lead@example.com", "supervisor").await;
    t.staff("agent@example.com", "agent").await;
    t.signed_up("user@example.com", "plum blossom 2026").await;
    let page = "/desk/triage-phrases";

    let mut visitor = Pages::new(&t).await;
    let response = visitor.get(page).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/signin"));
    for (who, password, status) in [
        (
            "user@example.com",
            "plum blossom 2026",
            StatusCode::NOT_FOUND,
        ),
        (
            "agent@example.com",
            "staff password 1",
            StatusCode::FORBIDDEN,
        ),
    ] {
        let mut p = Pages::new(&t).await;
        p.sign_in(who, password).await;
        assert_eq!(p.get(page).await.status(), status, "{who}");
    }

    let mut admin = Pages::new(&t).await;
    admin.sign_in("admin@example.com", "staff password 1").await;
    let html = admin.get(page).await.text().await.expect("html");
    assert!(html.contains("id=\"phrases-empty\""), "{html}");
    // Refused beside its field, nothing stored.
    let response = admin
        .post(
            page,
            &[
                ("target", "privacy"),
                ("phrase", "刪除帳號資料"),
                ("weight", "lots"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(html.contains("id=\"weight-error\""), "{html}");
    assert!(html.contains("刪除帳號資料"), "what was typed stays");
    let payload = "<script>alert(1)</script>";
    let response = admin
        .post(
            page,
            &[("target", "privacy"), ("phrase", payload), ("weight", "3")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.count("desk_triage_phrases").await, 1);

    let mut lead = Pages::new(&t).await;
    lead.sign_in("lead@example.com", "staff password 1").await;
    let html = lead.get(page).await.text().await.expect("html");
    assert!(!html.contains(payload), "escaped: {html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("id=\"phrase-new\""), "supervisors only read");
    let response = lead
        .post(
            page,
            &[("target", "privacy"), ("phrase", "x"), ("weight", "3")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let id = crate::support::scalar(&t, "SELECT MAX(id) FROM desk_triage_phrases").await;
    let response = admin.post(&format!("{page}/{id}/remove"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = admin.get(page).await.text().await.expect("html");
    assert!(html.contains("class=\"phrase removed\""), "{html}");
    assert_eq!(
        t.count("desk_triage_phrases WHERE removed_by IS NOT NULL")
            .await,
        1
    );
}
both!(the_phrases_page_is_for_supervisors_and_admins_edit_it);
