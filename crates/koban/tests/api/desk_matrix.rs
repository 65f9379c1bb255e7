//! The desk's permission matrix: every `/api/v1/desk/…` operation the API
//! document lists × a signed-out visitor, an ordinary user (not the
//! requester), the requester, an agent, a supervisor and a desk admin, on
//! a ticket that exists. What each may do comes from one table,
//! `koban_policy::desk::permissions::OPERATIONS`, which the handlers use
//! too; an operation missing from it fails here, so a new endpoint has to
//! declare who may call it.

use crate::support::TestApp;
use koban_policy::desk::permissions::{operation, Access, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    SignedOut,
    OtherUser,
    Requester,
    Staff(Role),
}

/// What a caller must get.
#[derive(Debug, PartialEq)]
enum Expected {
    Allowed,
    Unauthorized,
    Forbidden,
    NotFound,
}

/// The matrix, from the one table.
fn expected(access: Access, caller: Caller) -> Expected {
    use Expected::*;
    match (access, caller) {
        (Access::Public, _) => Allowed,
        (_, Caller::SignedOut) => Unauthorized,
        (Access::Requester | Access::RequesterOnly, Caller::OtherUser) => NotFound,
        (Access::RequesterOnly, Caller::Requester) => Allowed,
        (Access::RequesterOnly, Caller::Staff(_)) => Forbidden,
        (Access::Requester, _) => Allowed,
        (Access::StaffOnTicket(_), Caller::OtherUser) => NotFound,
        (Access::StaffOnTicket(_) | Access::Staff(_), Caller::OtherUser | Caller::Requester) => {
            Forbidden
        }
        (Access::StaffOnTicket(need) | Access::Staff(need), Caller::Staff(role)) => {
            if role >= need {
                Allowed
            } else {
                Forbidden
            }
        }
    }
}

/// A body the operation accepts, so that what answers is the permission
/// check and not the body's validation. Operations not named send `{}`.
fn sample_body(method: &str, path: &str, reference: &str) -> Value {
    match (method, path) {
        ("post", "/api/v1/desk/tickets") => {
            json!({ "subject": "matrix", "body": "cannot sign in", "email": "walker@example.com" })
        }
        ("patch", "/api/v1/desk/tickets/{reference}") => json!({ "priority": "high" }),
        ("post", "/api/v1/desk/tickets/{reference}/messages") => json!({ "body": "matrix" }),
        ("post", "/api/v1/desk/tickets/{reference}/escalate") => {
            json!({ "reason": "matrix walk: no answer for days" })
        }
        ("post", "/api/v1/desk/triage") => json!({ "subject": "locked", "body": "cannot sign in" }),
        ("post", "/api/v1/desk/tickets/{reference}/verifications/{id}/check") => {
            json!({ "code": "000000" })
        }
        ("post", "/api/v1/desk/tickets/{reference}/account-actions") => {
            json!({ "action": "unlock", "reason": "matrix walk" })
        }
        ("post", "/api/v1/desk/lookups") => json!({ "reference": reference }),
        ("post", "/api/v1/desk/lookups/check") => {
            json!({ "reference": reference, "code": "000000" })
        }
        ("put", "/api/v1/desk/agents/{account_id}") => json!({ "role": "user" }),
        ("post", "/api/v1/desk/tickets/{reference}/verifications/documented") => {
            json!({ "answers": "matrix walk: answers recorded" })
        }
        ("post", "/api/v1/desk/tickets/{reference}/verifications/{id}/decision") => {
            json!({ "approve": false })
        }
        ("post", "/api/v1/desk/triage/phrases") => {
            json!({ "target": "privacy", "phrase": "matrix walk", "weight": 1 })
        }
        (
            "post" | "put",
            "/api/v1/desk/canned-responses" | "/api/v1/desk/canned-responses/{id}",
        ) => {
            json!({ "name": "matrix", "bodies": { "en": "Hello {{requester.name}}" } })
        }
        ("post" | "put", "/api/v1/desk/macros" | "/api/v1/desk/macros/{id}") => {
            json!({ "name": "matrix", "status": "pending" })
        }
        ("put", "/api/v1/desk/forms/{category}") => {
            json!({ "required": ["subject", "body"], "optional": [] })
        }
        ("post", "/api/v1/desk/tickets/{reference}/merge") => json!({ "into": reference }),
        ("post", "/api/v1/desk/tickets/{reference}/split") => json!({ "message_ids": [1] }),
        ("post", "/api/v1/desk/tickets/bulk") => {
            json!({ "tickets": [{ "reference": reference }], "changes": { "priority": "high" } })
        }
        ("post", "/api/v1/desk/mail/{id}/place") => json!({ "action": "discard" }),
        (
            "post",
            "/api/v1/desk/tickets/{reference}/satisfaction" | "/api/v1/desk/surveys/{token}",
        ) => json!({ "score": 5 }),
        _ => json!({}),
    }
}

