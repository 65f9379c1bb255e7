//! Getting back in: self-service unlock, support's audited account
//! operations, reminders and history retention.

use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

const PASSWORD: &str = "plum blossom 2026";

async fn lock_by_guessing(t: &TestApp, identifier: &str) {
    for _ in 0..5 {
        t.post(
            "/api/v1/sessions",
            json!({ "identifier": identifier, "password": "wrong guess 123" }),
        )
        .await;
    }
    let (_, body) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": identifier, "password": PASSWORD }),
        )
        .await;
    assert_eq!(body["type"], "/problems/sign-in-locked", "{body}");
}

/// A lock from wrong passwords is lifted with a code to a verified contact
/// and a new password; the old password and old sessions stop working.
async fn self_service_unlock_needs_a_code_and_a_new_password(t: TestApp) {
    let old_session = t.signed_up("unlock@example.com", PASSWORD).await;
    lock_by_guessing(&t, "unlock@example.com").await;
    let (status, _) = t
        .post(
            "/api/v1/unlock",
            json!({ "identifier": "unlock@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = t.latest_code("unlock@example.com").await;
    // Without a new password: refused, still locked, the code not spent.
    let (status, body) = t
        .post(
            "/api/v1/unlock/confirm",
            json!({ "identifier": "unlock@example.com", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "new_password");
    // A weak new password: refused too.
    let (status, body) = t
        .post(
            "/api/v1/unlock/confirm",
            json!({ "identifier": "unlock@example.com", "code": code, "new_password": "password1" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = t
        .post(
            "/api/v1/unlock/confirm",
            json!({ "identifier": "unlock@example.com", "code": code, "new_password": "fresh tea leaves 7" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        t.get(Some(&old_session), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "unlock@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "unlock@example.com", "password": "fresh tea leaves 7" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["session"]["token"].as_str().expect("token");
    let (_, events) = t.get(Some(token), "/api/v1/me/security-events").await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["locked", "unlocked", "password_changed"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
}
both!(self_service_unlock_needs_a_code_and_a_new_password);

/// Asking to unlock reveals nothing: the same answer for an unknown, an
/// unlocked and a locked account, and nothing is sent unless it is locked.
async fn unlock_requests_reveal_nothing(t: TestApp) {
    t.signed_up("open@example.com", PASSWORD).await;
    let before = t.count("deliveries").await;
    for who in ["open@example.com", "ghost@example.com"] {
        let (status, body) = t.post("/api/v1/unlock", json!({ "identifier": who })).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(t.count("deliveries").await, before);
    let (status, _) = t
        .post(
            "/api/v1/unlock/confirm",
            json!({ "identifier": "open@example.com", "code": "123456", "new_password": "fresh tea leaves 7" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = t
        .post(
            "/api/v1/unlock/confirm",
            json!({ "identifier": "open@example.com", "method": "smoke-signal", "code": "1" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
both!(unlock_requests_reveal_nothing);

async fn account_id(t: &TestApp, identifier: &str) -> i64 {
    let row = sqlx::query("SELECT id FROM accounts WHERE email = $1")
        .bind(identifier)
        .fetch_one(t.app.store.read())
        .await
        .expect("account");
    row.try_get("id").expect("id")
}

async fn act(t: &TestApp, token: &str, account: i64, body: Value) -> (StatusCode, Value) {
    t.post_as(
        token,
        &format!("/api/v1/support/accounts/{account}/actions"),
        body,
    )
    .await
}

/// Support's operations need a verification reference and a reason, are
/// refused to non-agents, and each writes who, why and which verification
/// to the audit log.
async fn support_actions_are_verified_and_audited(t: TestApp) {
    let user_token = t.signed_up("owner@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let owner = account_id(&t, "owner@example.com").await;
    lock_by_guessing(&t, "owner@example.com").await;

    for (body, field) in [
        (
            json!({ "action": "unlock", "verification_reference": "", "reason": "locked out" }),
            "verification_reference",
        ),
        (
            json!({ "action": "unlock", "verification_reference": "T-1 video call", "reason": " " }),
            "reason",
        ),
        (
            json!({ "action": "explode", "verification_reference": "T-1", "reason": "x" }),
            "action",
        ),
        (
            json!({ "action": "remove_device", "verification_reference": "T-1", "reason": "x" }),
            "device_id",
        ),
    ] {
        let (status, problem) = act(&t, &agent, owner, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert_eq!(t.count("audit_log").await, 0);
    let (status, _) = act(
        &t,
        &user_token,
        owner,
        json!({ "action": "unlock", "verification_reference": "self", "reason": "me" }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = act(
        &t,
        &agent,
        999_999,
        json!({ "action": "unlock", "verification_reference": "T-1", "reason": "x" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = act(
        &t,
        &agent,
        owner,
        json!({ "action": "unlock", "verification_reference": "ticket KB-1042: ID checked on video call", "reason": "locked on a new phone" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "owner@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "unlocked by support");
    let (status, _) = act(
        &t,
        &agent,
        owner,
        json!({ "action": "end_sessions", "verification_reference": "ticket KB-1042", "reason": "owner asked" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.get(Some(&user_token), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let row = sqlx::query(
        "SELECT actor_account_id, action, subject_account_id, detail FROM audit_log ORDER BY id",
    )
    .fetch_all(t.app.store.read())
    .await
    .expect("audit");
    assert_eq!(row.len(), 2);
    let action: String = row[0].try_get("action").expect("action");
    let subject: i64 = row[0].try_get("subject_account_id").expect("subject");
    let detail: String = row[0].try_get("detail").expect("detail");
    assert_eq!(action, "account.unlock");
    assert_eq!(subject, owner);
    assert!(
        detail.contains("KB-1042") && detail.contains("locked on a new phone"),
        "{detail}"
    );
}
both!(support_actions_are_verified_and_audited);

/// A refusal the database decided is answered from memory for a while: a
/// lock lifted behind this node's back (as by another node) still refuses
/// here, and is recorded, until the memory runs out; an unlock made on this
/// node forgets at once.
async fn refusals_are_remembered_until_an_unlock_here(t: TestApp) {
    t.signed_up("memo@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let owner = account_id(&t, "memo@example.com").await;
    lock_by_guessing(&t, "memo@example.com").await;
    let refused = "SELECT COUNT(*) FROM login_attempts WHERE outcome = 'locked'";
    assert_eq!(scalar(&t, refused).await, 1);
    assert!(
        !koban::security::state(&t.app).refusals.is_empty(),
        "the refusal is remembered"
    );

    t.exec("DELETE FROM sign_in_guards").await;
    let (status, body) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "memo@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["type"], "/problems/sign-in-locked", "{body}");
    assert_eq!(
        scalar(&t, refused).await,
        2,
        "refusals from memory are recorded"
    );
    let owners = sqlx::query(
        "SELECT COUNT(*) FROM login_attempts WHERE outcome = 'locked' AND account_id = $1",
    )
    .bind(owner)
    .fetch_one(t.app.store.read())
    .await
    .expect("count")
    .try_get::<i64, _>(0)
    .expect("number");
    assert_eq!(owners, 2, "and land in the owner's history");

    let (status, body) = act(
        &t,
        &agent,
        owner,
        json!({ "action": "unlock", "verification_reference": "ticket KB-7: ID checked", "reason": "locked out" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(koban::security::state(&t.app).refusals.is_empty());
    let (status, body) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "memo@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
// A minute of memory, so a slow machine cannot let it run out mid-test.
both!(
    refusals_are_remembered_until_an_unlock_here,
    |c: &mut koban::config::Config| { c.risk_refusal_cache_seconds = 60 }
);

/// With the memory off, the database alone decides: a lock lifted there is
/// lifted everywhere at once.
async fn without_memory_the_database_decides_every_attempt(t: TestApp) {
    t.signed_up("nomemo@example.com", PASSWORD).await;
    lock_by_guessing(&t, "nomemo@example.com").await;
    assert!(koban::security::state(&t.app).refusals.is_empty());
    t.exec("DELETE FROM sign_in_guards").await;
    let (status, body) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "nomemo@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
both!(
    without_memory_the_database_decides_every_attempt,
    |c: &mut koban::config::Config| { c.risk_refusal_cache_seconds = 0 }
);

/// Reminders apply live on the account page and are sent once per period.
async fn reminders_show_and_are_sent_once(t: TestApp) {
    let token = t.signed_up("remind@example.com", PASSWORD).await;
    t.exec("UPDATE accounts SET password_changed_at = 1").await;
    t.post(
        "/api/v1/sessions",
        json!({ "identifier": "remind@example.com", "password": PASSWORD }),
    )
    .await;
    t.exec("UPDATE devices SET last_seen_at = 1").await;
    let (status, reminders) = t.get(Some(&token), "/api/v1/me/reminders").await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = reminders
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "enable_two_factor",
            "review_stale_device",
            "change_old_password"
        ]
    );
    let first = koban::security::reminders::send_due(&t.app)
        .await
        .expect("send");
    assert_eq!(first, 3);
    let again = koban::security::reminders::send_due(&t.app)
        .await
        .expect("send");
    assert_eq!(again, 0, "at most once per period");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE purpose = 'security_reminder'"
        )
        .await,
        3
    );
}
both!(reminders_show_and_are_sent_once);

/// Login history past its retention is pruned by the daily job.
async fn old_login_history_is_pruned(t: TestApp) {
    t.signed_up("old@example.com", PASSWORD).await;
    t.post(
        "/api/v1/sessions",
        json!({ "identifier": "old@example.com", "password": "nope nope 1" }),
    )
    .await;
    t.post(
        "/api/v1/sessions",
        json!({ "identifier": "old@example.com", "password": PASSWORD }),
    )
    .await;
    let ancient = koban::store::now_ms() - 200 * 24 * 3_600_000;
    t.exec(&format!(
        "UPDATE login_attempts SET at = {ancient} WHERE outcome = 'wrong_password'"
    ))
    .await;
    // The worker scheduled today's daily jobs when it started; scheduling
    // again (as every node does each minute) adds nothing.
    koban::jobs::worker::schedule_periodic(&t.app).await;
    koban::jobs::worker::schedule_periodic(&t.app).await;
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'prune_login_history'"
        )
        .await,
        1
    );
    // Run the pruning job now, as tomorrow's schedule would.
    t.run_job_now(koban::security::PRUNE_LOGIN_HISTORY).await;
    for _ in 0..100 {
        if scalar(
            &t,
            "SELECT COUNT(*) FROM login_attempts WHERE outcome = 'wrong_password'",
        )
        .await
            == 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM login_attempts WHERE outcome = 'wrong_password'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM login_attempts WHERE outcome = 'success'"
        )
        .await,
        2
    );
}
both!(old_login_history_is_pruned);
