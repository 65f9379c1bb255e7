//! The role rules through the API: no escalation, the last owner stays,
//! concurrent changes, custom roles, suspension, and tenant isolation.

use super::*;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

async fn roles_cannot_escalate_and_the_last_owner_stays(t: TestApp) {
    let owner = t.signed_up("o@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Rules").await;
    let admin = member(&t, &owner, org, "admin@example.com", &["admin"]).await;
    let plain = member(&t, &owner, org, "plain@example.com", &["member"]).await;
    let owner_id = account_id(&t, &owner).await;
    let plain_id = account_id(&t, &plain).await;
    let admin_id = account_id(&t, &admin).await;
    let roles_of = |id: i64| format!("/api/v1/orgs/{org}/members/{id}/roles");

    // An admin cannot make anyone an owner, nor invite one.
    let v = member_row(&t, &admin, org, plain_id).await["version"].clone();
    let (status, body) = put(
        &t,
        &admin,
        &roles_of(plain_id),
        json!({ "roles": ["owner"], "version": v }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(kind(&body), "/problems/org-permission-not-held");
    assert_eq!(body["permission"], "organization.own");
    let (status, _) = invite(&t, &admin, org, "boss@example.com", &["owner"]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor demote the owner.
    let v = member_row(&t, &admin, org, owner_id).await["version"].clone();
    let (status, body) = put(
        &t,
        &admin,
        &roles_of(owner_id),
        json!({ "roles": ["member"], "version": v }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(kind(&body), "/problems/org-member-outranks-you");
    // A plain member changes nobody.
    let v = member_row(&t, &plain, org, admin_id).await["version"].clone();
    let (status, body) = put(
        &t,
        &plain,
        &roles_of(admin_id),
        json!({ "roles": ["member"], "version": v }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(kind(&body), "/problems/org-permission-missing");
    // The only owner can neither step down nor leave nor be suspended.
    let v = member_row(&t, &owner, org, owner_id).await["version"].clone();
    let (status, body) = put(
        &t,
        &owner,
        &roles_of(owner_id),
        json!({ "roles": ["admin"], "version": v }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(kind(&body), "/problems/org-last-owner");
    let (status, body) = t
        .delete(&owner, &format!("/api/v1/orgs/{org}/members/{owner_id}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = t
        .post_as(
            &owner,
            &format!("/api/v1/orgs/{org}/members/{owner_id}/suspension"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // With a second owner, the first may step down.
    let v = member_row(&t, &owner, org, admin_id).await["version"].clone();
    let (status, body) = put(
        &t,
        &owner,
        &roles_of(admin_id),
        json!({ "roles": ["owner"], "version": v }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = member_row(&t, &owner, org, owner_id).await["version"].clone();
    let (status, body) = put(
        &t,
        &owner,
        &roles_of(owner_id),
        json!({ "roles": ["admin"], "version": v }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["admin"]));
    // Unknown roles, no roles and stale versions change nothing.
    let v = member_row(&t, &admin, org, plain_id).await["version"]
        .as_i64()
        .expect("v");
    for (body, status_wanted) in [
        (
            json!({ "roles": ["emperor"], "version": v }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "roles": [], "version": v }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "roles": ["auditor"], "version": v - 1 }),
            StatusCode::CONFLICT,
        ),
        (
            json!({ "roles": ["auditor"] }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, answer) = put(&t, &admin, &roles_of(plain_id), body).await;
        assert_eq!(status, status_wanted, "{answer}");
    }
    assert_eq!(
        member_row(&t, &admin, org, plain_id).await["roles"],
        json!(["member"])
    );
}
both!(roles_cannot_escalate_and_the_last_owner_stays);

async fn two_admins_changing_one_member_at_once_cannot_merge_their_changes(t: TestApp) {
    let owner = t.signed_up("co@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Race").await;
    let first = member(&t, &owner, org, "first@example.com", &["admin"]).await;
    let second = member(&t, &owner, org, "second@example.com", &["admin"]).await;
    let target = member(&t, &owner, org, "target@example.com", &["member"]).await;
    let target_id = account_id(&t, &target).await;
    let path = format!("/api/v1/orgs/{org}/members/{target_id}/roles");
    for round in 0..5 {
        let v = member_row(&t, &owner, org, target_id).await["version"].clone();
        let (a, b) = tokio::join!(
            put(
                &t,
                &first,
                &path,
                json!({ "roles": ["auditor"], "version": v })
            ),
            put(
                &t,
                &second,
                &path,
                json!({ "roles": ["broadcaster", "support_contact"], "version": v })
            ),
        );
        let statuses = [a.0, b.0];
        assert!(
            statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT),
            "round {round}: one wins, the other is told: {a:?} {b:?}"
        );
        let now = member_row(&t, &owner, org, target_id).await;
        let winner = if a.0 == StatusCode::OK { a.1 } else { b.1 };
        assert_eq!(now["roles"], winner["roles"], "round {round}");
    }
    // Two owners demoting each other at once leave one owner, never none.
    let first_id = account_id(&t, &first).await;
    let owner_id = account_id(&t, &owner).await;
    let v = member_row(&t, &owner, org, first_id).await["version"].clone();
    let (status, _) = put(
        &t,
        &owner,
        &format!("/api/v1/orgs/{org}/members/{first_id}/roles"),
        json!({ "roles": ["owner"], "version": v }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v_first = member_row(&t, &owner, org, first_id).await["version"].clone();
    let v_owner = member_row(&t, &owner, org, owner_id).await["version"].clone();
    let (first_path, owner_path) = (
        format!("/api/v1/orgs/{org}/members/{first_id}/roles"),
        format!("/api/v1/orgs/{org}/members/{owner_id}/roles"),
    );
    let (a, b) = tokio::join!(
        put(
            &t,
            &owner,
            &first_path,
            json!({ "roles": ["member"], "version": v_first })
        ),
        put(
            &t,
            &first,
            &owner_path,
            json!({ "roles": ["member"], "version": v_owner })
        ),
    );
    let owners = crate::support::scalar(
        &t,
        &format!("SELECT COUNT(*) FROM org_members WHERE org_id = {org} AND status = 'active' AND roles LIKE '%owner%'"),
    )
    .await;
    assert_eq!(owners, 1, "{a:?} {b:?}");
}
both!(two_admins_changing_one_member_at_once_cannot_merge_their_changes);

async fn custom_roles_suspension_and_other_organizations(t: TestApp) {
    let owner = t.signed_up("cr@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Custom").await;
    let sec = member(&t, &owner, org, "sec@example.com", &["security_admin"]).await;
    let admin = member(&t, &owner, org, "adm@example.com", &["admin"]).await;
    let roles = format!("/api/v1/orgs/{org}/roles");

    let (status, listed) = t.get(Some(&sec), &roles).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().expect("roles").len(), 7, "{listed}");
    // Ownership never goes into a custom role; a security admin writes none.
    let (status, body) = t
        .post_as(
            &owner,
            &roles,
            json!({ "name": "Regent", "permissions": ["organization.own"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = t
        .post_as(
            &sec,
            &roles,
            json!({ "name": "Watcher", "permissions": ["audit.read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = t
        .post_as(
            &admin,
            &roles,
            json!({ "name": "Watcher", "permissions": ["audit.read", "devices.read", "bogus"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, watcher) = t
        .post_as(
            &admin,
            &roles,
            json!({ "name": "Watcher", "permissions": ["audit.read", "devices.read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{watcher}");
    let key = watcher["key"].as_str().expect("key").to_string();
    let (status, _) = t
        .post_as(
            &admin,
            &roles,
            json!({ "name": "Watcher", "permissions": ["audit.read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let viewer = member(&t, &owner, org, "viewer@example.com", &[&key]).await;
    let (_, shown) = t.get(Some(&viewer), &format!("/api/v1/orgs/{org}")).await;
    assert_eq!(
        shown["permissions"],
        json!(["organization.read", "devices.read", "audit.read"])
    );
    let role_id = key.trim_start_matches("custom:");
    let (status, body) = t.delete(&admin, &format!("{roles}/{role_id}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(kind(&body), "/problems/org-role-in-use");

    // Suspended: the member can do nothing until reinstated.
    let viewer_id = account_id(&t, &viewer).await;
    let suspension = format!("/api/v1/orgs/{org}/members/{viewer_id}/suspension");
    let (status, body) = t
        .post_as(&admin, &suspension, json!({ "reason": "left the company" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "suspended");
    assert_eq!(body["status_reason"], "left the company");
    let (status, body) = t.get(Some(&viewer), &format!("/api/v1/orgs/{org}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(kind(&body), "/problems/org-member-suspended");
    let (status, body) = t.delete(&admin, &suspension).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = t.get(Some(&viewer), &format!("/api/v1/orgs/{org}")).await;
    assert_eq!(status, StatusCode::OK);
    // Its role gives no directory: refused for the permission, by name.
    let (status, body) = t
        .get(Some(&viewer), &format!("/api/v1/orgs/{org}/members"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["permission"], "members.read");

    // Another organization's owner sees none of this: 404, never 403.
    let rival = t.signed_up("rival@example.com", PASSWORD).await;
    let rival_org = new_org(&t, &rival, "Rival").await;
    for path in [
        format!("/api/v1/orgs/{org}"),
        format!("/api/v1/orgs/{org}/members"),
        format!("/api/v1/orgs/{org}/members/{viewer_id}"),
        format!("/api/v1/orgs/{org}/roles"),
        format!("/api/v1/orgs/{org}/invites"),
    ] {
        let (status, _) = t.get(Some(&rival), &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = t
        .delete(&rival, &format!("/api/v1/orgs/{org}/members/{viewer_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The owner of one cannot reach the other's member through their own.
    let (status, _) = t
        .get(Some(&owner), &format!("/api/v1/orgs/{rival_org}/members"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The directory searches names, emails and phones, with paging.
    let (status, found) = t
        .get(
            Some(&admin),
            &format!("/api/v1/orgs/{org}/members?search=VIEW&limit=1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["items"][0]["email"], "viewer@example.com");
    let (_, page1) = t
        .get(Some(&admin), &format!("/api/v1/orgs/{org}/members?limit=2"))
        .await;
    let cursor = page1["next_cursor"].as_str().expect("more").to_string();
    let (_, page2) = t
        .get(
            Some(&admin),
            &format!("/api/v1/orgs/{org}/members?limit=2&cursor={cursor}"),
        )
        .await;
    let ids = |p: &Value| -> Vec<i64> {
        p["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|m| m["account_id"].as_i64().expect("id"))
            .collect()
    };
    let (a, b) = (ids(&page1), ids(&page2));
    assert_eq!(a.len() + b.len(), 4, "{a:?} {b:?}");
    assert!(
        a.iter().all(|x| b.iter().all(|y| x > y)),
        "{a:?} then {b:?}"
    );
    let (status, none) = t
        .get(
            Some(&admin),
            &format!("/api/v1/orgs/{org}/members?search=%25"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        none["items"].as_array().expect("items").len(),
        0,
        "a % is searched for, not a wildcard"
    );
    for bad in ["status=gone", "limit=0", "cursor=nonsense", "role=a,b"] {
        let (status, _) = t
            .get(Some(&admin), &format!("/api/v1/orgs/{org}/members?{bad}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}
both!(custom_roles_suspension_and_other_organizations);
