//! `/orgs/{org}/devices`: members' devices with last use, place, app
//! version and freeze; freezing one or all with a reason, unfreezing.

use super::*;

const PHONE: &str = "dp-bob-phone-0000000001";

/// Signs Bob in from the app on `device` (version 14.2.1), binding it.
async fn bob_on(t: &TestApp, device: &str, name: &str) {
    let (status, body) = t
        .send(
            t.http
                .post(t.url("/api/v1/sessions"))
                .header("x-koban-device", device)
                .header("x-koban-device-name", name)
                .header("x-koban-client-version", "14.2.1")
                .json(&json!({ "identifier": "dp-bob@example.com", "password": PASSWORD })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn frozen(t: &TestApp, name: &str) -> i64 {
    t.count(&format!(
        "devices WHERE name = '{name}' AND frozen_at IS NOT NULL"
    ))
    .await
}

async fn device_id(t: &TestApp, name: &str) -> i64 {
    crate::support::scalar(
        t,
        &format!("SELECT id AS n FROM devices WHERE name = '{name}'"),
    )
    .await
}

async fn administrators_freeze_and_unfreeze_devices(t: TestApp) {
    let owner = t.signed_up("dp-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Device Pages").await;
    member(&t, &owner, org, "dp-auditor@example.com", &["auditor"]).await;
    member(&t, &owner, org, "dp-plain@example.com", &["member"]).await;
    let bob = member(&t, &owner, org, "dp-bob@example.com", &["member"]).await;
    let bob_id = account_id(&t, &bob).await;
    let rival = t.signed_up("dp-rival@example.com", PASSWORD).await;
    new_org(&t, &rival, "Rival").await;
    bob_on(&t, PHONE, "Bob phone").await;
    let phone = device_id(&t, "Bob phone").await;
    let path = format!("/orgs/{org}/devices");
    let freeze = format!("/orgs/{org}/devices/freeze");
    let unfreeze = format!("/orgs/{org}/devices/unfreeze");
    let (bob_text, phone_text) = (bob_id.to_string(), phone.to_string());

    let mut pages = pages_of(&t, "dp-owner@example.com").await;
    let response = pages.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    let row = beside(&html, &format!("device-{phone}"));
    assert!(row.contains("data-frozen=\"false\""), "{row}");
    for words in ["Bob phone", "dp-bob@example.com", "14.2.1", "In use"] {
        assert!(html.contains(words), "{words} in {html}");
    }
    assert!(html.contains(&format!("id=\"freeze-{phone}\"")));

    // A reason is required, and told in words beside that device's form.
    let response = pages
        .post(
            &freeze,
            &[
                ("account", &bob_text),
                ("device", &phone_text),
                ("reason", "  "),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(
        beside(&html, &format!("reason-{phone}-error")).contains("This field is required."),
        "{html}"
    );
    let long = "x".repeat(501);
    let response = pages
        .post(
            &freeze,
            &[
                ("account", &bob_text),
                ("device", &phone_text),
                ("reason", &long),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(beside(&html, &format!("reason-{phone}-error")).contains("This value is not allowed."));
    assert_eq!(frozen(&t, "Bob phone").await, 0);

    // One device, with its reason.
    let response = pages
        .post(
            &freeze,
            &[
                ("account", &bob_text),
                ("device", &phone_text),
                ("reason", "Phone reported stolen"),
            ],
        )
        .await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("Frozen. The member"), "{html}");
    assert!(html.contains("Reason: Phone reported stolen"));
    assert!(beside(&html, &format!("device-{phone}")).contains("data-frozen=\"true\""));
    assert_eq!(frozen(&t, "Bob phone").await, 1);
    assert_eq!(
        t.count("audit_entries WHERE action = 'device.frozen'")
            .await,
        1
    );

    // Unfreeze it.
    let response = pages
        .post(
            &unfreeze,
            &[("account", &bob_text), ("device", &phone_text)],
        )
        .await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("Unfrozen."), "{html}");
    assert_eq!(frozen(&t, "Bob phone").await, 0);

    // All of Bob's devices: the reason is required there too.
    let response = pages
        .post(
            &freeze,
            &[("account", &bob_text), ("device", ""), ("reason", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(beside(&html, "reason-error").contains("This field is required."));
    assert_eq!(frozen(&t, "Bob phone").await, 0);
    let response = pages
        .post(
            &freeze,
            &[
                ("account", &bob_text),
                ("device", ""),
                ("reason", "Left the company"),
            ],
        )
        .await;
    let (status, _) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(frozen(&t, "Bob phone").await, 1);
    let response = pages.post(&unfreeze, &[("account", &bob_text)]).await;
    let (status, _) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(frozen(&t, "Bob phone").await, 0);
    // Nothing left to unfreeze: said, nothing recorded.
    let audits = t
        .count("audit_entries WHERE action = 'device.unfrozen'")
        .await;
    let response = pages.post(&unfreeze, &[("account", &bob_text)]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.expect("html");
    assert!(html.contains("no devices to change"), "{html}");
    assert_eq!(
        t.count("audit_entries WHERE action = 'device.unfrozen'")
            .await,
        audits
    );

    // An auditor sees the devices but no freeze button, and may not freeze.
    let mut auditor = pages_of(&t, "dp-auditor@example.com").await;
    let response = auditor.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("Bob phone"));
    assert!(!html.contains("/devices/freeze"), "{html}");
    let response = auditor
        .post(
            &freeze,
            &[
                ("account", &bob_text),
                ("device", &phone_text),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("devices.freeze"));

    // A plain member may not look; another organization is not found.
    let mut plain = pages_of(&t, "dp-plain@example.com").await;
    assert_eq!(plain.get(&path).await.status(), StatusCode::FORBIDDEN);
    let response = plain
        .post(&freeze, &[("account", &bob_text), ("reason", "x")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let mut other = pages_of(&t, "dp-rival@example.com").await;
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    let response = other
        .post(&freeze, &[("account", &bob_text), ("reason", "x")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(frozen(&t, "Bob phone").await, 0);

    visitor_signs_in_first(&t, &path).await;
}
both!(administrators_freeze_and_unfreeze_devices);
