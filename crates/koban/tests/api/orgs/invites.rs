//! Creating an organization, inviting by link and by code, and every way
//! an invitation is refused.

use super::*;
use crate::support::TestApp;
use koban::audit;
use reqwest::StatusCode;
use serde_json::json;

async fn an_owner_invites_and_the_person_joins_by_the_link(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let (status, created) = t
        .post_as(
            &owner,
            "/api/v1/orgs",
            json!({ "name": "  さくら商事  ", "description": "Tokyo" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["organization"]["name"], "さくら商事");
    assert_eq!(created["organization"]["plan"], "standard");
    assert_eq!(created["roles"], json!(["owner"]));
    let org = created["organization"]["id"].as_i64().expect("id");

    let (status, sent) = invite(&t, &owner, org, "Mei@Example.com", &["auditor"]).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["contact"], "mei@example.com");
    assert_eq!(sent["roles"], json!(["auditor"]));
    assert_eq!(sent["status"], "pending");
    assert!(sent.get("code_hash").is_none(), "{sent}");
    let (token, _) = invitation(&t, "mei@example.com").await;
    let message = t.newest_delivery_of("org_invite", "mei@example.com").await;
    assert!(message.contains("さくら商事"), "{message}");

    // Someone else, signed in, cannot even see it.
    let stranger = t.signed_up("stranger@example.com", PASSWORD).await;
    let (status, _) = t
        .post_as(
            &stranger,
            "/api/v1/invites/preview",
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .post_as(
            &stranger,
            "/api/v1/invites/accept",
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mei = t.signed_up("mei@example.com", PASSWORD).await;
    let (status, preview) = t
        .post_as(&mei, "/api/v1/invites/preview", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["organization_name"], "さくら商事");
    let (status, accepted) = t
        .post_as(&mei, "/api/v1/invites/accept", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "accepted");

    // Replayed: gone, and nothing changes.
    let (status, again) = t
        .post_as(&mei, "/api/v1/invites/accept", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::GONE, "{again}");
    assert_eq!(kind(&again), "/problems/org-invite-decided");

    let (status, mine) = t.get(Some(&mei), "/api/v1/orgs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine[0]["organization"]["id"], org);
    assert_eq!(mine[0]["roles"], json!(["auditor"]));
    assert!(mine[0]["permissions"]
        .as_array()
        .expect("permissions")
        .contains(&json!("audit.export")));
    let (_, directory) = t
        .get(Some(&owner), &format!("/api/v1/orgs/{org}/members"))
        .await;
    let emails: Vec<&str> = directory["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["email"].as_str())
        .collect();
    assert_eq!(emails, ["mei@example.com", "owner@example.com"]);

    // Every step is in the organization's chain, which is intact.
    let scope = format!("org:{org}");
    let verification = audit::verify(&t.app.store, &t.app.key, &scope)
        .await
        .expect("verify");
    assert_eq!(verification.broken, None);
    let actions: Vec<String> = sqlx::query_scalar::<_, String>(
        "SELECT action FROM audit_entries WHERE scope = $1 ORDER BY seq",
    )
    .bind(&scope)
    .fetch_all(t.app.store.read())
    .await
    .expect("entries");
    assert_eq!(
        actions,
        ["organization.created", "invite.sent", "member.joined"]
    );
}
both!(an_owner_invites_and_the_person_joins_by_the_link);

async fn an_invitation_by_code_counts_wrong_codes_and_stays_in_its_organization(t: TestApp) {
    let owner = t.signed_up("owner2@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Siam Trading").await;
    let other_org = new_org(&t, &owner, "Other").await;
    let (status, _) = invite(&t, &owner, org, "somchai@example.com", &[]).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, code) = invitation(&t, "somchai@example.com").await;
    let somchai = t.signed_up("somchai@example.com", PASSWORD).await;

    // The right code for another organization opens nothing.
    let (status, _) = t
        .post_as(
            &somchai,
            "/api/v1/invites/accept",
            json!({ "organization_id": other_org, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Neither token nor code, or both: said so.
    let (status, body) = t
        .post_as(&somchai, "/api/v1/invites/accept", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["code"], "token_or_code");

    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for _ in 0..5 {
        let (status, body) = t
            .post_as(
                &somchai,
                "/api/v1/invites/accept",
                json!({ "organization_id": org, "code": wrong }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["errors"][0]["code"], "code_invalid");
    }
    // Five wrong codes: the right one no longer works either.
    let (status, body) = t
        .post_as(
            &somchai,
            "/api/v1/invites/accept",
            json!({ "organization_id": org, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(kind(&body), "/problems/org-invite-code-locked");
    let (status, _) = t.get(Some(&somchai), &format!("/api/v1/orgs/{org}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a member");

    // The link still works, for declining too.
    let (token, _) = invitation(&t, "somchai@example.com").await;
    let (status, declined) = t
        .post_as(
            &somchai,
            "/api/v1/invites/decline",
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{declined}");
    assert_eq!(declined["status"], "declined");
    let (status, _) = t.get(Some(&somchai), &format!("/api/v1/orgs/{org}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A second invitation, accepted by its code.
    let (status, _) = invite(&t, &owner, org, "somchai@example.com", &["broadcaster"]).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, code) = invitation(&t, "somchai@example.com").await;
    let (status, body) = t
        .post_as(
            &somchai,
            "/api/v1/invites/accept",
            json!({ "organization_id": org, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, shown) = t.get(Some(&somchai), &format!("/api/v1/orgs/{org}")).await;
    assert_eq!(shown["roles"], json!(["broadcaster"]));
}
both!(an_invitation_by_code_counts_wrong_codes_and_stays_in_its_organization);

async fn expired_revoked_and_duplicate_invitations_are_refused(t: TestApp) {
    let owner = t.signed_up("owner3@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Expiry").await;
    let (status, sent) = invite(&t, &owner, org, "late@example.com", &[]).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = invite(&t, &owner, org, "LATE@example.com", &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(kind(&body), "/problems/org-invite-pending");
    let (token, _) = invitation(&t, "late@example.com").await;
    let late = t.signed_up("late@example.com", PASSWORD).await;
    t.exec(&format!(
        "UPDATE org_invites SET expires_at = 1 WHERE id = {}",
        sent["id"]
    ))
    .await;
    let (status, body) = t
        .post_as(&late, "/api/v1/invites/accept", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_eq!(kind(&body), "/problems/org-invite-expired");

    // An expired invitation does not block a new one; a revoked one is gone.
    let (status, second) = invite(&t, &owner, org, "late@example.com", &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let (token, _) = invitation(&t, "late@example.com").await;
    let (status, _) = t
        .delete(
            &owner,
            &format!("/api/v1/orgs/{org}/invites/{}", second["id"]),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = t
        .post_as(&late, "/api/v1/invites/accept", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    let (status, _) = t
        .delete(
            &owner,
            &format!("/api/v1/orgs/{org}/invites/{}", second["id"]),
        )
        .await;
    assert_eq!(status, StatusCode::GONE);

    // Bad contacts and unknown roles change nothing.
    for (contact, roles, field) in [
        ("not an address", json!([]), "contact"),
        ("ok@example.com", json!(["emperor"]), "roles"),
    ] {
        let (status, body) = t
            .post_as(
                &owner,
                &format!("/api/v1/orgs/{org}/invites"),
                json!({ "contact": contact, "roles": roles }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    // A member already in is not invited again.
    let (status, body) = invite(&t, &owner, org, "owner3@example.com", &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(kind(&body), "/problems/org-already-member");
    let (_, pending) = t
        .get(Some(&owner), &format!("/api/v1/orgs/{org}/invites"))
        .await;
    assert_eq!(
        pending["items"].as_array().expect("items").len(),
        0,
        "{pending}"
    );
    // A blank or over-long name creates nothing.
    for name in ["   ", &"長".repeat(101)] {
        let (status, _) = t
            .post_as(&owner, "/api/v1/orgs", json!({ "name": name }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(t.count("orgs").await, 1);
}
both!(expired_revoked_and_duplicate_invitations_are_refused);

async fn the_plan_is_set_by_desk_admins_and_recorded_in_both_chains(t: TestApp) {
    let owner = t.signed_up("plan@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Planned").await;
    let desk = t.staff("plan-desk@example.com", "admin").await;
    let plan = format!("/api/v1/orgs/{org}/plan");
    let (status, _) = put(&t, &owner, &plan, json!({ "plan": "enterprise" })).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the owner does not pick the tier"
    );
    let (status, body) = put(&t, &desk, &plan, json!({ "plan": "platinum" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = put(
        &t,
        &desk,
        "/api/v1/orgs/999999/plan",
        json!({ "plan": "enterprise" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = put(&t, &desk, &plan, json!({ "plan": "enterprise" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, shown) = t.get(Some(&owner), &format!("/api/v1/orgs/{org}")).await;
    assert_eq!(shown["organization"]["plan"], "enterprise");
    for scope in [format!("org:{org}"), "platform".to_string()] {
        let n = crate::support::scalar(
            &t,
            &format!("SELECT COUNT(*) FROM audit_entries WHERE scope = '{scope}' AND action = 'organization.plan_changed'"),
        )
        .await;
        assert_eq!(n, 1, "{scope}");
        let verified = audit::verify(&t.app.store, &t.app.key, &scope)
            .await
            .expect("verify");
        assert_eq!(verified.broken, None, "{scope}");
    }
}
both!(the_plan_is_set_by_desk_admins_and_recorded_in_both_chains);
