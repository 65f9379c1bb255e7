//! Merging and splitting tickets through HTTP, and every refusal.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

fn digits(reference: &Value) -> String {
    reference
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

async fn open(t: &TestApp, token: &str, subject: &str) -> String {
    let (status, opened) = t
        .post_as(
            token,
            "/api/v1/desk/tickets",
            json!({ "subject": subject, "body": "验证码收不到" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    digits(&opened["reference"])
}

fn kinds(ticket: &Value) -> Vec<String> {
    ticket["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_string))
        .collect()
}

async fn a_duplicate_is_merged_and_its_requester_told(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let stranger = t.signed_up("stranger@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let first = open(&t, &owner, "Code never came").await;
    let second = open(&t, &owner, "Code still not here").await;
    let theirs = open(&t, &stranger, "Another person's code").await;
    let merge = |from: &str| format!("/api/v1/desk/tickets/{from}/merge");

    // Not for requesters.
    let (status, _) = t
        .post_as(&owner, &merge(&second), json!({ "into": first }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Into itself, into a number with a bad check digit, into nothing.
    let (status, problem) = t
        .post_as(&agent, &merge(&second), json!({ "into": second }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "merge_into_self");
    let (status, _) = t
        .post_as(&agent, &merge(&second), json!({ "into": "12345678901" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let nowhere = koban_policy::desk::reference::Reference::from_random(7).to_string();
    let (status, problem) = t
        .post_as(&agent, &merge(&second), json!({ "into": nowhere }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "ticket_unknown");
    let (status, _) = t
        .post_as(
            &agent,
            &merge(&second),
            json!({ "into": first, "extra": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Across requesters only when confirmed.
    let (status, problem) = t
        .post_as(&agent, &merge(&theirs), json!({ "into": first }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(
        t.count("desk_tickets WHERE merged_into IS NOT NULL").await,
        0
    );

    let (status, merged) = t
        .post_as(&agent, &merge(&second), json!({ "into": first }))
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let (_, gone) = t
        .get(Some(&owner), &format!("/api/v1/desk/tickets/{second}"))
        .await;
    assert_eq!(gone["status"], "closed");
    assert_eq!(digits(&gone["merged_into"]), first);
    assert_eq!(
        gone["messages"].as_array().map(Vec::len),
        Some(1),
        "still readable"
    );
    let (_, survivor) = t
        .get(Some(&agent), &format!("/api/v1/desk/tickets/{first}"))
        .await;
    assert!(kinds(&survivor).contains(&"merged_from".to_string()));
    assert!(survivor["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["author"] == "system"));
    let (_, gone_staff) = t
        .get(Some(&agent), &format!("/api/v1/desk/tickets/{second}"))
        .await;
    assert!(kinds(&gone_staff).contains(&"merged".to_string()));
    // The requester hears where it continues, in the ticket's language.
    let told = t.latest_message("owner@example.com").await;
    assert!(
        told.contains(&merged["reference"].as_str().unwrap().to_string()),
        "{told}"
    );
    // The merged ticket takes no more messages, and merges no further.
    let (status, _) = t
        .post_as(
            &owner,
            &format!("/api/v1/desk/tickets/{second}/messages"),
            json!({ "body": "hello?" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = t
        .post_as(&agent, &merge(&second), json!({ "into": first }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Nothing merges into a merged (closed) ticket.
    let (status, problem) = t
        .post_as(&agent, &merge(&first), json!({ "into": second }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(
        problem["type"]
            .as_str()
            .map(|s| s.ends_with("merge-target-closed")),
        Some(true),
        "{problem}"
    );
    // Confirmed, across requesters.
    let (status, _) = t
        .post_as(
            &agent,
            &merge(&theirs),
            json!({ "into": first, "confirm_different_requester": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
both!(a_duplicate_is_merged_and_its_requester_told);

async fn messages_split_off_into_a_new_ticket(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let reference = open(&t, &owner, "Two problems").await;
    let base = format!("/api/v1/desk/tickets/{reference}");
    for body in ["Also my device list is wrong", "And it shows an old phone"] {
        let (status, _) = t
            .post_as(&owner, &format!("{base}/messages"), json!({ "body": body }))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, ticket) = t.get(Some(&agent), &base).await;
    let ids: Vec<i64> = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let split = format!("{base}/split");
    let (status, _) = t
        .post_as(&owner, &split, json!({ "message_ids": [ids[1]] }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .post_as(&agent, &split, json!({ "message_ids": [] }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, problem) = t
        .post_as(&agent, &split, json!({ "message_ids": ids }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["code"], "split_all_messages");
    let (status, problem) = t
        .post_as(&agent, &split, json!({ "message_ids": [ids[1], 999_999] }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["code"], "unknown_message");
    assert_eq!(t.count("desk_tickets").await, 1);

    let (status, answer) = t
        .post_as(&agent, &split, json!({ "message_ids": [ids[1], ids[2]] }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let new = digits(&answer["reference"]);
    assert_ne!(new, reference);
    let (_, old) = t.get(Some(&agent), &base).await;
    assert_eq!(old["messages"].as_array().map(Vec::len), Some(1));
    assert!(kinds(&old).contains(&"split".to_string()));
    let (status, fresh) = t
        .get(Some(&owner), &format!("/api/v1/desk/tickets/{new}"))
        .await;
    assert_eq!(status, StatusCode::OK, "the requester sees the new ticket");
    assert_eq!(fresh["messages"].as_array().map(Vec::len), Some(2));
}
both!(messages_split_off_into_a_new_ticket);
