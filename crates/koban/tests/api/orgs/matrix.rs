//! The organization authorization matrix: every organization operation the
//! API document lists × a signed-out visitor, a member of every built-in
//! role, an owner of another organization and a desk admin. What each may
//! do comes from `koban_policy::org::operations::OPERATIONS`; an operation
//! missing from it fails here.

use super::*;
use crate::support::TestApp;
use koban_policy::org::operations::{operation, Access};
use koban_policy::org::roles::BuiltIn;
use reqwest::StatusCode;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    SignedOut,
    Member(BuiltIn),
    /// The owner of another organization.
    Outsider,
    DeskAdmin,
}

#[derive(Debug, PartialEq)]
enum Expected {
    Allowed,
    Unauthorized,
    Forbidden,
    NotFound,
}

fn expected(access: Access, caller: Caller) -> Expected {
    use Expected::*;
    match (access, caller) {
        (_, Caller::SignedOut) => Unauthorized,
        (Access::SignedIn, _) => Allowed,
        (Access::DeskAdmin, Caller::DeskAdmin) => Allowed,
        (Access::DeskAdmin, _) => Forbidden,
        (Access::Member(_) | Access::MemberWithBoth(..), Caller::Outsider | Caller::DeskAdmin) => {
            NotFound
        }
        (Access::MemberWithBoth(a, b), Caller::Member(role)) => {
            if role.permissions().has(a) && role.permissions().has(b) {
                Allowed
            } else {
                Forbidden
            }
        }
        (Access::Member(needed), Caller::Member(role)) => {
            if role.permissions().has(needed) {
                Allowed
            } else {
                Forbidden
            }
        }
    }
}

fn sample_body(method: &str, path: &str, version: i64) -> Value {
    match (method, path) {
        ("post", "/api/v1/orgs") | ("patch", "/api/v1/orgs/{org}") => json!({ "name": "Matrix" }),
        ("put", "/api/v1/orgs/{org}/plan") => json!({ "plan": "enterprise" }),
        ("put", "/api/v1/orgs/{org}/members/{account}/roles") => {
            json!({ "roles": ["member"], "version": version })
        }
        ("post", "/api/v1/orgs/{org}/members/{account}/devices/freeze") => {
            json!({ "reason": "matrix walk" })
        }
        ("put", "/api/v1/orgs/{org}/policy") => json!({ "max_devices": 10 }),
        ("put", "/api/v1/orgs/{org}/support-subscription") => json!({ "subscribed": true }),
        ("put", "/api/v1/orgs/{org}/access-review-schedule") => json!({ "every_days": 30 }),
        ("post", "/api/v1/orgs/{org}/tickets/{reference}/evidence") => json!({ "kind": "audit" }),
        ("put", "/api/v1/orgs/{org}/security-notice") => json!({ "body": "Lock your screen." }),
        ("post", "/api/v1/orgs/{org}/domains") => {
            json!({ "domain": "walk.example.jp", "method": "dns" })
        }
        ("patch", "/api/v1/orgs/{org}/domains/{domain}") => json!({ "auto_join": true }),
        ("put", "/api/v1/orgs/{org}/access-reviews/{review}/members/{account}") => {
            json!({ "decision": "keep" })
        }
        ("post", "/api/v1/orgs/{org}/invites") => json!({ "contact": "walk@example.com" }),
        ("post" | "put", "/api/v1/orgs/{org}/roles" | "/api/v1/orgs/{org}/roles/{role}") => {
            json!({ "name": "Matrix", "permissions": ["organization.read"] })
        }
        (
            "post",
            "/api/v1/invites/preview" | "/api/v1/invites/accept" | "/api/v1/invites/decline",
        ) => {
            json!({ "token": "not-a-token" })
        }
        _ => json!({}),
    }
}

