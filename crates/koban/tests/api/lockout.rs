//! Limits that hold under parallel requests: no more passwords, codes or
//! second factors are checked than the threshold allows before its lock
//! takes effect, on one node or two; and a code completes only the
//! challenge it was sent for.

use crate::support::{eventually, scalar, Db, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const PASSWORD: &str = "plum blossom 2026";
const WRONG: &str = "wrong guess 123";

/// Sends `n` sign-ins for `identifier` at once, spread over `bases` (one
/// node each), from clients without the owner's device cookie: each is a
/// new device, so all of them meet the account's own guard. Returns how
/// many got each status.
async fn burst(
    bases: &[String],
    n: usize,
    identifier: &str,
    password: &str,
) -> BTreeMap<u16, usize> {
    let client = reqwest::Client::new();
    let body = json!({ "identifier": identifier, "password": password });
    let requests = (0..n).map(|i| {
        let url = format!("{}/api/v1/sessions", bases[i % bases.len()]);
        client.post(url).json(&body)
    });
    let mut statuses = BTreeMap::new();
    for status in all_at_once(requests).await {
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
    }
    statuses
}

/// Sends every request at once and returns their statuses.
async fn all_at_once(
    requests: impl IntoIterator<Item = reqwest::RequestBuilder>,
) -> Vec<StatusCode> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| tokio::spawn(async move { request.send().await.expect("request").status() }))
        .collect();
    let mut statuses = vec![];
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    statuses
}

async fn outcomes(t: &TestApp, outcome: &str) -> i64 {
    scalar(
        t,
        &format!("SELECT COUNT(*) FROM login_attempts WHERE outcome = '{outcome}'"),
    )
    .await
}

/// The reservations of every guard and address have all been given back.
async fn all_settled(t: &TestApp) {
    eventually("every reservation settled", || async {
        let guards = scalar(
            t,
            "SELECT CAST(COALESCE(SUM(checks_in_flight), 0) AS BIGINT) FROM sign_in_guards",
        )
        .await;
        let ips = scalar(
            t,
            "SELECT CAST(COALESCE(SUM(checks_in_flight), 0) AS BIGINT) FROM ip_failures",
        )
        .await;
        (guards == 0 && ips == 0).then_some(())
    })
    .await;
}

