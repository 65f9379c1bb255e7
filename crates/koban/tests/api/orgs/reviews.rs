//! Access reviews: a security admin sees who needs a look, reviews every
//! member with another reviewer for their own access, and signs off; the
//! decisions and the sign-off are in the audit log; owners are reminded
//! once when a review is due.

use super::*;
use crate::support::{eventually, scalar, TestApp};
use reqwest::StatusCode;
use serde_json::json;

const DAY: i64 = 86_400_000;

fn ids_of(page: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["account_id"].as_i64().expect("account_id"))
        .collect();
    ids.sort();
    ids
}

async fn a_security_admin_reviews_access_and_signs_off(t: TestApp) {
    let owner = t.signed_up("rv-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Reviewed").await;
    let admin = member(&t, &owner, org, "rv-admin@example.com", &["admin"]).await;
    let reviewer = member(&t, &owner, org, "rv-sec@example.com", &["security_admin"]).await;
    let bob = member(&t, &owner, org, "rv-bob@example.com", &["member"]).await;
    let plain = member(&t, &owner, org, "rv-plain@example.com", &["member"]).await;
    let [owner_id, admin_id, reviewer_id, bob_id, plain_id] = [
        account_id(&t, &owner).await,
        account_id(&t, &admin).await,
        account_id(&t, &reviewer).await,
        account_id(&t, &bob).await,
        account_id(&t, &plain).await,
    ];
    let now = koban::store::now_ms();
    // The admin and the reviewer have an authenticator app; bob joined long
    // ago and his sessions were last used 120 days ago.
    t.exec(&format!(
        "UPDATE accounts SET totp_enabled_at = {now} WHERE id IN ({admin_id}, {reviewer_id})"
    ))
    .await;
    t.exec(&format!(
        "UPDATE org_members SET joined_at = {} WHERE account_id = {bob_id}",
        now - 200 * DAY
    ))
    .await;
    t.exec(&format!(
        "UPDATE sessions SET last_seen_at = {} WHERE account_id = {bob_id}",
        now - 120 * DAY
    ))
    .await;

    let (status, report) = t
        .get(
            Some(&reviewer),
            &format!("/api/v1/orgs/{org}/access?limit=100"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let entry = |id: i64| {
        report["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|e| e["account_id"] == id)
            .unwrap_or_else(|| panic!("{id} in {report}"))
            .clone()
    };
    assert_eq!(
        entry(owner_id)["marks"],
        json!(["administrator_without_two_factor"])
    );
    assert_eq!(entry(owner_id)["administrator"], true);
    assert_eq!(entry(admin_id)["marks"], json!([]));
    assert_eq!(entry(admin_id)["two_factor"], true);
    assert_eq!(entry(bob_id)["marks"], json!(["inactive"]));
    assert!(entry(bob_id)["devices"].as_i64().expect("devices") >= 1);
    assert_eq!(entry(plain_id)["administrator"], false);
    let (_, marked) = t
        .get(
            Some(&reviewer),
            &format!("/api/v1/orgs/{org}/access?marked=true&limit=1"),
        )
        .await;
    assert_eq!(marked["items"].as_array().expect("items").len(), 1);
    let cursor = marked["next_cursor"].as_str().expect("a second page");
    let (_, rest) = t
        .get(
            Some(&reviewer),
            &format!("/api/v1/orgs/{org}/access?marked=true&limit=10&cursor={cursor}"),
        )
        .await;
    let mut flagged = [ids_of(&marked), ids_of(&rest)].concat();
    flagged.sort();
    assert_eq!(flagged, vec![owner_id, bob_id]);
    assert_eq!(rest["next_cursor"], Value::Null);
    // A plain member may not look.
    let (status, body) = t
        .get(Some(&plain), &format!("/api/v1/orgs/{org}/access"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["permission"], "access.review");

    let reviews = format!("/api/v1/orgs/{org}/access-reviews");
    let (status, review) = t.post_as(&reviewer, &reviews, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    assert_eq!(review["members"], 5);
    assert_eq!(review["decided"], 0);
    let id = review["id"].as_i64().expect("id");
    let (status, body) = t.post_as(&admin, &reviews, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["type"]
        .as_str()
        .expect("type")
        .ends_with("org-review-in-progress"));
    let sign_off = format!("{reviews}/{id}/sign-off");
    let (status, body) = t.post_as(&reviewer, &sign_off, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["undecided"], 5);

    let decide = |account: i64| format!("{reviews}/{id}/members/{account}");
    let put = |token: &str, account: i64, body: Value| {
        t.send(
            t.http
                .put(t.url(&decide(account)))
                .bearer_auth(token)
                .json(&body),
        )
    };
    // Nobody decides on their own access while another reviewer could.
    let (status, body) = put(&reviewer, reviewer_id, json!({ "decision": "keep" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["type"]
        .as_str()
        .expect("type")
        .ends_with("org-review-own-access"));
    // Bad decisions change nothing.
    for bad in [
        json!({ "decision": "maybe" }),
        json!({ "decision": "keep", "note": "a\u{7}bell" }),
        json!({ "decision": "keep", "note": "x".repeat(1001) }),
        json!({ "decision": "keep", "extra": 1 }),
        json!({}),
    ] {
        let (status, body) = put(&reviewer, bob_id, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, body) = put(&reviewer, 999_999, json!({ "decision": "keep" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, summary) = t.get(Some(&reviewer), &format!("{reviews}/{id}")).await;
    assert_eq!(summary["decided"], 0, "{summary}");

    for account in [owner_id, admin_id, plain_id] {
        let (status, body) = put(&reviewer, account, json!({ "decision": "keep" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, item) = put(
        &reviewer,
        bob_id,
        json!({ "decision": "revoke", "note": "left the team in spring" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["decision"], "revoke");
    assert_eq!(item["marks"], json!(["inactive"]));
    assert_eq!(item["decided_by"], reviewer_id);
    let (_, undecided) = t
        .get(
            Some(&reviewer),
            &format!("{reviews}/{id}/members?undecided=true"),
        )
        .await;
    assert_eq!(ids_of(&undecided), vec![reviewer_id]);
    let (status, body) = put(&owner, reviewer_id, json!({ "decision": "keep" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, done) = t
        .post_as(&reviewer, &sign_off, json!({ "note": "Q4 review" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["to_revoke"], json!([bob_id]));
    assert_eq!(done["review"]["signed_off_by"], reviewer_id);
    assert_eq!(done["review"]["kept"], 4);
    // Signed off means final.
    let (status, body) = put(&reviewer, bob_id, json!({ "decision": "keep" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = t.post_as(&reviewer, &sign_off, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (_, decided) = t
        .get(
            Some(&owner),
            &format!("/api/v1/orgs/{org}/audit/entries?action=access_review.decided&limit=100"),
        )
        .await;
    assert_eq!(decided["items"].as_array().expect("items").len(), 5);
    let (_, signed) = t
        .get(
            Some(&owner),
            &format!("/api/v1/orgs/{org}/audit/entries?action=access_review.signed_off"),
        )
        .await;
    let details: Value =
        serde_json::from_str(signed["items"][0]["details"].as_str().expect("details"))
            .expect("json");
    assert_eq!(details["revoked"], json!([bob_id]), "{signed}");
    let (_, overview) = t.get(Some(&reviewer), &reviews).await;
    assert_eq!(overview["in_progress"], Value::Null);
    let signed_at = done["review"]["signed_off_at"].as_i64().expect("signed");
    assert_eq!(overview["next_due_at"], signed_at + 90 * DAY);
    // The audit chain still verifies after all of it.
    let (_, verification) = t
        .get(
            Some(&owner),
            &format!("/api/v1/orgs/{org}/audit/verification"),
        )
        .await;
    assert_eq!(verification["broken"], Value::Null, "{verification}");
}
both!(a_security_admin_reviews_access_and_signs_off);

async fn owners_are_reminded_once_when_a_review_is_due(t: TestApp) {
    let owner = t.signed_up("rm-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Due").await;
    let owner_id = account_id(&t, &owner).await;
    let schedule = format!("/api/v1/orgs/{org}/access-review-schedule");
    for bad in [
        json!({ "every_days": 3 }),
        json!({ "every_days": 400 }),
        json!({}),
    ] {
        let (status, body) = t
            .send(t.http.put(t.url(&schedule)).bearer_auth(&owner).json(&bad))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, body) = t
        .send(
            t.http
                .put(t.url(&schedule))
                .bearer_auth(&owner)
                .json(&json!({ "every_days": 30 })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    t.exec(&format!(
        "UPDATE orgs SET created_at = {} WHERE id = {org}",
        koban::store::now_ms() - 31 * DAY
    ))
    .await;
    let reminders =
        "SELECT COUNT(*) FROM deliveries WHERE purpose = 'access_review_due' AND status = 'sent'";
    t.run_job_now("org_access_review_reminders").await;
    eventually("the owner is reminded", || async {
        (scalar(&t, reminders).await == 1).then_some(())
    })
    .await;
    let body = t
        .newest_delivery_of("access_review_due", "rm-owner@example.com")
        .await;
    assert!(body.contains("Due"), "{body}");
    // Again: nothing more for the same due date.
    t.run_job_now("org_access_review_reminders").await;
    eventually("the second run is done", || async {
        let open = scalar(
            &t,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'org_access_review_reminders' AND status <> 'done'",
        )
        .await;
        (open == 0).then_some(())
    })
    .await;
    assert_eq!(scalar(&t, reminders).await, 1);

    // A lone owner decides on their own access and signs off; the next
    // review is then due 30 days later and nobody is reminded now.
    let reviews = format!("/api/v1/orgs/{org}/access-reviews");
    let (status, review) = t.post_as(&owner, &reviews, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    let id = review["id"].as_i64().expect("id");
    let (status, body) = t
        .send(
            t.http
                .put(t.url(&format!("{reviews}/{id}/members/{owner_id}")))
                .bearer_auth(&owner)
                .json(&json!({ "decision": "keep" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, done) = t
        .post_as(&owner, &format!("{reviews}/{id}/sign-off"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (_, overview) = t.get(Some(&owner), &reviews).await;
    assert_eq!(overview["every_days"], 30);
    assert_eq!(
        overview["next_due_at"],
        done["review"]["signed_off_at"].as_i64().expect("at") + 30 * DAY
    );
    let (_, reminded) = t
        .get(
            Some(&owner),
            &format!("/api/v1/orgs/{org}/audit/entries?action=access_review.reminded"),
        )
        .await;
    assert_eq!(reminded["items"].as_array().expect("items").len(), 1);
    assert_eq!(reminded["items"][0]["actor"], "system");
}
both!(owners_are_reminded_once_when_a_review_is_due);