async fn every_organization_operation_checks_who_calls(t: TestApp) {
    let owner = t.signed_up("m-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Matrix").await;
    let mut callers: Vec<(Caller, Option<String>)> = vec![(Caller::SignedOut, None)];
    for role in BuiltIn::ALL {
        let token = if role == BuiltIn::Owner {
            owner.clone()
        } else {
            member(
                &t,
                &owner,
                org,
                &format!("m-{}@example.com", role.key()),
                &[role.key()],
            )
            .await
        };
        callers.push((Caller::Member(role), Some(token)));
    }
    let outsider = t.signed_up("m-outsider@example.com", PASSWORD).await;
    new_org(&t, &outsider, "Elsewhere").await;
    callers.push((Caller::Outsider, Some(outsider)));
    callers.push((
        Caller::DeskAdmin,
        Some(t.staff("m-desk@example.com", "admin").await),
    ));
    // The one each changing operation acts on; put back before every call.
    let victim = member(&t, &owner, org, "m-victim@example.com", &["member"]).await;
    let victim_id = account_id(&t, &victim).await;
    let (_, role) = t
        .post_as(
            &owner,
            &format!("/api/v1/orgs/{org}/roles"),
            json!({ "name": "Spare", "permissions": ["members.read"] }),
        )
        .await;
    let role_id = role["key"]
        .as_str()
        .expect("key")
        .trim_start_matches("custom:")
        .to_string();
    let (_, invited) = invite(&t, &owner, org, "m-invitee@example.com", &[]).await;
    let invite_id = invited["id"].as_i64().expect("id");
    // A review in progress with the victim in it (it cannot be signed off
    // during the walk: nobody decides on everyone).
    let (status, review) = t
        .post_as(
            &owner,
            &format!("/api/v1/orgs/{org}/access-reviews"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{review}");
    let review_id = review["id"].as_i64().expect("review id");
    // A ticket on the organization's support line, opened by its owner.
    let (status, ticket) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "Matrix walk", "body": "A ticket the evidence goes to." }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let reference = ticket["reference"].as_str().expect("reference").to_string();

    let (_, doc) = t.get(None, "/api/openapi.json").await;
    let mut walked = 0;
    let mut wrong = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/orgs") && !path.starts_with("/api/v1/invites") {
            continue;
        }
        for method in item.as_object().expect("item").keys() {
            let Some(access) = operation(method, path) else {
                wrong.push(format!(
                    "{method} {path} is not in koban_policy::org::operations::OPERATIONS: declare who may call it"
                ));
                continue;
            };
            let url = path
                .replace("{org}", &org.to_string())
                .replace("{account}", &victim_id.to_string())
                .replace("{role}", &role_id)
                .replace("{invite}", &invite_id.to_string())
                .replace("{review}", &review_id.to_string())
                .replace("{item}", "devices_reviewed")
                .replace("{domain}", "matrix.example.jp")
                .replace("{reference}", &reference);
            for (caller, token) in &callers {
                restore(&t, org, victim_id, &role_id, invite_id).await;
                let version = crate::support::scalar(
                    &t,
                    &format!("SELECT version FROM org_members WHERE org_id = {org} AND account_id = {victim_id}"),
                )
                .await;
                let mut request = t
                    .http
                    .request(method.to_uppercase().parse().expect("method"), t.url(&url));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if method != "get" && method != "delete" {
                    request = request.json(&sample_body(method, path, version));
                }
                let (status, answer) = t.send(request).await;
                let want = expected(access, *caller);
                let forbidden = status == StatusCode::FORBIDDEN;
                let right = match want {
                    // Allowed may still be refused for what the call asks
                    // (a token that is nobody's: 404 for the invitee's own
                    // answers), never for who calls.
                    Expected::Allowed => {
                        status != StatusCode::UNAUTHORIZED
                            && !forbidden
                            && (status != StatusCode::NOT_FOUND
                                || path.starts_with("/api/v1/invites/")
                                || path == "/api/v1/orgs/{org}/join")
                    }
                    Expected::Unauthorized => status == StatusCode::UNAUTHORIZED,
                    Expected::Forbidden => forbidden,
                    Expected::NotFound => status == StatusCode::NOT_FOUND,
                };
                if !right {
                    wrong.push(format!(
                        "{method} {path} as {caller:?}: wanted {want:?}, got {status} {answer}"
                    ));
                }
                walked += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(walked >= 21 * 10, "walked only {walked} calls");
}
both!(every_organization_operation_checks_who_calls);

/// Puts the victim, the spare role and the invitation back as they were,
/// so each call meets the same organization.
async fn restore(t: &TestApp, org: i64, victim: i64, role_id: &str, invite_id: i64) {
    t.exec(&format!(
        "INSERT INTO org_members (org_id, account_id, display_name, status, roles, version, joined_at, updated_at)
         VALUES ({org}, {victim}, '', 'active', 'member', 1, 0, 0) ON CONFLICT (org_id, account_id) DO NOTHING"
    ))
    .await;
    t.exec(&format!(
        "UPDATE org_members SET status = 'active', roles = 'member', status_reason = NULL WHERE org_id = {org} AND account_id = {victim}"
    ))
    .await;
    t.exec(&format!(
        "INSERT INTO org_roles (id, org_id, name, permissions, created_at, updated_at)
         VALUES ({role_id}, {org}, 'Spare', 'members.read', 0, 0) ON CONFLICT (id) DO NOTHING"
    ))
    .await;
    t.exec(&format!(
        "UPDATE org_roles SET name = 'Spare' WHERE id = {role_id}"
    ))
    .await;
    t.exec(&format!(
        "DELETE FROM org_roles WHERE org_id = {org} AND name = 'Matrix'"
    ))
    .await;
    t.exec(&format!(
        "UPDATE org_invites SET status = 'pending' WHERE id = {invite_id}"
    ))
    .await;
    t.exec(&format!("UPDATE org_invites SET status = 'revoked' WHERE org_id = {org} AND id <> {invite_id} AND status = 'pending'")).await;
    t.exec(&format!(
        "UPDATE orgs SET name = 'Matrix', plan = 'standard' WHERE id = {org}"
    ))
    .await;
    // A domain proven by a code, so verifying it without one asks for one
    // (no DNS lookup during the walk).
    t.exec(&format!(
        "INSERT INTO org_domains (org_id, domain, method, token, mailbox, status, created_by, created_at)
         VALUES ({org}, 'matrix.example.jp', 'email', 't', 'admin', 'pending', {victim}, 0)
         ON CONFLICT (org_id, domain) DO NOTHING"
    ))
    .await;
}

#[test]
fn the_matrix_reads_the_table() {
    use koban_policy::org::roles::Permission;
    use Expected::*;
    let manage = Access::Member(Permission::ManageRoles);
    assert_eq!(
        expected(manage, Caller::Member(BuiltIn::Auditor)),
        Forbidden
    );
    assert_eq!(expected(manage, Caller::Member(BuiltIn::Admin)), Allowed);
    assert_eq!(expected(manage, Caller::Outsider), NotFound);
    assert_eq!(expected(manage, Caller::SignedOut), Unauthorized);
    assert_eq!(
        expected(Access::DeskAdmin, Caller::Member(BuiltIn::Owner)),
        Forbidden
    );
}
