//! Desk role administration through the API: only desk admins, nobody
//! above their own rank, the last admin stays (also when two admins demote
//! each other at once), every change recorded with who made it.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The account id behind a session.
async fn account_id(t: &TestApp, token: &str) -> i64 {
    let (status, me) = t.get(Some(token), "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me["id"].as_i64().expect("id")
}

async fn put_role(t: &TestApp, token: &str, id: i64, role: &str) -> (StatusCode, Value) {
    t.send(
        t.http
            .put(t.url(&format!("/api/v1/desk/agents/{id}")))
            .bearer_auth(token)
            .json(&json!({ "role": role })),
    )
    .await
}

async fn desk_admins_give_roles_within_their_own_rank(t: TestApp) {
    let admin = t.staff("boss@example.com", "admin").await;
    let supervisor = t.staff("lead@example.com", "supervisor").await;
    let user = t
        .signed_up("newhire@example.com", "correct horse battery")
        .await;
    let (admin_id, user_id) = (account_id(&t, &admin).await, account_id(&t, &user).await);
    // Only desk admins see or change roles.
    let (status, _) = t.get(Some(&supervisor), "/api/v1/desk/agents").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.get(None, "/api/v1/desk/agents").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = put_role(&t, &supervisor, user_id, "admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = put_role(&t, &user, user_id, "agent").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad role, unknown account.
    let (status, problem) = put_role(&t, &admin, user_id, "root").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "role", "{problem}");
    let (status, _) = put_role(&t, &admin, 999_999, "agent").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The last admin stays.
    let (status, problem) = put_role(&t, &admin, admin_id, "supervisor").await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/last-admin");
    assert_eq!(t.count("desk_role_changes").await, 0);
    // A change, listed and recorded with who made it.
    let (status, body) = put_role(&t, &admin, user_id, "agent").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = t.get(Some(&user), "/api/v1/desk/tickets").await;
    assert_eq!(status, StatusCode::OK, "the new agent sees the queue");
    let (status, listing) = t.get(Some(&admin), "/api/v1/desk/agents").await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let agents = listing["agents"].as_array().expect("agents");
    assert!(agents
        .iter()
        .any(|a| a["account_id"] == user_id && a["role"] == "agent"));
    assert_eq!(listing["changes"][0]["account_id"], user_id);
    assert_eq!(listing["changes"][0]["from_role"], "user");
    assert_eq!(listing["changes"][0]["to_role"], "agent");
    assert_eq!(listing["changes"][0]["changed_by"], admin_id);
}
both!(desk_admins_give_roles_within_their_own_rank);

async fn two_admins_demoting_each_other_at_once_leave_one(t: TestApp) {
    let first = t.staff("first@example.com", "admin").await;
    let second = t.staff("second@example.com", "admin").await;
    let (first_id, second_id) = (account_id(&t, &first).await, account_id(&t, &second).await);
    let (a, b) = tokio::join!(
        put_role(&t, &first, second_id, "user"),
        put_role(&t, &second, first_id, "user"),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    // The loser is refused: as the last admin's target (409), or because
    // the winner already took its admin role away (403).
    assert_eq!(statuses[0], StatusCode::NO_CONTENT, "{a:?} {b:?}");
    assert!(statuses[1].is_client_error(), "{a:?} {b:?}");
    assert_eq!(t.count("accounts WHERE role = 'admin'").await, 1);
    assert_eq!(t.count("desk_role_changes").await, 1);
}
both!(two_admins_demoting_each_other_at_once_leave_one);
