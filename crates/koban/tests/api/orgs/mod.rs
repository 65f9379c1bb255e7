//! Organizations through the API on both databases: creating one,
//! inviting and joining, the role rules, concurrent changes, tenant
//! isolation, and the authorization matrix.

mod audit;
mod devices;
mod directory_search;
mod domains;
mod import;
mod invites;
mod matrix;
mod onboarding;
mod pages_home;
mod pages_matrix;
mod pages_members;
mod pages_oversight;
mod pages_settings;
mod pages_support;
mod pages_upload;
mod policies;
mod reviews;
mod roles;
mod support;

use crate::security_pages::{location, Pages};
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery";

/// Creates an organization as `token`; returns its id.
pub async fn new_org(t: &TestApp, token: &str, name: &str) -> i64 {
    let (status, body) = t
        .post_as(token, "/api/v1/orgs", json!({ "name": name }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["organization"]["id"].as_i64().expect("id")
}

/// The account id behind a token.
pub async fn account_id(t: &TestApp, token: &str) -> i64 {
    let (_, me) = t.get(Some(token), "/api/v1/me").await;
    me["id"].as_i64().expect("id")
}

/// The token and code of the newest invitation sent to `contact`.
pub async fn invitation(t: &TestApp, contact: &str) -> (String, String) {
    let body = t.newest_delivery_of("org_invite", contact).await;
    let token = body
        .split("/invites/")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| c.is_whitespace()).next())
        .expect("a link in the invitation")
        .to_string();
    let code = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 8)
        .expect("an 8-digit code in the invitation")
        .to_string();
    (token, code)
}

/// Invites `email` into `roles` as `inviter`; returns the invitation.
pub async fn invite(
    t: &TestApp,
    inviter: &str,
    org: i64,
    email: &str,
    roles: &[&str],
) -> (StatusCode, Value) {
    t.post_as(
        inviter,
        &format!("/api/v1/orgs/{org}/invites"),
        json!({ "contact": email, "roles": roles }),
    )
    .await
}

/// Signs `email` up and makes it a member of `org` with `roles`, through an
/// invitation by `owner`; returns its token.
pub async fn member(t: &TestApp, owner: &str, org: i64, email: &str, roles: &[&str]) -> String {
    let (status, body) = invite(t, owner, org, email, roles).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (token, _) = invitation(t, email).await;
    let joined = t.signed_up(email, PASSWORD).await;
    let (status, body) = t
        .post_as(&joined, "/api/v1/invites/accept", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    joined
}

/// PUT with a bearer token and JSON.
pub async fn put(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    t.send(t.http.put(t.url(path)).bearer_auth(token).json(&body))
        .await
}

/// A member as the API shows it.
pub async fn member_row(t: &TestApp, token: &str, org: i64, account: i64) -> Value {
    let (status, body) = t
        .get(
            Some(token),
            &format!("/api/v1/orgs/{org}/members/{account}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The problem type of an answer.
pub fn kind(body: &Value) -> &str {
    body["type"].as_str().unwrap_or("")
}

/// The organization pages as `email` (signed in with [`PASSWORD`]).
pub async fn pages_of(t: &TestApp, email: &str) -> Pages {
    let mut pages = Pages::new(t).await;
    let response = pages.sign_in(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email} signs in");
    pages
}

/// A page's status and HTML; a redirect (303) is followed once, so a
/// change's answer is the page it leads to, with its notice.
pub async fn page_after(pages: &mut Pages, response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    if status == StatusCode::SEE_OTHER {
        let next = location(&response);
        let html = pages.get(&next).await.text().await.expect("html");
        return (status, html);
    }
    (status, response.text().await.expect("html"))
}
