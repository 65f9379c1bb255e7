//! `Idempotency-Key`: honoured only on the creating POSTs the API document
//! names, with nothing secret kept and no check skipped.

use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

const PASSWORD: &str = "plum blossom 2026";

/// POSTs `body` to `path` with `key`; returns status, body and whether the
/// answer was a replay.
async fn post_with_key(
    t: &TestApp,
    request: reqwest::RequestBuilder,
    key: &str,
) -> (StatusCode, Value, bool) {
    let response = request
        .header("idempotency-key", key)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    let _ = t;
    (status, body, replayed)
}

async fn stored_rows(t: &TestApp) -> Vec<(String, String, String, Vec<u8>)> {
    sqlx::query("SELECT scope, idem_key, fingerprint, sealed_body FROM idempotent_answers")
        .fetch_all(t.app.store.read())
        .await
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r.try_get("scope").expect("scope"),
                r.try_get("idem_key").expect("key"),
                r.try_get("fingerprint").expect("fingerprint"),
                r.try_get::<Option<Vec<u8>>, _>("sealed_body")
                    .expect("body")
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn what_is_kept_tells_nothing(t: TestApp) {
    let body = json!({ "email": "sealed@example.com", "password": PASSWORD });
    let sign_up = || t.http.post(t.url("/api/v1/accounts")).json(&body);
    let (status, first, replayed) = post_with_key(&t, sign_up(), "sign-up-1").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(!replayed);
    let (status, again, replayed) = post_with_key(&t, sign_up(), "sign-up-1").await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(again, first);
    assert_eq!(t.count("accounts").await, 1);

    let rows = stored_rows(&t).await;
    assert_eq!(rows.len(), 1);
    let (scope, key, fingerprint, sealed) = &rows[0];
    // The answer is sealed: neither its JSON nor the masked address shows.
    let answer = first.to_string();
    assert!(!contains(sealed, answer.as_bytes()));
    assert!(!contains(sealed, b"pending_verification"));
    // Nothing kept is a plain hash a guess could be checked against.
    let plain_fingerprint = koban::crypto::sha256_hex(
        format!(
            "POST /api/v1/accounts\n{}",
            serde_json::to_string(&body).expect("json")
        )
        .as_bytes(),
    );
    assert_ne!(fingerprint, &plain_fingerprint);
    assert_ne!(key, "sign-up-1");
    assert_ne!(scope, &koban::crypto::sha256_hex(b"anonymous"));
    for kept in [
        scope.as_bytes(),
        key.as_bytes(),
        fingerprint.as_bytes(),
        sealed,
    ] {
        assert!(!contains(kept, PASSWORD.as_bytes()));
        assert!(!contains(kept, b"sealed@example.com"));
    }
}
both!(what_is_kept_tells_nothing);

async fn credentials_are_never_replayed(t: TestApp) {
    let token = t.signed_up("cred@example.com", PASSWORD).await;
    let credentials = json!({ "identifier": "cred@example.com", "password": PASSWORD });
    let sign_in = || t.http.post(t.url("/api/v1/sessions")).json(&credentials);
    let (s1, first, r1) = post_with_key(&t, sign_in(), "same-key").await;
    let (s2, second, r2) = post_with_key(&t, sign_in(), "same-key").await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert!(!r1 && !r2, "sign-in is never answered from a store");
    assert_ne!(first["session"]["token"], second["session"]["token"]);

    // Enrolment secrets and recovery codes are never kept either.
    let enrol = || {
        t.http
            .post(t.url("/api/v1/me/2fa/totp"))
            .bearer_auth(&token)
            .json(&json!({}))
    };
    let (s1, first, _) = post_with_key(&t, enrol(), "enrol").await;
    let (s2, second, r2) = post_with_key(&t, enrol(), "enrol").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{first}"
    );
    assert!(!r2);
    assert_ne!(first["secret"], second["secret"]);
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM idempotent_answers").await,
        0
    );
}
both!(credentials_are_never_replayed);

