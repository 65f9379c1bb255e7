//! An organization's security policy as its members meet it: sign-in
//! refused by country, network, password age and app version (said only
//! after the right password, naming the organization and the rule); a
//! lower device limit; a shorter session, live sessions shortened at once;
//! two-step verification owed, then the organization refusing the member.
//! Koban starts with the tests' tiny city database and trusts 127.0.0.1 as
//! a proxy, so each sign-in picks its address with `X-Forwarded-For`.

use super::*;
use crate::mmdb::{BASEL, TOKYO};

const BOB: &str = "pol-bob@example.com";

async fn sign_in(
    t: &TestApp,
    ip: &str,
    device: &str,
    version: Option<&str>,
    password: &str,
) -> (StatusCode, Value) {
    let mut request = t
        .http
        .post(t.url("/api/v1/sessions"))
        .header("x-forwarded-for", ip)
        .header("x-koban-device", device)
        .json(&json!({ "identifier": BOB, "password": password }));
    if let Some(v) = version {
        request = request.header("x-koban-client-version", v);
    }
    t.send(request).await
}

/// Signs Bob in on his usual phone from `ip`, expecting a session.
async fn bob_signs_in(t: &TestApp, ip: &str) -> Value {
    let (status, body) = sign_in(t, ip, PHONE, None, PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

const PHONE: &str = "pol-bob-phone-000000001";

fn refused(status: StatusCode, body: &Value, rule: &str) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(kind(body), "/problems/policy-refused", "{body}");
    assert_eq!(body["rule"], rule, "{body}");
    assert_eq!(body["organization"], "Policy Co", "{body}");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("Policy Co"),
        "{body}"
    );
}

async fn set(t: &TestApp, token: &str, org: i64, body: Value) -> (StatusCode, Value) {
    put(t, token, &format!("/api/v1/orgs/{org}/policy"), body).await
}

