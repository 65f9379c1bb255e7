//! Changes of several rows commit whole or not at all: a failure injected
//! between two of their writes leaves everything as it was, and the same
//! request then succeeds.

use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "plum blossom 2026";
const NEW_PASSWORD: &str = "quiet river stones";

async fn signs_in(t: &TestApp, identifier: &str, password: &str) -> bool {
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": identifier, "password": password }),
        )
        .await;
    status == StatusCode::CREATED
}

async fn alive(t: &TestApp, token: &str) -> bool {
    t.get(Some(token), "/api/v1/me").await.0 == StatusCode::OK
}

/// A password change that fails after the new password was written keeps
/// the old password and the other sessions.
async fn a_failed_password_change_changes_nothing(t: TestApp) {
    let first = t.signed_up("change@example.com", PASSWORD).await;
    let (_, second) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "change@example.com", "password": PASSWORD }),
        )
        .await;
    let second = second["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let change = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });
    t.app.store.fail_at("change_password:password_set");
    let (status, body) = t
        .post_as(&first, "/api/v1/me/password", change.clone())
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(alive(&t, &second).await, "the other session lives");
    assert!(signs_in(&t, "change@example.com", PASSWORD).await);
    assert!(!signs_in(&t, "change@example.com", NEW_PASSWORD).await);
    let (status, body) = t.post_as(&first, "/api/v1/me/password", change).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(!alive(&t, &second).await);
    assert!(signs_in(&t, "change@example.com", NEW_PASSWORD).await);
}
both!(a_failed_password_change_changes_nothing);

/// A reset that fails half way keeps the old password, every session, and
/// the code, which then completes the reset.
async fn a_failed_password_reset_changes_nothing(t: TestApp) {
    let token = t.signed_up("reset@example.com", PASSWORD).await;
    let sign_up_code = t.latest_code("reset@example.com").await;
    t.exec("DELETE FROM send_throttle").await;
    let (status, _) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": "reset@example.com", "purpose": "password_reset" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = t
        .latest_code_after(&sign_up_code, "reset@example.com")
        .await;
    let reset =
        json!({ "identifier": "reset@example.com", "code": code, "new_password": NEW_PASSWORD });
    t.app.store.fail_at("reset_password:password_set");
    let (status, body) = t.post("/api/v1/password-resets", reset.clone()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(alive(&t, &token).await);
    assert!(signs_in(&t, "reset@example.com", PASSWORD).await);
    let (status, body) = t.post("/api/v1/password-resets", reset).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "the code still works: {body}"
    );
    assert!(!alive(&t, &token).await);
    assert!(signs_in(&t, "reset@example.com", NEW_PASSWORD).await);
}
both!(a_failed_password_reset_changes_nothing);

/// A contact verification that fails after the code was used up leaves the
/// account pending and the code usable.
async fn a_failed_verification_changes_nothing(t: TestApp) {
    let (status, _) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "verify@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let code = t.latest_code("verify@example.com").await;
    let confirm = json!({ "identifier": "verify@example.com", "code": code });
    t.app.store.fail_at("verify_contact:code_used");
    let (status, body) = t.post("/api/v1/verifications", confirm.clone()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM accounts WHERE status = 'pending'").await,
        1
    );
    let (status, body) = t.post("/api/v1/verifications", confirm).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["account"]["status"], "active");
}
both!(a_failed_verification_changes_nothing);

/// A contact change that fails after the new address was written keeps the
/// old address, records nothing, tells nobody, and the code still works.
async fn a_failed_contact_change_changes_nothing(t: TestApp) {
    let token = t.signed_up("before@example.com", PASSWORD).await;
    t.stepped_up(&token, "before@example.com").await;
    let (status, _) = t
        .post_as(
            &token,
            "/api/v1/me/contact-changes",
            json!({ "email": "after@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = t.latest_code("after@example.com").await;
    t.app.store.fail_at("contact_change:contact_set");
    let confirm = json!({ "code": code });
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/contact-changes/confirm",
            confirm.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let (_, me) = t.get(Some(&token), "/api/v1/me").await;
    assert_eq!(me["email"], "before@example.com");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM security_events WHERE kind = 'contact_changed'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE purpose = 'contact_changed_notice'"
        )
        .await,
        0
    );
    let (status, body) = t
        .post_as(&token, "/api/v1/me/contact-changes/confirm", confirm)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "after@example.com");
}
both!(a_failed_contact_change_changes_nothing);

/// A support action whose audit record cannot be written is not done: the
/// sessions it would end live on, and no record claims it.
async fn a_support_action_without_its_audit_record_is_not_done(t: TestApp) {
    let owner_token = t.signed_up("audited@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let owner = scalar(
        &t,
        "SELECT id FROM accounts WHERE email = 'audited@example.com'",
    )
    .await;
    let action = json!({
        "action": "end_sessions",
        "verification_reference": "ticket 2612-0345-678: code read back",
        "reason": "phone stolen",
    });
    let path = format!("/api/v1/support/accounts/{owner}/actions");
    t.app.store.fail_at("support_action:action_done");
    let (status, body) = t.post_as(&agent, &path, action.clone()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(alive(&t, &owner_token).await);
    assert_eq!(t.count("audit_log").await, 0);
    let (status, body) = t.post_as(&agent, &path, action).await;
    assert!(status.is_success(), "{body}");
    assert!(!alive(&t, &owner_token).await);
    assert_eq!(t.count("audit_log").await, 1);
}
both!(a_support_action_without_its_audit_record_is_not_done);