async fn signed_out_callers_do_not_share_keys(t: TestApp) {
    let body = json!({ "email": "shared@example.com", "password": PASSWORD });
    let (status, _, _) = post_with_key(
        &t,
        t.http.post(t.url("/api/v1/accounts")).json(&body),
        "common-key",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Another device with the same key and body is a new request: it learns
    // the address is taken, it does not get the first caller's answer.
    let other = reqwest::Client::new()
        .post(t.url("/api/v1/accounts"))
        .header("x-koban-device", "another-device-0123456789")
        .json(&body);
    let (status, problem, replayed) = post_with_key(&t, other, "common-key").await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(!replayed);
}
both!(signed_out_callers_do_not_share_keys);

async fn old_answers_are_pruned_by_a_job_and_never_replayed(t: TestApp) {
    let code_request = |who: &str| {
        t.http
            .post(t.url("/api/v1/codes"))
            .json(&json!({ "identifier": who, "purpose": "password_reset" }))
    };
    let (status, _, _) = post_with_key(&t, code_request("a@example.com"), "old-1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, _) = post_with_key(&t, code_request("b@example.com"), "old-2").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let day_and_a_bit = koban::http::idempotency::KEEP_MS + 60_000;
    t.exec(&format!(
        "UPDATE idempotent_answers SET created_at = created_at - {day_and_a_bit}"
    ))
    .await;
    let (status, _, _) = post_with_key(&t, code_request("c@example.com"), "fresh").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(t.count("idempotent_answers").await, 3);
    // A send allowance whose window has passed goes in the same hour, by
    // accounts' own job; the others stay.
    t.exec("UPDATE send_throttle SET expires_at = 1 WHERE destination = 'password_reset:a@example.com'")
        .await;
    assert_eq!(t.count("send_throttle").await, 3);
    t.run_job_now(koban::http::idempotency::PRUNE_EXPIRED).await;
    crate::support::eventually("the aged answers are pruned", || async {
        let left = scalar(&t, "SELECT COUNT(*) FROM idempotent_answers").await;
        (left == 1).then_some(())
    })
    .await;
    t.run_job_now(koban::accounts::PRUNE_SEND_ALLOWANCES).await;
    crate::support::eventually("the passed allowance is pruned", || async {
        let left = scalar(&t, "SELECT COUNT(*) FROM send_throttle").await;
        (left == 2).then_some(())
    })
    .await;
    // The hourly schedule has its own job, enqueued once per hour however
    // often the nodes' schedulers look.
    let scheduled =
        "SELECT COUNT(*) FROM jobs WHERE kind = 'prune_expired' AND idempotency_key IS NOT NULL";
    koban::jobs::worker::schedule_periodic(&t.app).await;
    let once = scalar(&t, scheduled).await;
    koban::jobs::worker::schedule_periodic(&t.app).await;
    assert!(once >= 1);
    assert_eq!(scalar(&t, scheduled).await, once);
}
both!(old_answers_are_pruned_by_a_job_and_never_replayed);

async fn an_expired_key_runs_the_request_again(t: TestApp) {
    let body = json!({ "email": "again@example.com", "password": PASSWORD });
    let sign_up = || t.http.post(t.url("/api/v1/accounts")).json(&body);
    let (status, _, _) = post_with_key(&t, sign_up(), "k").await;
    assert_eq!(status, StatusCode::CREATED);
    let day_and_a_bit = koban::http::idempotency::KEEP_MS + 60_000;
    t.exec(&format!(
        "UPDATE idempotent_answers SET created_at = created_at - {day_and_a_bit}"
    ))
    .await;
    let (status, _, replayed) = post_with_key(&t, sign_up(), "k").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "run again: the address is now taken"
    );
    assert!(!replayed);
}
both!(an_expired_key_runs_the_request_again);

async fn a_refusal_to_wait_is_not_remembered(t: TestApp) {
    let request = || {
        t.http
            .post(t.url("/api/v1/codes"))
            .json(&json!({ "identifier": "wait@example.com", "purpose": "password_reset" }))
    };
    let (status, _, _) = post_with_key(&t, request(), "first").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // A second code within the minute is refused; its key is not spent on it.
    let (status, _, replayed) = post_with_key(&t, request(), "second").await;
    assert_eq!((status, replayed), (StatusCode::TOO_MANY_REQUESTS, false));
    t.exec("DELETE FROM send_throttle").await;
    let (status, _, replayed) = post_with_key(&t, request(), "second").await;
    assert_eq!((status, replayed), (StatusCode::ACCEPTED, false));
}
both!(a_refusal_to_wait_is_not_remembered);
