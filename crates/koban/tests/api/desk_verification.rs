//! The two ways to verify an account's owner beside a code read back: the
//! owner's own second factor on a page a link opens, and documented answers
//! a second supervisor approves. Through HTTP, on both databases.

use crate::desk::{digits, totp_now};
use crate::security_pages::Pages;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "plum blossom 2026";

/// An account with an authenticator; its TOTP secret and recovery codes.
async fn with_authenticator(t: &TestApp, owner: &str) -> (String, Vec<String>) {
    let token = t.signed_up(owner, PASSWORD).await;
    let (status, enrollment) = t.post_as(&token, "/api/v1/me/2fa/totp", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{enrollment}");
    let secret = enrollment["secret"].as_str().expect("secret").to_string();
    let (status, confirmed) = t
        .post_as(
            &token,
            "/api/v1/me/2fa/totp/confirm",
            json!({ "code": totp_now(&secret) }),
        )
        .await;
    assert!(status.is_success(), "{confirmed}");
    let recovery = confirmed["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    (secret, recovery)
}

async fn ticket_from(t: &TestApp, email: &str) -> String {
    let (status, opened) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "手機掉了，帳號被鎖", "body": "換了新手機之後登入不了，帳號被鎖住了。", "email": email }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    format!("/api/v1/desk/tickets/{}", digits(&opened["reference"]))
}

fn unlock() -> Value {
    json!({ "action": "unlock", "reason": "owner proved the account" })
}

fn events(ticket: &Value) -> Vec<String> {
    ticket["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_string))
        .collect()
}

/// The link in the newest verification-link message to `destination`.
async fn link_path(t: &TestApp, destination: &str) -> String {
    let body = t
        .newest_delivery_of("desk_verification_link", destination)
        .await;
    let start = body
        .find("/support/verify/")
        .expect("a link in the message");
    body[start..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_string()
}

async fn the_owner_answers_a_link_with_their_second_factor(t: TestApp) {
    let owner = "mei@example.tw";
    let (secret, recovery) = with_authenticator(&t, owner).await;
    let base = ticket_from(&t, owner).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let path = format!("{base}/verifications/second-factor");

    let (status, sent) = t.post_as(&agent, &path, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert!(
        sent["sent_to"].as_str().unwrap_or("").contains('*'),
        "{sent}"
    );
    let link = link_path(&t, owner).await;

    // Nothing is proved by the link alone.
    let (status, _) = t
        .post_as(&agent, &format!("{base}/account-actions"), unlock())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut page = Pages::new(&t).await;
    let html = page.get(&link).await.text().await.expect("html");
    assert!(html.contains("id=\"verify-form\""), "{html}");
    // A guessed link is not a page.
    let response = page.get("/support/verify/not-a-real-token").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // A wrong code is refused next to the field, and counts.
    let wrong = if totp_now(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let response = page
        .post(&link, &[("method", "totp"), ("answer", wrong)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("id=\"alert\""));
    // Without the CSRF token nothing is checked.
    let response = page
        .http
        .post(format!("{}{link}", page.base))
        .header(reqwest::header::COOKIE, page.cookie_header())
        .form(&[
            ("method", "recovery_code"),
            ("answer", recovery[0].as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let response = page
        .post(
            &link,
            &[
                ("method", "recovery_code"),
                ("answer", recovery[0].as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("id=\"verify-done\""));
    // The link is spent.
    let response = page.get(&link).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let (status, body) = t
        .post_as(&agent, &format!("{base}/account-actions"), unlock())
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, ticket) = t.get(Some(&agent), &base).await;
    let kinds = events(&ticket);
    assert!(
        kinds.contains(&"verification_passed".to_string()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"account_action".to_string()), "{kinds:?}");
    let (status, list) = t.get(Some(&agent), &format!("{base}/verifications")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list[0]["method"], "second_factor");
    assert_eq!(list[0]["status"], "passed");
    assert_eq!(
        t.count("audit_log WHERE action = 'account.unlock'").await,
        1
    );
    // The same action is in the platform's chain, which is intact.
    assert_eq!(
        t.count("audit_entries WHERE scope = 'platform' AND action = 'account.unlock'")
            .await,
        1
    );
    let v = koban::audit::verify(&t.app.store, &t.app.key, koban::audit::PLATFORM)
        .await
        .expect("verify");
    assert_eq!((v.broken, v.checked), (None, 1));
}
both!(the_owner_answers_a_link_with_their_second_factor);

async fn a_second_factor_link_needs_a_second_factor(t: TestApp) {
    let owner = "nofactor@example.com";
    t.signed_up(owner, PASSWORD).await;
    let base = ticket_from(&t, owner).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let (status, problem) = t
        .post_as(
            &agent,
            &format!("{base}/verifications/second-factor"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "/problems/no-second-factor");
    assert_eq!(t.count("desk_verifications").await, 0);
    // A ticket nobody's account matches has nobody to verify.
    let stranger = ticket_from(&t, "stranger@example.com").await;
    let (status, problem) = t
        .post_as(
            &agent,
            &format!("{stranger}/verifications/second-factor"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "/problems/no-account-to-verify");
}
both!(a_second_factor_link_needs_a_second_factor);

async fn documented_answers_need_a_second_supervisor(t: TestApp) {
    let owner = "lost.everything@example.jp";
    t.signed_up(owner, PASSWORD).await;
    // They lost the mailbox too and write from a new address.
    let base = ticket_from(&t, "new.mailbox@example.jp").await;
    let agent = t.staff("agent@example.com", "agent").await;
    let first = t.staff("lead@example.com", "supervisor").await;
    let second = t.staff("head@example.com", "supervisor").await;
    let documented = format!("{base}/verifications/documented");
    let answers =
        "Registered 2019 in Osaka; last top-up ¥3,000 at FamilyMart; passport shown on video call.";

    // Bad input changes nothing.
    for (body, code) in [
        (
            json!({ "answers": "   " }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "answers": "x".repeat(4001), "account": owner }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "answers": answers, "account": "not an address" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "answers": answers, "account": "nobody@example.com" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "answers": answers, "account": owner, "extra": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, problem) = t.post_as(&agent, &documented, body.clone()).await;
        assert_eq!(status, code, "{body} → {problem}");
    }
    assert_eq!(t.count("desk_verifications").await, 0);

    let (status, started) = t
        .post_as(
            &first,
            &documented,
            json!({ "answers": answers, "account": owner }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let id = started["id"].as_i64().expect("id");
    let decision = format!("{base}/verifications/{id}/decision");
    // The answers are sealed at rest and readable to the desk.
    assert_eq!(
        t.count(&format!(
            "desk_verifications WHERE answers_sealed IS NOT NULL AND destination = 'documented' AND id = {id}"
        ))
        .await,
        1
    );
    let (_, list) = t.get(Some(&second), &format!("{base}/verifications")).await;
    assert_eq!(list[0]["answers"], answers, "{list}");
    let (_, list) = t.get(Some(&agent), &format!("{base}/verifications")).await;
    assert!(
        list[0]["answers"].is_null(),
        "only who recorded or decides reads them: {list}"
    );

    // An agent cannot decide; nor can the supervisor who recorded them.
    let approve = json!({ "approve": true, "note": "matches our records" });
    let (status, _) = t.post_as(&agent, &decision, approve.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = t.post_as(&first, &decision, approve.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "/problems/own-approval");
    let (status, _) = t
        .post_as(&agent, &format!("{base}/account-actions"), unlock())
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "pending answers prove nothing"
    );

    let (status, body) = t.post_as(&second, &decision, approve.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, problem) = t
        .post_as(&second, &decision, json!({ "approve": false }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/verification-decided");

    let (status, body) = t
        .post_as(&agent, &format!("{base}/account-actions"), unlock())
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, list) = t.get(Some(&agent), &format!("{base}/verifications")).await;
    assert_eq!(list[0]["status"], "passed");
    assert!(list[0]["decided_by"].is_i64(), "{list}");
    // A code verification cannot be "approved".
    let (status, _) = t
        .post_as(
            &second,
            &format!("{base}/verifications/999999/decision"),
            approve,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
both!(documented_answers_need_a_second_supervisor);

async fn rejected_answers_allow_nothing(t: TestApp) {
    let owner = "claimed@example.com";
    t.signed_up(owner, PASSWORD).await;
    let base = ticket_from(&t, owner).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let supervisor = t.staff("lead@example.com", "supervisor").await;
    let (status, started) = t
        .post_as(
            &agent,
            &format!("{base}/verifications/documented"),
            json!({ "answers": "Could not say when the account was made." }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let id = started["id"].as_i64().expect("id");
    let (status, body) = t
        .post_as(
            &supervisor,
            &format!("{base}/verifications/{id}/decision"),
            json!({ "approve": false, "note": "answers do not match" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = t
        .post_as(&agent, &format!("{base}/account-actions"), unlock())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, ticket) = t.get(Some(&agent), &base).await;
    assert!(events(&ticket).contains(&"verification_rejected".to_string()));
    // The requester sees none of it.
    let requester = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": owner, "password": PASSWORD }),
        )
        .await
        .1["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (status, _) = t
        .get(Some(&requester), &format!("{base}/verifications"))
        .await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&status),
        "{status}"
    );
}
both!(rejected_answers_allow_nothing);

/// A request sent signed out from an address the account verified with a
/// code is the account's: it is in their list and they may reply. One from
/// an address that only resembles it is not.
async fn requests_from_a_verified_address_are_the_accounts(t: TestApp) {
    let owner = "ayumi@example.jp";
    let token = t.signed_up(owner, PASSWORD).await;
    let mine = ticket_from(&t, "Ayumi@Example.JP").await;
    let other = ticket_from(&t, "ayumi@example.co.jp").await;
    let (status, list) = t.get(Some(&token), "/api/v1/me/tickets").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let references: Vec<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| format!("/api/v1/desk/tickets/{}", digits(&i["reference"])))
        .collect();
    assert_eq!(references, vec![mine.clone()], "{list}");
    let (status, body) = t
        .post_as(
            &token,
            &format!("{mine}/messages"),
            json!({ "body": "補足です。" }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (status, _) = t.get(Some(&token), &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
both!(requests_from_a_verified_address_are_the_accounts);
