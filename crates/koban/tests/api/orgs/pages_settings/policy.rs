//! `/orgs/{org}/policy`: the rules in words, the form for
//! `policies.manage` with its version, every bad value beside its field.

use super::*;

/// The stored policy's version and whole document.
async fn stored(t: &TestApp, owner: &str, org: i64) -> (i64, String) {
    let version = crate::support::scalar(
        t,
        &format!("SELECT COALESCE(MAX(version), 0) AS n FROM org_policies WHERE org_id = {org}"),
    )
    .await;
    let (_, policy) = t
        .get(Some(owner), &format!("/api/v1/orgs/{org}/policy"))
        .await;
    (version, policy.to_string())
}

async fn the_policy_page_shows_and_changes_every_rule(t: TestApp) {
    let owner = t.signed_up("pp-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Policy Pages").await;
    member(&t, &owner, org, "pp-auditor@example.com", &["auditor"]).await;
    member(&t, &owner, org, "pp-member@example.com", &["member"]).await;
    let rival = t.signed_up("pp-rival@example.com", PASSWORD).await;
    new_org(&t, &rival, "Rival").await;
    let path = format!("/orgs/{org}/policy");

    let mut pages = pages_of(&t, "pp-owner@example.com").await;
    let response = pages.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("No rule has been set yet"), "{html}");
    assert!(html.contains("id=\"policy-form\""));
    assert!(html.contains("name=\"version\" value=\"0\""));

    // Every rule at once, typed as a person would.
    let response = pages
        .post(
            &path,
            &[
                ("version", "0"),
                ("two_factor", "on"),
                ("two_factor_grace_days", "7"),
                ("max_devices", "3"),
                ("allowed_countries", "jp, tw"),
                ("allowed_networks", "10.0.0.0/8\r\n192.168.1.0/24"),
                ("session_lifetime_minutes", "60"),
                ("password_max_age_days", "90"),
                ("min_client_version", "14.2.1"),
            ],
        )
        .await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("The policy is saved"), "{html}");
    for words in [
        "members without it have 7 days to turn it on",
        "At most 3 signed in at once",
        "data-region=\"JP\"",
        "data-region=\"TW\"",
        "Sign-ins from an unknown country are refused",
        "10.0.0.0&#x2f;8",
        "192.168.1.0&#x2f;24",
        "60 minutes, then the member signs in again",
        "Must be changed at least every 90 days",
        "Version 14.2.1 or newer",
    ] {
        assert!(html.contains(words), "{words} in {html}");
    }
    assert!(html.contains("name=\"version\" value=\"1\""));
    let (version, saved) = stored(&t, &owner, org).await;
    assert_eq!(version, 1);
    assert!(
        saved.contains("\"allowed_countries\":[\"JP\",\"TW\"]"),
        "{saved}"
    );

    // Every bad value is named beside its own field; nothing changes.
    let response = pages
        .post(
            &path,
            &[
                ("version", "1"),
                ("two_factor", "on"),
                ("two_factor_grace_days", "seven"),
                ("max_devices", "0"),
                ("allowed_countries", "JPN"),
                ("allowed_networks", "10.0.0.0/33"),
                ("session_lifetime_minutes", "1"),
                ("password_max_age_days", "99999"),
                ("min_client_version", "new"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    for (field, reason) in [
        ("two_factor_grace_days", "Enter a number."),
        ("max_devices", "outside the allowed range"),
        ("allowed_countries", "two-letter country codes"),
        ("allowed_networks", "This value is not allowed."),
        ("session_lifetime_minutes", "outside the allowed range"),
        ("password_max_age_days", "outside the allowed range"),
        ("min_client_version", "This value is not allowed."),
    ] {
        let line = beside(&html, &format!("{field}-error"));
        assert!(line.contains(reason), "{field}: {line}");
    }
    // What was typed stays in the form.
    assert!(html.contains("value=\"JPN\""));
    assert_eq!(stored(&t, &owner, org).await, (version, saved.clone()));

    // Required two-step verification needs its days.
    let response = pages
        .post(&path, &[("version", "1"), ("two_factor", "on")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(beside(&html, "two_factor_grace_days-error").contains("required"));
    assert_eq!(stored(&t, &owner, org).await, (version, saved.clone()));

    // Another administrator changed it since this form was read.
    let (status, _) = put(
        &t,
        &owner,
        &format!("/api/v1/orgs/{org}/policy"),
        json!({ "max_devices": 5, "version": 1 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (version, saved) = stored(&t, &owner, org).await;
    let response = pages
        .post(&path, &[("version", "1"), ("max_devices", "2")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.expect("html");
    assert!(html.contains("Someone else changed this policy"), "{html}");
    assert!(html.contains("At most 5 signed in at once"));
    // The form keeps what was typed, now against the version shown.
    assert!(html.contains("name=\"version\" value=\"2\""));
    assert!(html.contains("id=\"max_devices\" name=\"max_devices\" type=\"text\" value=\"2\""));
    assert_eq!(stored(&t, &owner, org).await, (version, saved.clone()));

    // An auditor reads the rules, without a form, and may not change them.
    let mut auditor = pages_of(&t, "pp-auditor@example.com").await;
    let response = auditor.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("At most 5 signed in at once"));
    assert!(!html.contains("id=\"policy-form\""));
    let response = auditor
        .post(&path, &[("version", "2"), ("max_devices", "1")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.expect("html");
    assert!(html.contains("policies.manage"), "{html}");

    // A plain member may not read it; another organization is not found.
    let mut plain = pages_of(&t, "pp-member@example.com").await;
    assert_eq!(plain.get(&path).await.status(), StatusCode::FORBIDDEN);
    let response = plain.post(&path, &[("max_devices", "1")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let mut other = pages_of(&t, "pp-rival@example.com").await;
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    let response = other.post(&path, &[("max_devices", "1")]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(stored(&t, &owner, org).await, (version, saved));

    visitor_signs_in_first(&t, &path).await;
}
both!(the_policy_page_shows_and_changes_every_rule);
