//! Users' data rights through HTTP (issue 15 §5): an export prepared by a
//! job with its progress, downloadable by its owner only until its link
//! expires; the account's deletion with step-up, a grace period a sign-in
//! cancels, and the erasure (tickets kept anonymised, recorded in the
//! audit chain); delivery records' retention; and every refusal changing
//! nothing.

use crate::desk::digits;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

/// Polls the export until it leaves the queue; returns its last view.
async fn ready(t: &TestApp, token: &str, id: i64) -> Value {
    for _ in 0..200 {
        let (status, export) = t
            .get(Some(token), &format!("/api/v1/me/exports/{id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{export}");
        if export["status"] == "ready" {
            return export;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("export {id} never became ready");
}

/// Waits until `sql` (a `COUNT(*)` condition on a table) counts `want`.
async fn counts(t: &TestApp, table_where: &str, want: i64) {
    for _ in 0..200 {
        if t.count(table_where).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.count(table_where).await, want, "{table_where}");
}

/// Runs the deletion sweep once more and waits until it is done. The
/// periodic scheduler may run one of its own meanwhile (either reads the
/// state the test set), so this counts sweeps done since, not in all.
async fn sweep(t: &TestApp) {
    let done = "jobs WHERE kind = 'privacy_deletions' AND status = 'done'";
    let before = t.count(done).await;
    t.run_job_now("privacy_deletions").await;
    for _ in 0..200 {
        let waiting = t
            .count("jobs WHERE kind = 'privacy_deletions' AND status = 'running'")
            .await;
        if t.count(done).await > before && waiting == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deletion sweep did not finish");
}

/// A ticket of `token`'s with a public answer and an internal note.
async fn ticket_with_note(t: &TestApp, token: &str, agent: &str) -> String {
    let (status, opened) = t
        .post_as(
            token,
            "/api/v1/desk/tickets",
            json!({ "subject": "機種変更", "body": "新しいスマホで引き継ぎできません" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let path = format!(
        "/api/v1/desk/tickets/{}/messages",
        digits(&opened["reference"])
    );
    for (body, public) in [
        ("INTERNAL-NOTE-xyz", false),
        ("引き継ぎ方法をご案内します", true),
    ] {
        let (status, added) = t
            .post_as(agent, &path, json!({ "body": body, "public": public }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
    }
    digits(&opened["reference"])
}

async fn an_export_is_prepared_and_only_its_owner_downloads_it(t: TestApp) {
    let owner = t.signed_up("aiko@example.jp", PASSWORD).await;
    let other = t.signed_up("ken@example.jp", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let reference = ticket_with_note(&t, &owner, &agent).await;

    let (status, asked) = t.post_as(&owner, "/api/v1/me/exports", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    assert!(
        matches!(asked["status"].as_str(), Some("queued" | "preparing")),
        "{asked}"
    );
    assert!(asked["download"].is_null());
    let id = asked["id"].as_i64().expect("id");
    let export = ready(&t, &owner, id).await;
    assert_eq!(export["progress"], 100);
    let link = export["download"]
        .as_str()
        .expect("download link")
        .to_string();
    assert!(
        export["expires_at"].as_i64().unwrap() - export["ready_at"].as_i64().unwrap()
            == 7 * 86_400_000
    );

    let response = t
        .http
        .get(t.url(&link))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let archive: Value = response.json().await.expect("a JSON archive");
    assert_eq!(archive["account"]["email"], "aiko@example.jp");
    for section in [
        "contacts",
        "devices",
        "sign_in_history",
        "security_timeline",
        "tickets",
        "messages",
        "deliveries",
    ] {
        assert!(archive[section].is_array(), "{section}: {archive}");
    }
    assert!(!archive["sign_in_history"].as_array().unwrap().is_empty());
    assert!(!archive["deliveries"].as_array().unwrap().is_empty());
    assert_eq!(archive["tickets"][0]["reference"], reference.as_str());
    let text = archive.to_string();
    assert!(text.contains("引き継ぎ方法をご案内します"), "{text}");
    assert!(
        !text.contains("INTERNAL-NOTE-xyz"),
        "an internal note leaked: {text}"
    );
    assert!(!text.contains("ken@example.jp"));

    // Another person's export is not found, through every route.
    let (status, problem) = t
        .get(Some(&other), &format!("/api/v1/me/exports/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let (status, _) = t.get(Some(&other), &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) = t.get(Some(&other), "/api/v1/me/exports").await;
    assert_eq!(theirs, json!([]));
    let (status, _) = t.get(None, &link).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Past its lifetime the link is gone (410), and the job deletes the bytes.
    t.exec(&format!(
        "UPDATE privacy_exports SET expires_at = 1 WHERE id = {id}"
    ))
    .await;
    let (status, problem) = t.get(Some(&owner), &link).await;
    assert_eq!(status, StatusCode::GONE, "{problem}");
    assert_eq!(problem["type"], "/problems/privacy-export-expired");
    t.run_job_now("privacy_export_expiry").await;
    counts(
        &t,
        "privacy_exports WHERE status = 'expired' AND blob_id IS NULL",
        1,
    )
    .await;
    let (_, shown) = t
        .get(Some(&owner), &format!("/api/v1/me/exports/{id}"))
        .await;
    assert_eq!(shown["status"], "expired");
    assert!(shown["download"].is_null());
    let (status, _) = t.get(Some(&owner), &link).await;
    assert_eq!(status, StatusCode::GONE);

    // Asking again makes a new one.
    let (status, again) = t.post_as(&owner, "/api/v1/me/exports", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_ne!(again["id"], id);
}
both!(an_export_is_prepared_and_only_its_owner_downloads_it);

/// The blob store cannot be reached, so an export stays in preparation
/// (retried with back-off) for the whole test.
fn unreachable_blobs(config: &mut koban::config::Config) {
    config.blob_store = "s3://KEY:SECRET@exports?endpoint=http://127.0.0.1:9".into();
}

async fn exports_asked_at_once_make_one(t: TestApp) {
    let owner = t.signed_up("mei@example.tw", PASSWORD).await;
    let asks = (0..8).map(|_| t.post_as(&owner, "/api/v1/me/exports", json!({})));
    let answers = futures_util::future::join_all(asks).await;
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, body) in &answers {
        assert!(
            *status == StatusCode::OK || *status == StatusCode::ACCEPTED,
            "{body}"
        );
        assert_eq!(body["id"], answers[0].1["id"], "{answers:?}");
    }
    assert_eq!(t.count("privacy_exports").await, 1);
    assert_eq!(t.count("jobs WHERE kind = 'privacy_export'").await, 1);
    // The preparation shows how far it got while it waits for the store.
    counts(
        &t,
        "privacy_exports WHERE status = 'preparing' AND progress > 50",
        1,
    )
    .await;
    let (_, list) = t.get(Some(&owner), "/api/v1/me/exports").await;
    assert_eq!(list[0]["status"], "preparing");
    assert!(list[0]["progress"].as_i64().unwrap() < 100);
    let id = list[0]["id"].as_i64().unwrap();
    let (status, problem) = t
        .get(Some(&owner), &format!("/api/v1/me/exports/{id}/download"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/privacy-export-not-ready");
}
both!(exports_asked_at_once_make_one, super::unreachable_blobs);

async fn deletion_needs_step_up_and_a_sign_in_cancels_it(t: TestApp) {
    let email = "sora@example.jp";
    let token = t.signed_up(email, PASSWORD).await;

    // Without a fresh step-up: refused, nothing written.
    let (status, problem) = t.post_as(&token, "/api/v1/me/deletion", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "/problems/step-up-required");
    assert_eq!(t.count("privacy_deletions").await, 0);
    // Nothing to cancel yet.
    let (status, problem) = t.delete(&token, "/api/v1/me/deletion").await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/privacy-nothing-pending");
    let (status, none) = t.get(Some(&token), "/api/v1/me/deletion").await;
    assert_eq!((status, none), (StatusCode::OK, Value::Null));

    // Asked twice at once: one request, one refusal.
    t.stepped_up(&token, email).await;
    let (a, b) = tokio::join!(
        t.post_as(&token, "/api/v1/me/deletion", json!({})),
        t.post_as(&token, "/api/v1/me/deletion", json!({})),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::ACCEPTED, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let refused = if a.0 == StatusCode::CONFLICT {
        &a.1
    } else {
        &b.1
    };
    assert_eq!(refused["type"], "/problems/privacy-deletion-pending");
    assert_eq!(t.count("privacy_deletions").await, 1);
    let asked = if a.0 == StatusCode::ACCEPTED {
        &a.1
    } else {
        &b.1
    };
    assert_eq!(asked["status"], "requested");
    let grace = asked["erase_after"].as_i64().unwrap() - asked["requested_at"].as_i64().unwrap();
    assert_eq!(grace, 14 * 86_400_000);
    let mail = t
        .newest_delivery_of("privacy_deletion_scheduled", email)
        .await;
    assert!(mail.contains("sign in"), "{mail}");

    // The owner cancels; cancelling again is refused.
    let (status, cancelled) = t.delete(&token, "/api/v1/me/deletion").await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["cancelled_by"], "owner");
    let (status, _) = t.delete(&token, "/api/v1/me/deletion").await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Asked again, then a sign-in during the grace period cancels it.
    let (status, _) = t.post_as(&token, "/api/v1/me/deletion", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (status, signed_in) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signed_in}");
    let fresh = signed_in["session"]["token"].as_str().unwrap().to_string();
    let (_, shown) = t.get(Some(&fresh), "/api/v1/me/deletion").await;
    assert_eq!(shown["status"], "cancelled", "{shown}");
    assert_eq!(shown["cancelled_by"], "sign_in");
    let mail = t
        .newest_delivery_of("privacy_deletion_cancelled", email)
        .await;
    assert!(mail.contains("signed in"), "{mail}");
    // The sweep leaves a cancelled request alone.
    t.exec("UPDATE privacy_deletions SET erase_after = 0").await;
    sweep(&t).await;
    assert_eq!(
        t.count("privacy_deletions WHERE status = 'erased'").await,
        0
    );
    assert_eq!(t.count("accounts WHERE email = 'sora@example.jp'").await, 1);
}
both!(deletion_needs_step_up_and_a_sign_in_cancels_it);

async fn after_the_grace_period_the_account_is_erased(t: TestApp) {
    let email = "haru@example.jp";
    let token = t.signed_up(email, PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let reference = ticket_with_note(&t, &token, &agent).await;
    let (status, _) = t.post_as(&token, "/api/v1/me/exports", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    counts(&t, "privacy_exports WHERE status = 'ready'", 1).await;
    t.stepped_up(&token, email).await;
    let (status, asked) = t.post_as(&token, "/api/v1/me/deletion", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    let id = asked["id"].as_i64().unwrap();
    let account: i64 = {
        use sqlx::Row;
        sqlx::query("SELECT account_id FROM privacy_deletions WHERE id = $1")
            .bind(id)
            .fetch_one(t.app.store.read())
            .await
            .unwrap()
            .try_get("account_id")
            .unwrap()
    };

    // Inside the grace period the sweep waits.
    sweep(&t).await;
    assert_eq!(
        t.count("privacy_deletions WHERE status = 'requested'")
            .await,
        1
    );

    t.exec("UPDATE privacy_deletions SET erase_after = 1").await;
    t.run_job_now("privacy_deletions").await;
    counts(
        &t,
        "privacy_deletions WHERE status = 'erased' AND erased_at IS NOT NULL",
        1,
    )
    .await;

    // Told at the contact on file, before it went.
    let mail = t.newest_delivery_of("privacy_account_erased", email).await;
    assert!(mail.contains("erased"), "{mail}");
    // The personal data is gone.
    let placeholder = format!("erased-{account}@erased.invalid");
    assert_eq!(t.count(&format!("accounts WHERE id = {account} AND email = '{placeholder}' AND phone IS NULL AND status = 'disabled' AND password_hash = '!erased'")).await, 1);
    assert_eq!(t.count("accounts WHERE email = 'haru@example.jp'").await, 0);
    for table in [
        "sessions",
        "devices",
        "login_attempts",
        "security_events",
        "verification_codes",
    ] {
        assert_eq!(
            t.count(&format!("{table} WHERE account_id = {account}"))
                .await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        t.count(&format!(
            "deliveries WHERE account_id = {account} AND destination <> 'erased'"
        ))
        .await,
        0
    );
    assert_eq!(
        t.count("privacy_exports WHERE status = 'expired' AND blob_id IS NULL")
            .await,
        1
    );
    // The ticket stays, anonymised: the requester's words removed, the agent's kept.
    let (status, _) = t.get(Some(&token), "/api/v1/me/deletion").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        t.count(&format!(
            "desk_tickets WHERE reference = '{reference}' AND requester_account_id = {account}"
        ))
        .await,
        1
    );
    assert_eq!(
        t.count("desk_messages WHERE body LIKE '%新しいスマホ%'")
            .await,
        0
    );
    assert_eq!(
        t.count("desk_messages WHERE body = '[removed at the requester''s request]'")
            .await,
        1
    );
    assert_eq!(
        t.count("desk_messages WHERE body = '引き継ぎ方法をご案内します'")
            .await,
        1
    );
    // Recorded in the platform chain, without the personal data.
    assert_eq!(t.count(&format!("audit_entries WHERE scope = 'platform' AND action = 'privacy.account_erased' AND target = 'account:{account}'")).await, 1);
    assert_eq!(
        t.count("audit_entries WHERE details LIKE '%haru%'").await,
        0
    );
    // The old password signs nobody in.
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": email, "password": PASSWORD }),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
}
both!(after_the_grace_period_the_account_is_erased);

async fn an_operator_who_keeps_tickets_keeps_the_requesters_words(t: TestApp) {
    let email = "yui@example.jp";
    let token = t.signed_up(email, PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    ticket_with_note(&t, &token, &agent).await;
    t.stepped_up(&token, email).await;
    let (status, _) = t.post_as(&token, "/api/v1/me/deletion", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    t.exec("UPDATE privacy_deletions SET erase_after = 1").await;
    t.run_job_now("privacy_deletions").await;
    counts(&t, "privacy_deletions WHERE status = 'erased'", 1).await;
    assert_eq!(
        t.count("desk_messages WHERE body LIKE '%新しいスマホ%'")
            .await,
        1
    );
    assert_eq!(t.count("accounts WHERE email = 'yui@example.jp'").await, 0);
}
both!(
    an_operator_who_keeps_tickets_keeps_the_requesters_words,
    |c: &mut koban::config::Config| {
        c.privacy_keep_ticket_text = true;
    }
);

async fn old_delivery_records_are_pruned(t: TestApp) {
    t.signed_up("old@example.jp", PASSWORD).await;
    t.signed_up("new@example.jp", PASSWORD).await;
    t.exec("UPDATE deliveries SET created_at = 1000 WHERE destination = 'old@example.jp'")
        .await;
    let before = t.count("deliveries").await;
    let old = t
        .count("deliveries WHERE destination = 'old@example.jp'")
        .await;
    assert!(old > 0);
    t.run_job_now("privacy_retention").await;
    counts(&t, "deliveries WHERE destination = 'old@example.jp'", 0).await;
    assert_eq!(t.count("deliveries").await, before - old);
}
both!(old_delivery_records_are_pruned);
