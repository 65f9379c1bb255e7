//! Administrators freeze a member's device: its sessions end, sign-in from
//! it is refused (said only after the right password), the member is told
//! and sees it on their timeline; unfreezing lets them back in.

use super::*;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

const PHONE: &str = "bob-phone-0000000000001";

async fn sign_in_from(
    t: &TestApp,
    device: &str,
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    t.send(
        t.http
            .post(t.url("/api/v1/sessions"))
            .header("x-koban-device", device)
            .header("x-koban-device-name", "Bob's phone")
            .json(&json!({ "identifier": email, "password": password })),
    )
    .await
}

async fn a_security_admin_freezes_a_members_phone(t: TestApp) {
    let owner = t.signed_up("fz-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Freezer").await;
    let security = member(&t, &owner, org, "fz-sec@example.com", &["security_admin"]).await;
    let admin = member(&t, &owner, org, "fz-admin@example.com", &["admin"]).await;
    let plain = member(&t, &owner, org, "fz-plain@example.com", &["member"]).await;
    member(&t, &owner, org, "fz-bob@example.com", &["member"]).await;
    let (status, session) = sign_in_from(&t, PHONE, "fz-bob@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let bob = session["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let bob_id = account_id(&t, &bob).await;
    let admin_id = account_id(&t, &admin).await;

    let (status, listed) = t
        .get(
            Some(&security),
            &format!("/api/v1/orgs/{org}/devices?account={bob_id}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let phone = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|d| d["name"] == "Bob's phone")
        .unwrap_or_else(|| panic!("bob's phone in {listed}"))
        .clone();
    assert_eq!(phone["frozen_at"], Value::Null);
    let device_id = phone["id"].as_i64().expect("id");
    let freeze = format!("/api/v1/orgs/{org}/members/{bob_id}/devices/freeze");

    // Who may not: a plain member, a security admin on an admin's devices,
    // another organization's owner; and a blank reason.
    let (status, _) = t.post_as(&plain, &freeze, json!({ "reason": "x" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = t
        .post_as(
            &security,
            &format!("/api/v1/orgs/{org}/members/{admin_id}/devices/freeze"),
            json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(kind(&body), "/problems/org-member-outranks-you");
    let rival = t.signed_up("fz-rival@example.com", PASSWORD).await;
    new_org(&t, &rival, "Rival").await;
    let (status, _) = t.post_as(&rival, &freeze, json!({ "reason": "x" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .post_as(
            &security,
            &freeze,
            json!({ "reason": "   ", "device_id": device_id }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = t
        .post_as(
            &security,
            &freeze,
            json!({ "reason": "lost", "device_id": 999_999 }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.get(Some(&bob), "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "nothing refused changed anything");

    let (status, body) = t
        .post_as(
            &security,
            &freeze,
            json!({ "reason": "reported stolen", "device_id": device_id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["devices"], json!(["Bob's phone"]));
    // Its session ended at once.
    let (status, _) = t.get(Some(&bob), "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A wrong password learns nothing of the freeze; the right one is told why.
    let (status, _) = sign_in_from(&t, PHONE, "fz-bob@example.com", "wrong password 123").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = sign_in_from(&t, PHONE, "fz-bob@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(kind(&body), "/problems/device-frozen");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("reported stolen"),
        "{body}"
    );
    // Another device still signs in.
    let (status, other) = sign_in_from(
        &t,
        "bob-laptop-000000000002",
        "fz-bob@example.com",
        PASSWORD,
    )
    .await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::ACCEPTED,
        "{status} {other}"
    );
    // Bob was told, and sees it on his timeline.
    let notice = t
        .newest_delivery_of("device_frozen_notice", "fz-bob@example.com")
        .await;
    assert!(
        notice.contains("reported stolen") && notice.contains("Freezer"),
        "{notice}"
    );
    let events = crate::support::scalar(
        &t,
        &format!("SELECT COUNT(*) FROM security_events WHERE account_id = {bob_id} AND kind = 'device_frozen'"),
    )
    .await;
    assert_eq!(events, 1);
    let (_, listed) = t
        .get(
            Some(&admin),
            &format!("/api/v1/orgs/{org}/devices?account={bob_id}"),
        )
        .await;
    let frozen: Vec<&Value> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|d| !d["frozen_at"].is_null())
        .collect();
    assert_eq!(frozen.len(), 1, "{listed}");
    assert_eq!(frozen[0]["frozen_reason"], "reported stolen");

    // Unfrozen: the phone signs in again; unfreezing twice has nothing to do.
    let unfreeze = format!("/api/v1/orgs/{org}/members/{bob_id}/devices/unfreeze");
    let (status, body) = t.post_as(&security, &unfreeze, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = t.post_as(&security, &unfreeze, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // (Two new devices in a few seconds may ask for a second step: either
    // way the freeze no longer stands in the way.)
    let (status, body) = sign_in_from(&t, PHONE, "fz-bob@example.com", PASSWORD).await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::ACCEPTED,
        "{status} {body}"
    );
    let actions: Vec<String> = sqlx::query_scalar::<_, String>(
        "SELECT action FROM audit_entries WHERE scope = $1 AND action LIKE 'device.%' ORDER BY seq",
    )
    .bind(format!("org:{org}"))
    .fetch_all(t.app.store.read())
    .await
    .expect("entries");
    assert_eq!(actions, ["device.frozen", "device.unfrozen"]);
}
both!(a_security_admin_freezes_a_members_phone);
