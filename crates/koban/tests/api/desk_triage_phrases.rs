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
