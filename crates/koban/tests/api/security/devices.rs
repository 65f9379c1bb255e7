//! Devices: listed, renamed, removed; the device limit; malformed device
//! headers.

use super::*;

/// Devices are listed with the current one marked, renamed, removed (their
/// sessions end), and each new one is announced to the owner.
async fn devices_are_listed_renamed_and_removed(t: TestApp) {
    t.signed_up("dev@example.com", PASSWORD).await;
    let (status, phone) =
        sign_in_from(&t, "phone-device-0000000001", "dev@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{phone}");
    assert_eq!(phone["new_device"], true);
    let phone_token = phone["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (_, laptop) =
        sign_in_from(&t, "laptop-device-000000002", "dev@example.com", PASSWORD).await;
    let laptop_token = laptop["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (status, devices) = t.get(Some(&laptop_token), "/api/v1/me/devices").await;
    assert_eq!(status, StatusCode::OK);
    let devices = devices.as_array().expect("list").clone();
    // The device that signed up, the phone and the laptop.
    assert_eq!(devices.len(), 3);
    assert_eq!(devices.iter().filter(|d| d["current"] == true).count(), 1);
    let phone_id = phone["device_id"].as_i64().expect("id");
    let rename = |name: Value| {
        t.http
            .patch(t.url(&format!("/api/v1/me/devices/{phone_id}")))
            .bearer_auth(&laptop_token)
            .json(&json!({ "name": name }))
    };
    assert_eq!(
        t.send(rename(json!("Mei's phone"))).await.0,
        StatusCode::NO_CONTENT
    );
    for bad in [
        json!(""),
        json!("x".repeat(65)),
        json!("a\u{202E}b"),
        json!(5),
    ] {
        assert_eq!(
            t.send(rename(bad.clone())).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    assert_eq!(
        t.get(Some(&phone_token), "/api/v1/me").await.0,
        StatusCode::OK
    );
    let remove = |id: i64| {
        t.http
            .delete(t.url(&format!("/api/v1/me/devices/{id}")))
            .bearer_auth(&laptop_token)
    };
    assert_eq!(t.send(remove(phone_id)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        t.get(Some(&phone_token), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "removing a device ends its sessions at once"
    );
    assert_eq!(t.send(remove(999_999)).await.0, StatusCode::NOT_FOUND);
    let sign_up_device = devices
        .iter()
        .find(|d| d["id"] != phone["device_id"] && d["id"] != laptop["device_id"])
        .expect("the sign-up device")["id"]
        .as_i64()
        .expect("id");
    assert_eq!(
        t.send(remove(sign_up_device)).await.0,
        StatusCode::NO_CONTENT
    );
    let laptop_id = laptop["device_id"].as_i64().expect("id");
    let (status, body) = t.send(remove(laptop_id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["type"], "/problems/step-up-required");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE purpose = 'new_device_alert'"
        )
        .await,
        2
    );
    let (_, events) = t
        .get(Some(&laptop_token), "/api/v1/me/security-events")
        .await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["device_added", "device_renamed", "device_removed"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
}

both!(
    devices_are_listed_renamed_and_removed,
    // Three devices in a day would be churn and ask for a code first.
    |c: &mut koban::config::Config| c.risk_device_churn_count = 0
);

/// At the device limit a new sign-in is told which devices are bound and
/// must remove one first: the seed's multi-device conflict.
async fn device_limit_conflict_is_resolved_by_removing_one(t: TestApp) {
    t.signed_up("limit@example.com", PASSWORD).await;
    let (_, first) = sign_in_from(
        &t,
        "first-device-00000000001",
        "limit@example.com",
        PASSWORD,
    )
    .await;
    let first_token = first["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    sign_in_from(
        &t,
        "second-device-0000000002",
        "limit@example.com",
        PASSWORD,
    )
    .await;
    let (status, conflict) = sign_in_from(
        &t,
        "third-device-00000000003",
        "limit@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["type"], "/problems/device-limit");
    assert_eq!(conflict["devices"].as_array().expect("devices").len(), 2);
    let challenge = conflict["challenge"]
        .as_str()
        .expect("challenge")
        .to_string();
    let (status, _) = t
        .post(
            "/api/v1/sessions/device-limit",
            json!({ "challenge": challenge, "remove_device_id": 424242 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = t
        .post(
            "/api/v1/sessions/device-limit",
            json!({ "challenge": "kbc_forged", "remove_device_id": first["device_id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        t.get(Some(&first_token), "/api/v1/me").await.0,
        StatusCode::OK
    );
    let request = t
        .http
        .post(t.url("/api/v1/sessions/device-limit"))
        .header("x-koban-device", "third-device-00000000003")
        .json(&json!({ "challenge": challenge, "remove_device_id": first["device_id"] }));
    let (status, signed_in) = t.send(request).await;
    assert_eq!(status, StatusCode::CREATED, "{signed_in}");
    assert_eq!(
        t.get(Some(&first_token), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = t
        .post(
            "/api/v1/sessions/device-limit",
            json!({ "challenge": challenge, "remove_device_id": signed_in["device_id"] }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a challenge is single use"
    );
}

both!(
    device_limit_conflict_is_resolved_by_removing_one,
    |c: &mut koban::config::Config| {
        c.max_devices = 2;
        // Three devices in a day is churn, which would ask for a code first.
        c.risk_device_churn_count = 0;
    }
);

/// Malformed device ids are refused; a huge User-Agent is cut, not refused.
async fn malformed_device_headers_are_refused_and_huge_user_agents_cut(t: TestApp) {
    t.signed_up("hdr@example.com", PASSWORD).await;
    for bad in [
        "short",
        "has spaces in the id!",
        "<script>alert(1)</script>aaaaaa",
    ] {
        let (status, body) = sign_in_from(&t, bad, "hdr@example.com", PASSWORD).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["errors"][0]["field"], "X-Koban-Device");
    }
    let request = t
        .http
        .post(t.url("/api/v1/sessions"))
        .header("user-agent", "A".repeat(20_000))
        .json(&json!({ "identifier": "hdr@example.com", "password": PASSWORD }));
    assert_eq!(t.send(request).await.0, StatusCode::CREATED);
    assert_eq!(
        scalar(&t, "SELECT MAX(LENGTH(user_agent)) FROM login_attempts").await,
        512
    );
}

both!(malformed_device_headers_are_refused_and_huge_user_agents_cut);