async fn a_policy_governs_where_and_how_members_sign_in(t: TestApp) {
    let owner = t.signed_up("pol-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Policy Co").await;
    let security = member(&t, &owner, org, "pol-sec@example.com", &["security_admin"]).await;
    let auditor = member(&t, &owner, org, "pol-audit@example.com", &["auditor"]).await;
    let plain = member(&t, &owner, org, BOB, &["member"]).await;
    let path = format!("/api/v1/orgs/{org}/policy");
    // Bob's phone is known from Tokyo before any rule exists.
    bob_signs_in(&t, TOKYO.ip).await;

    // Who may read and change it.
    let (status, empty) = t.get(Some(&auditor), &path).await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(empty["version"], 0);
    let (status, _) = t.get(Some(&plain), &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = set(&t, &auditor, org, json!({ "max_devices": 3 })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let rival = t.signed_up("pol-rival@example.com", PASSWORD).await;
    new_org(&t, &rival, "Rival").await;
    let (status, _) = t.get(Some(&rival), &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = set(&t, &rival, org, json!({ "max_devices": 3 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bad input: each named, nothing stored.
    for (body, field) in [
        (json!({ "max_devices": 0 }), "max_devices"),
        (json!({ "max_devices": 101 }), "max_devices"),
        (
            json!({ "two_factor_grace_days": 91 }),
            "two_factor_grace_days",
        ),
        (
            json!({ "session_lifetime_minutes": 1 }),
            "session_lifetime_minutes",
        ),
        (
            json!({ "password_max_age_days": 0 }),
            "password_max_age_days",
        ),
        (json!({ "allowed_countries": ["JPN"] }), "allowed_countries"),
        (
            json!({ "allowed_countries": ["日本"] }),
            "allowed_countries",
        ),
        (
            json!({ "allowed_networks": ["10.0.0.0/33"] }),
            "allowed_networks",
        ),
        (
            json!({ "allowed_networks": ["intranet"] }),
            "allowed_networks",
        ),
        (
            json!({ "min_client_version": "latest" }),
            "min_client_version",
        ),
    ] {
        let (status, answer) = set(&t, &security, org, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert!(answer.to_string().contains(field), "{body}: {answer}");
    }
    for body in [
        json!({ "max_device": 2 }),
        json!({ "max_devices": -1 }),
        json!({ "max_devices": "2" }),
    ] {
        let (status, answer) = set(&t, &security, org, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
    }
    let (_, unchanged) = t.get(Some(&auditor), &path).await;
    assert_eq!(unchanged["version"], 0, "{unchanged}");

    // Countries: Japan only. Codes are stored upper-cased.
    let (status, saved) = set(&t, &security, org, json!({ "allowed_countries": ["jp"] })).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["allowed_countries"], json!(["JP"]));
    assert_eq!(saved["version"], 1);
    bob_signs_in(&t, TOKYO.ip).await;
    // A wrong password from Basel learns nothing of the policy.
    let (status, body) = sign_in(&t, BASEL.ip, PHONE, None, "wrong password 123").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = sign_in(&t, BASEL.ip, PHONE, None, PASSWORD).await;
    refused(status, &body, "allowed_countries");
    // Nor from an address no database places.
    let (status, body) = sign_in(&t, "203.0.113.9", PHONE, None, PASSWORD).await;
    refused(status, &body, "allowed_countries");

    // A change from a stale version is refused and changes nothing.
    let (status, body) = set(
        &t,
        &security,
        org,
        json!({ "max_devices": 3, "version": 0 }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(kind(&body), "/problems/org-policy-changed");

    // Networks: Tokyo's office only.
    let (status, body) = set(
        &t,
        &owner,
        org,
        json!({ "allowed_networks": ["198.51.100.0/24"], "version": 1 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["allowed_countries"],
        json!([]),
        "a change replaces the policy"
    );
    bob_signs_in(&t, TOKYO.ip).await;
    let (status, body) = sign_in(&t, BASEL.ip, PHONE, None, PASSWORD).await;
    refused(status, &body, "allowed_networks");

    // The app's version: browsers send none.
    set(&t, &owner, org, json!({ "min_client_version": "13.4" })).await;
    let (status, body) = sign_in(&t, TOKYO.ip, PHONE, Some("13.3.9"), PASSWORD).await;
    refused(status, &body, "min_client_version");
    let (status, body) = sign_in(&t, TOKYO.ip, PHONE, Some("13.4.1"), PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    bob_signs_in(&t, TOKYO.ip).await;

    // Password age: Bob's password was set two days ago.
    set(&t, &owner, org, json!({ "password_max_age_days": 1 })).await;
    bob_signs_in(&t, TOKYO.ip).await;
    let bob_id = account_id(&t, &plain).await;
    t.exec(&format!(
        "UPDATE accounts SET password_changed_at = password_changed_at - 172800000 WHERE id = {bob_id}"
    ))
    .await;
    let (status, body) = sign_in(&t, TOKYO.ip, PHONE, None, PASSWORD).await;
    refused(status, &body, "password_age");
    // Each refusal is in Bob's login history, naming the rule.
    let refusals = crate::support::scalar(
        &t,
        &format!("SELECT COUNT(*) FROM login_attempts WHERE account_id = {bob_id} AND outcome = 'policy_refused'"),
    )
    .await;
    assert_eq!(refusals, 5);

    // Every change is in the organization's audit log, before and after.
    let (status, entries) = t
        .get(
            Some(&auditor),
            &format!("/api/v1/orgs/{org}/audit/entries?action=policy.changed"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{entries}");
    let items = entries["items"].as_array().expect("items");
    assert_eq!(items.len(), 4, "{entries}");
    // Lifting the rule lets Bob in again.
    set(&t, &owner, org, json!({})).await;
    bob_signs_in(&t, TOKYO.ip).await;
}
both!(
    a_policy_governs_where_and_how_members_sign_in,
    crate::geo::with_geo
);

async fn devices_and_sessions_follow_the_policy(t: TestApp) {
    let owner = t.signed_up("pol-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Policy Co").await;
    let bob = member(&t, &owner, org, BOB, &["member"]).await;
    let bob_id = account_id(&t, &bob).await;
    bob_signs_in(&t, TOKYO.ip).await;

    // One device per member: Bob's laptop meets the limit, which names the
    // organization.
    let (status, body) = set(&t, &owner, org, json!({ "max_devices": 1 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, pending) = sign_in(&t, TOKYO.ip, "pol-bob-laptop-00000002", None, PASSWORD).await;
    // A new device with two in use is asked for a code, and told of the
    // limit before it gives one.
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(pending["device_limit"], 1, "{pending}");
    let code = t.latest_code(BOB).await;
    let (status, body) = t
        .post(
            "/api/v1/sessions/second-factor",
            json!({ "challenge": pending["challenge"], "method": "code", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(kind(&body), "/problems/device-limit");
    assert_eq!(body["limit"], 1);
    assert_eq!(body["organization"], "Policy Co");
    assert_eq!(body["rule"], "max_devices");

    // A one-hour session: live sessions are shortened at once, new ones
    // are made short.
    let before = crate::support::scalar(
        &t,
        &format!("SELECT MAX(absolute_expires_at - created_at) FROM sessions WHERE account_id = {bob_id} AND revoked_at IS NULL"),
    )
    .await;
    assert!(before > 3_600_000, "{before}");
    let (status, body) = set(&t, &owner, org, json!({ "session_lifetime_minutes": 60 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = crate::support::scalar(
        &t,
        &format!("SELECT MAX(absolute_expires_at - created_at) FROM sessions WHERE account_id = {bob_id} AND revoked_at IS NULL"),
    )
    .await;
    assert_eq!(after, 3_600_000);
    bob_signs_in(&t, TOKYO.ip).await;
    let newest = crate::support::scalar(
        &t,
        &format!("SELECT absolute_expires_at - created_at FROM sessions WHERE account_id = {bob_id} ORDER BY id DESC LIMIT 1"),
    )
    .await;
    assert_eq!(newest, 3_600_000);
    let (_, entries) = t
        .get(
            Some(&owner),
            &format!("/api/v1/orgs/{org}/audit/entries?action=policy.changed"),
        )
        .await;
    // The change that shortened them says how many: the owner's session
    // and Bob's two (the owner is a member too).
    let shortened: Vec<i64> = entries["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            let details: Value =
                serde_json::from_str(e["details"].as_str().expect("details")).expect("json");
            details["sessions_shortened"].as_i64().expect("count")
        })
        .collect();
    assert_eq!(shortened, vec![3, 0], "{entries}");
}
both!(devices_and_sessions_follow_the_policy, crate::geo::with_geo);

/// The security overview page as `token`'s browser sees it.
async fn security_page(t: &TestApp, token: &str) -> String {
    let response = t
        .http
        .get(t.url("/account/security"))
        .header("cookie", format!("koban_session={token}"))
        .header("accept-language", "en")
        .send()
        .await
        .expect("GET /account/security");
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.expect("page")
}

async fn two_step_verification_is_owed_then_required(t: TestApp) {
    let owner = t.signed_up("pol-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Policy Co").await;
    let bob = member(&t, &owner, org, BOB, &["member"]).await;
    let show = format!("/api/v1/orgs/{org}");

    // A grace period: Bob is told the deadline and still works in the
    // organization.
    let (status, body) = set(
        &t,
        &owner,
        org,
        json!({ "two_factor_grace_days": 14, "max_devices": 2 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["two_factor_since"].as_i64().is_some(), "{body}");
    let signed_in = bob_signs_in(&t, TOKYO.ip).await;
    let owed = &signed_in["two_factor_required_by"][0];
    assert_eq!(owed["organization"], "Policy Co", "{signed_in}");
    assert_eq!(owed["overdue"], false);
    let deadline = owed["deadline"].as_i64().expect("deadline");
    assert!(
        deadline > koban::store::now_ms() + 13 * 86_400_000,
        "{owed}"
    );
    let (status, _) = t.get(Some(&bob), &show).await;
    assert_eq!(status, StatusCode::OK);
    // His security overview says so, with the date, and whose limit his
    // devices are under.
    let page = security_page(&t, &bob).await;
    assert!(
        page.contains(r#"data-org-two-factor="Policy Co""#),
        "{page}"
    );
    assert!(page.contains("Policy Co requires two-step verification. Turn it on before"));
    assert!(page.contains("Policy Co sets this limit for its members."));

    // Its end: the organization refuses Bob (his own settings stay open).
    t.exec(&format!(
        "UPDATE org_policies SET two_factor_since = two_factor_since - 15 * 86400000 WHERE org_id = {org}"
    ))
    .await;
    t.exec(&format!(
        "UPDATE org_members SET joined_at = joined_at - 15 * 86400000 WHERE org_id = {org}"
    ))
    .await;
    let (status, body) = t.get(Some(&bob), &show).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(kind(&body), "/problems/org-two-factor-required");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("Policy Co"),
        "{body}"
    );
    let (status, _) = t.get(Some(&bob), "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    let signed_in = bob_signs_in(&t, TOKYO.ip).await;
    assert_eq!(
        signed_in["two_factor_required_by"][0]["overdue"], true,
        "{signed_in}"
    );
    assert!(security_page(&t, &bob)
        .await
        .contains("its grace period is over"));
    // The owner is held to it too, and an owner without it cannot even
    // lift the rule: the only way back is to turn two-step verification on.
    let (status, _) = set(&t, &owner, org, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bob turns on TOTP: the organization lets him back.
    let (status, enrollment) = t.post_as(&bob, "/api/v1/me/2fa/totp", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{enrollment}");
    let secret =
        koban::security::totp::base32_decode(enrollment["secret"].as_str().expect("secret"))
            .expect("base32");
    let code = koban::security::totp::code_at(
        &secret,
        koban::security::totp::step_of(koban::store::now_ms()),
    );
    let (status, body) = t
        .post_as(&bob, "/api/v1/me/2fa/totp/confirm", json!({ "code": code }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = t.get(Some(&bob), &show).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
both!(
    two_step_verification_is_owed_then_required,
    crate::geo::with_geo
);