/// N wrong passwords at once (10, 40, 200) check exactly the threshold (5),
/// the rest are refused unhashed, the lock is the first back-off step (one
/// minute, not the hour a burst counted in full would reach), and the owner's
/// bound device still signs in.
async fn parallel_wrong_passwords_check_exactly_the_threshold(t: TestApp) {
    for (round, n) in [10usize, 40, 200].into_iter().enumerate() {
        let who = format!("burst{round}@example.com");
        t.signed_up(&who, PASSWORD).await;
        let before_wrong = outcomes(&t, "wrong_password").await;
        let statuses = burst(std::slice::from_ref(&t.base), n, &who, WRONG).await;
        assert!(
            statuses.keys().all(|s| [401, 429].contains(s)),
            "{statuses:?}"
        );
        assert_eq!(
            outcomes(&t, "wrong_password").await - before_wrong,
            5,
            "n = {n}: {statuses:?}"
        );
        let guard = format!(
            "SELECT failures FROM sign_in_guards WHERE guard_key = 'account:' || (SELECT id FROM accounts WHERE email = '{who}')"
        );
        assert_eq!(scalar(&t, &guard).await, 5);
        let lock = format!(
            "SELECT locked_until - last_failure_at FROM sign_in_guards WHERE guard_key = 'account:' || (SELECT id FROM accounts WHERE email = '{who}')"
        );
        assert_eq!(scalar(&t, &lock).await, 60_000, "the first back-off step");
        // The owner, on the device that signed up, is not locked out.
        let (status, body) = t
            .post(
                "/api/v1/sessions",
                json!({ "identifier": who, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let refused = outcomes(&t, "busy").await + outcomes(&t, "locked").await;
    assert_eq!(refused, (10 + 40 + 200) - 3 * 5);
    all_settled(&t).await;
}
both!(parallel_wrong_passwords_check_exactly_the_threshold);

/// Two nodes on one PostgreSQL share the reservation: 40 wrong passwords
/// split between them still check five.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_check_exactly_the_threshold_together() {
    let Some(first) = TestApp::start_if_postgres(|_| {}).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = crate::support::test_config(&first.database_url, dir.path());
    let second = TestApp::start_with_config(Db::Postgres, config, dir).await;
    first.signed_up("shared@example.com", PASSWORD).await;
    let bases = [first.base.clone(), second.base.clone()];
    let statuses = burst(&bases, 40, "shared@example.com", WRONG).await;
    assert_eq!(outcomes(&first, "wrong_password").await, 5, "{statuses:?}");
    second.settle().await;
    assert_eq!(
        outcomes(&first, "busy").await + outcomes(&first, "locked").await,
        35
    );
    let (status, body) = first
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "shared@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    all_settled(&first).await;
}

/// The per-address limit is exact too: 30 guesses at once from one address
/// across 30 names check exactly the addresses' allowance.
async fn parallel_guesses_from_one_address_check_exactly_its_limit(t: TestApp) {
    let client = reqwest::Client::new();
    let requests = (0..30).map(|n| {
        client
            .post(t.url("/api/v1/sessions"))
            .json(&json!({ "identifier": format!("nobody{n}@example.com"), "password": WRONG }))
    });
    for status in all_at_once(requests).await {
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "{status}"
        );
    }
    assert_eq!(outcomes(&t, "unknown_account").await, 4);
    assert_eq!(scalar(&t, "SELECT failures FROM ip_failures").await, 4);
    all_settled(&t).await;
}
both!(
    parallel_guesses_from_one_address_check_exactly_its_limit,
    |c: &mut koban::config::Config| c.risk_ip_failure_limit = 4
);

/// A right password gives its reservation back at once, on the fast path of
/// a bound device and on every other: many sign-ins in a row never meet a
/// "busy" refusal.
async fn right_passwords_give_their_reservation_back(t: TestApp) {
    t.signed_up("steady@example.com", PASSWORD).await;
    for _ in 0..12 {
        let (status, body) = t
            .post(
                "/api/v1/sessions",
                json!({ "identifier": "steady@example.com", "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(
        scalar(
            &t,
            "SELECT CAST(COALESCE(SUM(checks_in_flight), 0) AS BIGINT) FROM sign_in_guards"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &t,
            "SELECT CAST(COALESCE(SUM(checks_in_flight), 0) AS BIGINT) FROM ip_failures"
        )
        .await,
        0
    );
    assert_eq!(outcomes(&t, "busy").await, 0);
}
both!(right_passwords_give_their_reservation_back);

/// A reservation left by a node that died mid-check lapses after a minute
/// instead of refusing the account for ever.
async fn a_dead_nodes_reservation_lapses(t: TestApp) {
    t.signed_up("lapse@example.com", PASSWORD).await;
    let key = "'account:' || (SELECT id FROM accounts WHERE email = 'lapse@example.com')";
    t.exec(&format!(
        "INSERT INTO sign_in_guards (guard_key, failures, last_failure_at, checks_in_flight, checks_reserved_at)
         VALUES ({key}, 4, {now}, 1, {now})",
        now = koban::store::now_ms()
    ))
    .await;
    // Four failures leave one check; the dead node holds it.
    let statuses = burst(
        std::slice::from_ref(&t.base),
        1,
        "lapse@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(statuses.get(&429), Some(&1), "{statuses:?}");
    t.exec(&format!(
        "UPDATE sign_in_guards SET checks_reserved_at = {} WHERE guard_key = {key}",
        koban::store::now_ms() - 61_000
    ))
    .await;
    // Checked: the password was right (a new device with recent failures
    // is asked for a second factor).
    let statuses = burst(
        std::slice::from_ref(&t.base),
        1,
        "lapse@example.com",
        PASSWORD,
    )
    .await;
    assert!(
        statuses.keys().all(|s| [201, 202].contains(s)),
        "{statuses:?}"
    );
}
both!(a_dead_nodes_reservation_lapses);

/// A verification code's try is counted before the code is compared: a
/// right first try counts one, and after many parallel wrong guesses the
/// count stops at five and the right code is refused.
async fn code_tries_are_counted_before_they_are_compared(t: TestApp) {
    let (status, _) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "codes@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let code = t.latest_code("codes@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let guess = json!({ "identifier": "codes@example.com", "code": wrong });
    let requests = (0..20).map(|_| t.http.post(t.url("/api/v1/verifications")).json(&guess));
    for status in all_at_once(requests).await {
        assert!(status.is_client_error());
    }
    assert_eq!(
        scalar(&t, "SELECT attempts FROM verification_codes").await,
        5
    );
    let (status, body) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": "codes@example.com", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["type"], "/problems/code-invalid");

    // A right first try counts one (it was counted, then compared).
    let (status, _) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "first@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let code = t.latest_code("first@example.com").await;
    let (status, body) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": "first@example.com", "code": code }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(
        scalar(
            &t,
            "SELECT c.attempts FROM verification_codes c JOIN accounts a ON a.id = c.account_id WHERE a.email = 'first@example.com'"
        )
        .await,
        1
    );
}
both!(code_tries_are_counted_before_they_are_compared);

fn totp_now(secret_base32: &str) -> String {
    let secret = koban::security::totp::base32_decode(secret_base32).expect("base32");
    let step = koban::security::totp::step_of(koban::store::now_ms());
    koban::security::totp::code_at(&secret, step)
}

/// Twenty wrong second factors at once check exactly the second-factor
/// limit (5); the rest are refused unchecked and the lock follows.
async fn parallel_second_factors_check_exactly_the_limit(t: TestApp) {
    let token = t.signed_up("second@example.com", PASSWORD).await;
    let (status, enrollment) = t.post_as(&token, "/api/v1/me/2fa/totp", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{enrollment}");
    let secret = enrollment["secret"].as_str().expect("secret").to_string();
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/2fa/totp/confirm",
            json!({ "code": totp_now(&secret) }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (status, pending) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "second@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let right = totp_now(&secret);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let guess = json!({ "challenge": pending["challenge"], "method": "totp", "code": wrong });
    let requests = (0..20).map(|_| {
        t.http
            .post(t.url("/api/v1/sessions/second-factor"))
            .json(&guess)
    });
    for status in all_at_once(requests).await {
        assert!(status.is_client_error());
    }
    assert_eq!(outcomes(&t, "second_factor_failed").await, 5);
    let (status, body): (StatusCode, Value) = t
        .post(
            "/api/v1/sessions/second-factor",
            json!({ "challenge": pending["challenge"], "method": "totp", "code": right }),
        )
        .await;
    assert!(status.is_client_error(), "the lock holds: {body}");
}
both!(parallel_second_factors_check_exactly_the_limit);

async fn sign_in_from(t: &TestApp, device: &str, identifier: &str) -> (StatusCode, Value) {
    let request = t
        .http
        .post(t.url("/api/v1/sessions"))
        .header("x-koban-device", device)
        .json(&json!({ "identifier": identifier, "password": PASSWORD }));
    t.send(request).await
}

async fn finish_with_code(
    t: &TestApp,
    device: &str,
    pending: &Value,
    code: &str,
) -> (StatusCode, Value) {
    let request = t
        .http
        .post(t.url("/api/v1/sessions/second-factor"))
        .header("x-koban-device", device)
        .json(&json!({ "challenge": pending["challenge"], "method": "code", "code": code }));
    t.send(request).await
}

/// A code sent for one stepped-up sign-in does not complete another one
/// left open earlier; when a resend is throttled, the code already sent
/// moves to the newest challenge and leaves the older one.
async fn a_code_completes_only_its_own_challenge(t: TestApp) {
    t.signed_up("bound@example.com", PASSWORD).await;
    sign_in_from(&t, "bound-device-000000001", "bound@example.com").await;
    let (status, first) = sign_in_from(&t, "bound-device-000000002", "bound@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let first_code = t.latest_code("bound@example.com").await;
    // A second stepped-up sign-in with a code of its own.
    t.exec("DELETE FROM send_throttle").await;
    let (status, second) = sign_in_from(&t, "bound-device-000000003", "bound@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{second}");
    let second_code = t.latest_code_after(&first_code, "bound@example.com").await;
    let (status, body) = finish_with_code(&t, "bound-device-000000002", &first, &second_code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["type"], "/problems/code-invalid");
    let (status, body) =
        finish_with_code(&t, "bound-device-000000003", &second, &second_code).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A third one while the resend is throttled: no new code; the one sent
    // for the second moves to the third, so it cannot finish the first.
    t.exec("DELETE FROM send_throttle").await;
    let (status, fourth) = sign_in_from(&t, "bound-device-000000004", "bound@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{fourth}");
    let fourth_code = t.latest_code_after(&second_code, "bound@example.com").await;
    let (status, fifth) = sign_in_from(&t, "bound-device-000000005", "bound@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{fifth}");
    let (status, body) =
        finish_with_code(&t, "bound-device-000000004", &fourth, &fourth_code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = finish_with_code(&t, "bound-device-000000005", &fifth, &fourth_code).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
both!(
    a_code_completes_only_its_own_challenge,
    |c: &mut koban::config::Config| {
        c.risk_device_churn_count = 2;
        c.risk_step_up_score = 40;
        c.max_devices = 10;
    }
);