async fn every_desk_operation_checks_who_calls(t: TestApp) {
    let requester = t
        .signed_up("asker@example.com", "correct horse battery")
        .await;
    let other = t
        .signed_up("other@example.com", "correct horse battery")
        .await;
    let target = t
        .signed_up("target@example.com", "correct horse battery")
        .await;
    let agent = t.staff("m.agent@example.com", "agent").await;
    let supervisor = t.staff("m.supervisor@example.com", "supervisor").await;
    let admin = t.staff("m.admin@example.com", "admin").await;
    let (_, opened) = t
        .post_as(
            &requester,
            "/api/v1/desk/tickets",
            json!({ "subject": "locked out", "body": "new phone, cannot sign in" }),
        )
        .await;
    let reference = opened["reference"].as_str().expect("reference").to_string();
    let (status, started) = t
        .post_as(
            &agent,
            &format!("/api/v1/desk/tickets/{reference}/verifications"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let verification = started["id"].as_i64().expect("id").to_string();
    let (_, me) = t.get(Some(&target), "/api/v1/me").await;
    let target_id = me["id"].as_i64().expect("id").to_string();
    let callers: [(Caller, Option<&str>); 6] = [
        (Caller::SignedOut, None),
        (Caller::OtherUser, Some(&other)),
        (Caller::Requester, Some(&requester)),
        (Caller::Staff(Role::Agent), Some(&agent)),
        (Caller::Staff(Role::Supervisor), Some(&supervisor)),
        (Caller::Staff(Role::Admin), Some(&admin)),
    ];
    let (_, doc) = t.get(None, "/api/openapi.json").await;
    let mut walked = 0;
    let mut wrong = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/desk/") {
            continue;
        }
        for method in item.as_object().expect("item").keys() {
            let Some(access) = operation(method, path) else {
                wrong.push(format!(
                    "{method} {path} is not in koban_policy::desk::permissions::OPERATIONS: declare who may call it"
                ));
                continue;
            };
            // Parameters this walk cannot fill with a real thing get 1, and
            // then "not found" is a fair answer for those allowed.
            let filled = [
                "/api/v1/desk/tickets/{reference}/verifications/{id}/check",
                "/api/v1/desk/agents/{account_id}",
            ];
            let unknown_parameter = !filled.contains(&path.as_str())
                && path.matches('{').count() > usize::from(path.contains("{reference}"));
            let url = path
                .replace("{reference}", &reference)
                .replace("{id}", &verification)
                .replace("{account_id}", &target_id);
            let url = fill_unknown(&url);
            let body = sample_body(method, path, &reference);
            for (caller, token) in callers {
                let mut request = t
                    .http
                    .request(method.to_uppercase().parse().expect("method"), t.url(&url));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if method != "get" {
                    request = request.json(&body);
                }
                let (status, answer) = t.send(request).await;
                let kind = answer["type"].as_str().unwrap_or("");
                let want = expected(access, caller);
                let right = match want {
                    Expected::Allowed => {
                        status != StatusCode::UNAUTHORIZED
                            && kind != "/problems/forbidden"
                            && (status != StatusCode::NOT_FOUND || unknown_parameter)
                    }
                    Expected::Unauthorized => status == StatusCode::UNAUTHORIZED,
                    Expected::Forbidden => kind == "/problems/forbidden",
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
    assert!(walked >= 14 * 6, "walked only {walked} calls");
}
both!(every_desk_operation_checks_who_calls);

/// Fills the path parameters left with 1.
fn fill_unknown(url: &str) -> String {
    url.split('/')
        .map(|s| if s.starts_with('{') { "1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_matrix_reads_the_table() {
    use Expected::*;
    let ticket = Access::StaffOnTicket(Role::Agent);
    assert_eq!(expected(ticket, Caller::OtherUser), NotFound);
    assert_eq!(expected(ticket, Caller::Requester), Forbidden);
    assert_eq!(
        expected(Access::Staff(Role::Admin), Caller::Staff(Role::Supervisor)),
        Forbidden
    );
    assert_eq!(expected(Access::Requester, Caller::SignedOut), Unauthorized);
    assert_eq!(expected(Access::Public, Caller::SignedOut), Allowed);
}
