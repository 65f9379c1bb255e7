//! Member security onboarding: a new member works through the checklist
//! (the facts of their account and two acknowledgements), a new notice or
//! a new device undoes what it should, and administrators follow progress.

use super::*;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

fn done(checklist: &Value) -> Vec<&str> {
    checklist["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["done"] == true)
        .map(|i| i["item"].as_str().expect("item"))
        .collect()
}

async fn a_new_member_completes_the_checklist_and_admins_see_it(t: TestApp) {
    let owner = t.signed_up("ob-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Onboarded").await;
    let security = member(&t, &owner, org, "ob-sec@example.com", &["security_admin"]).await;
    let carol = member(&t, &owner, org, "ob-carol@example.com", &["member"]).await;
    let carol_id = account_id(&t, &carol).await;
    let mine = format!("/api/v1/orgs/{org}/onboarding/me");

    // Fresh: nothing done, the built-in notice in Carol's language.
    let (status, list) = t
        .send(
            t.http
                .get(t.url(&mine))
                .bearer_auth(&carol)
                .header("accept-language", "ja"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(done(&list), Vec::<&str>::new());
    assert_eq!(list["complete"], false);
    assert_eq!(list["notice"]["version"], 0);
    assert!(
        list["notice"]["body"]
            .as_str()
            .expect("body")
            .contains("2 段階認証"),
        "{list}"
    );

    // Ticking what must be done for real is refused; unknown items are not found.
    let (status, body) = t
        .post_as(&carol, &format!("{mine}/two_factor"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = t
        .post_as(&carol, &format!("{mine}/everything"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for item in ["devices_reviewed", "security_notice"] {
        let (status, body) = t
            .post_as(&carol, &format!("{mine}/{item}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The account's facts: an authenticator app and unused recovery codes.
    let now = koban::store::now_ms();
    t.exec(&format!(
        "UPDATE accounts SET totp_enabled_at = {now} WHERE id = {carol_id}"
    ))
    .await;
    t.exec(&format!(
        "INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES ({carol_id}, 'h', {now})"
    ))
    .await;
    let (_, list) = t.get(Some(&carol), &mine).await;
    assert_eq!(list["complete"], true, "{list}");

    // A new notice must be read again; a new device must be reviewed again.
    let (status, body) = t
        .send(
            t.http
                .put(t.url(&format!("/api/v1/orgs/{org}/security-notice")))
                .bearer_auth(&security)
                .json(&json!({ "body": "Never approve a sign-in you did not start.\nCall IT: 1234." })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 1);
    // (The review was two minutes ago; a device first seen a minute ago.)
    t.exec(&format!(
        "UPDATE org_onboarding_acks SET done_at = {} WHERE account_id = {carol_id} AND item = 'devices_reviewed'",
        now - 120_000
    ))
    .await;
    t.exec(&format!(
        "UPDATE devices SET first_seen_at = {} WHERE account_id = {carol_id}",
        now - 60_000
    ))
    .await;
    let (_, list) = t.get(Some(&carol), &mine).await;
    assert_eq!(done(&list), vec!["two_factor", "recovery_codes"], "{list}");
    assert!(list["notice"]["body"]
        .as_str()
        .expect("body")
        .starts_with("Never approve"));

    // Administrators follow progress; a plain member may not.
    let progress = format!("/api/v1/orgs/{org}/onboarding?incomplete=true&limit=100");
    let (status, page) = t.get(Some(&security), &progress).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let carol_row = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|m| m["account_id"] == carol_id)
        .unwrap_or_else(|| panic!("carol in {page}"))
        .clone();
    assert_eq!(carol_row["complete"], false);
    let (status, body) = t.get(Some(&carol), &progress).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["permission"], "devices.read");

    // Bad notices change nothing.
    for bad in [
        json!({ "body": "   " }),
        json!({ "body": "x".repeat(5001) }),
        json!({ "body": "tab\u{1b}[31m" }),
        json!({ "text": "wrong field" }),
    ] {
        let (status, answer) = t
            .send(
                t.http
                    .put(t.url(&format!("/api/v1/orgs/{org}/security-notice")))
                    .bearer_auth(&security)
                    .json(&bad),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
    }
    let (_, list) = t.get(Some(&carol), &mine).await;
    assert_eq!(list["notice"]["version"], 1);

    // Reading the new version and reviewing the devices again completes it.
    for item in ["devices_reviewed", "security_notice"] {
        t.post_as(&carol, &format!("{mine}/{item}"), json!({}))
            .await;
    }
    let (_, list) = t.get(Some(&carol), &mine).await;
    assert_eq!(list["complete"], true, "{list}");
    let (_, audit) = t
        .get(
            Some(&owner),
            &format!("/api/v1/orgs/{org}/audit/entries?action=onboarding.acknowledged&limit=100"),
        )
        .await;
    assert_eq!(audit["items"].as_array().expect("items").len(), 4);
}
both!(a_new_member_completes_the_checklist_and_admins_see_it);
