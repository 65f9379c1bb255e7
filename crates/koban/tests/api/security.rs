//! The account security center: locks and back-off, per-IP throttling,
//! trusted proxies, devices and the device limit, login history, TOTP with
//! recovery codes, step-up.

use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

const PASSWORD: &str = "plum blossom 2026";

async fn sign_in(t: &TestApp, identifier: &str, password: &str) -> (StatusCode, Value) {
    t.post(
        "/api/v1/sessions",
        json!({ "identifier": identifier, "password": password }),
    )
    .await
}

async fn sign_in_from(
    t: &TestApp,
    device: &str,
    identifier: &str,
    password: &str,
) -> (StatusCode, Value) {
    let request = t
        .http
        .post(t.url("/api/v1/sessions"))
        .header("x-koban-device", device)
        .json(&json!({ "identifier": identifier, "password": password }));
    t.send(request).await
}

async fn retry_after(t: &TestApp, identifier: &str, password: &str) -> (StatusCode, i64, Value) {
    let response = t
        .http
        .post(t.url("/api/v1/sessions"))
        .json(&json!({ "identifier": identifier, "password": password }))
        .send()
        .await
        .expect("request");
    let status = response.status();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    (status, retry, response.json().await.expect("json"))
}

/// Five wrong passwords lock; while locked even the right password is
/// refused without hashing, in the shape of a wrong password; the owner is
/// told once per lock.
async fn wrong_passwords_lock_with_back_off_and_the_owner_is_told_once(t: TestApp) {
    t.signed_up("lock@example.com", PASSWORD).await;
    for _ in 0..5 {
        let (status, body) = sign_in(&t, "lock@example.com", "wrong guess 123").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["type"], "/problems/bad-credentials");
    }
    let (status, retry, body) = retry_after(&t, "lock@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        (1..=60).contains(&retry),
        "the first lock is a minute: {retry}"
    );
    assert_eq!(body["type"], "/problems/sign-in-locked");
    assert_eq!(body["unlock"], "code");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM login_attempts WHERE outcome = 'locked'"
        )
        .await,
        1
    );
    // One more failure after the lock ran out doubles it; the owner still hears once.
    t.exec("UPDATE sign_in_guards SET locked_until = 1").await;
    // The node remembers the refusal until the lock's end; faking that end in
    // the database must end the memory too.
    koban::security::state(&t.app).refusals.forget_all();
    let (status, _) = sign_in(&t, "lock@example.com", "wrong guess 123").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, retry, _) = retry_after(&t, "lock@example.com", PASSWORD).await;
    assert!(
        (61..=120).contains(&retry),
        "the second lock doubles: {retry}"
    );
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE purpose = 'lock_notice'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM login_attempts WHERE outcome = 'wrong_password'"
        )
        .await,
        6
    );
}
both!(wrong_passwords_lock_with_back_off_and_the_owner_is_told_once);

/// An identifier nobody registered locks exactly like a real one, so the
/// lock cannot be used to find out who has an account.
async fn unknown_identifiers_lock_alike(t: TestApp) {
    t.signed_up("real@example.com", PASSWORD).await;
    let mut answers = vec![];
    for who in ["real@example.com", "ghost@example.com"] {
        for _ in 0..5 {
            sign_in(&t, who, "wrong guess 123").await;
        }
        let (status, mut body) = sign_in(&t, who, "wrong guess 123").await;
        body.as_object_mut().expect("object").remove("request_id");
        answers.push((status, body));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
}
both!(unknown_identifiers_lock_alike);

/// Parallel wrong passwords never lose a count.
async fn racing_failures_are_counted_exactly(t: TestApp) {
    t.signed_up("race@example.com", PASSWORD).await;
    let mut tasks = vec![];
    for _ in 0..16 {
        let http = t.http.clone();
        let url = t.url("/api/v1/sessions");
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .json(&json!({ "identifier": "race@example.com", "password": "wrong guess 123" }))
                .send()
                .await
                .expect("request")
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("task"), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        scalar(
            &t,
            "SELECT failures FROM sign_in_guards WHERE guard_key LIKE 'account:%'"
        )
        .await,
        16
    );
    assert_eq!(scalar(&t, "SELECT failures FROM ip_failures").await, 16);
}
both!(
    racing_failures_are_counted_exactly,
    |c: &mut koban::config::Config| {
        c.risk_lock_after_failures = 100;
        c.risk_support_lock_after_failures = 0;
    }
);

/// Credential stuffing from one address is refused before hashing once it
/// passes the per-IP limit.
async fn per_ip_failures_throttle_without_hashing(t: TestApp) {
    for n in 0..4 {
        let (status, _) = sign_in(&t, &format!("victim{n}@example.com"), "123456789a").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = sign_in(&t, "victim9@example.com", "123456789a").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["type"], "/problems/sign-in-locked", "{body}");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM login_attempts WHERE outcome = 'ip_throttled'"
        )
        .await,
        1
    );
}
both!(
    per_ip_failures_throttle_without_hashing,
    |c: &mut koban::config::Config| c.risk_ip_failure_limit = 4
);

/// An allow-listed address is never throttled by the per-IP rule.
async fn allow_listed_ip_is_never_throttled(t: TestApp) {
    for n in 0..8 {
        let (_, body) = sign_in(&t, &format!("victim{n}@example.com"), "123456789a").await;
        assert_eq!(body["type"], "/problems/bad-credentials", "{body}");
    }
}
both!(
    allow_listed_ip_is_never_throttled,
    |c: &mut koban::config::Config| {
        c.risk_ip_failure_limit = 4;
        c.risk_ip_allow = "127.0.0.0/8".into();
    }
);

/// A block-listed address is refused outright.
async fn block_listed_ip_is_refused(t: TestApp) {
    let (status, body) = sign_in(&t, "anyone@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["type"], "/problems/sign-in-locked");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM login_attempts WHERE outcome = 'ip_blocked'"
        )
        .await,
        1
    );
}
both!(
    block_listed_ip_is_refused,
    |c: &mut koban::config::Config| c.risk_ip_block = "127.0.0.1/32, 10.0.0.0/8".into()
);

/// X-Forwarded-For from anyone but a configured proxy is ignored.
async fn spoofed_forwarding_headers_are_ignored(t: TestApp) {
    let token = t.signed_up("fwd@example.com", PASSWORD).await;
    let request = t
        .http
        .post(t.url("/api/v1/sessions"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({ "identifier": "fwd@example.com", "password": PASSWORD }));
    assert_eq!(t.send(request).await.0, StatusCode::CREATED);
    let (_, history) = t.get(Some(&token), "/api/v1/me/login-history").await;
    assert_eq!(history["items"][0]["ip"], "127.0.0.1", "{history}");
}
both!(spoofed_forwarding_headers_are_ignored);

/// From a trusted proxy, the right-most untrusted forwarded address counts.
async fn trusted_proxy_forwarding_is_believed(t: TestApp) {
    let token = t.signed_up("fwd@example.com", PASSWORD).await;
    let request = t
        .http
        .post(t.url("/api/v1/sessions"))
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        .json(&json!({ "identifier": "fwd@example.com", "password": PASSWORD }));
    assert_eq!(t.send(request).await.0, StatusCode::CREATED);
    let (_, history) = t.get(Some(&token), "/api/v1/me/login-history").await;
    assert_eq!(history["items"][0]["ip"], "203.0.113.7", "{history}");
    assert_eq!(history["items"][0]["outcome"], "success");
}
both!(
    trusted_proxy_forwarding_is_believed,
    |c: &mut koban::config::Config| c.trusted_proxies = "127.0.0.1".into()
);

/// Devices are listed with the current one marked, renamed, removed (their
/// sessions end), and each new one is announced to the owner.
async fn devices_are_listed_renamed_and_removed(t: TestApp) {
    t.signed_up("dev@example.com", PASSWORD).await;
    let (status, phone) =
        sign_in_from(&t, "phone-device-0000000001", "dev@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{phone}");
    assert_eq!(phone["new_device"], true);
    let phone_token = phone["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (_, laptop) =
        sign_in_from(&t, "laptop-device-000000002", "dev@example.com", PASSWORD).await;
    let laptop_token = laptop["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (status, devices) = t.get(Some(&laptop_token), "/api/v1/me/devices").await;
    assert_eq!(status, StatusCode::OK);
    let devices = devices.as_array().expect("list").clone();
    // The device that signed up, the phone and the laptop.
    assert_eq!(devices.len(), 3);
    assert_eq!(devices.iter().filter(|d| d["current"] == true).count(), 1);
    let phone_id = phone["device_id"].as_i64().expect("id");
    let rename = |name: Value| {
        t.http
            .patch(t.url(&format!("/api/v1/me/devices/{phone_id}")))
            .bearer_auth(&laptop_token)
            .json(&json!({ "name": name }))
    };
    assert_eq!(
        t.send(rename(json!("Mei's phone"))).await.0,
        StatusCode::NO_CONTENT
    );
    for bad in [
        json!(""),
        json!("x".repeat(65)),
        json!("a\u{202E}b"),
        json!(5),
    ] {
        assert_eq!(
            t.send(rename(bad.clone())).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    assert_eq!(
        t.get(Some(&phone_token), "/api/v1/me").await.0,
        StatusCode::OK
    );
    let remove = |id: i64| {
        t.http
            .delete(t.url(&format!("/api/v1/me/devices/{id}")))
            .bearer_auth(&laptop_token)
    };
    assert_eq!(t.send(remove(phone_id)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        t.get(Some(&phone_token), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "removing a device ends its sessions at once"
    );
    assert_eq!(t.send(remove(999_999)).await.0, StatusCode::NOT_FOUND);
    let sign_up_device = devices
        .iter()
        .find(|d| d["id"] != phone["device_id"] && d["id"] != laptop["device_id"])
        .expect("the sign-up device")["id"]
        .as_i64()
        .expect("id");
    assert_eq!(
        t.send(remove(sign_up_device)).await.0,
        StatusCode::NO_CONTENT
    );
    let laptop_id = laptop["device_id"].as_i64().expect("id");
    let (status, body) = t.send(remove(laptop_id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["type"], "/problems/step-up-required");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE purpose = 'new_device_alert'"
        )
        .await,
        2
    );
    let (_, events) = t
        .get(Some(&laptop_token), "/api/v1/me/security-events")
        .await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["device_added", "device_renamed", "device_removed"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
}
both!(
    devices_are_listed_renamed_and_removed,
    // Three devices in a day would be churn and ask for a code first.
    |c: &mut koban::config::Config| c.risk_device_churn_count = 0
);

/// At the device limit a new sign-in is told which devices are bound and
/// must remove one first: the seed's multi-device conflict.
async fn device_limit_conflict_is_resolved_by_removing_one(t: TestApp) {
    t.signed_up("limit@example.com", PASSWORD).await;
    let (_, first) = sign_in_from(
        &t,
        "first-device-00000000001",
        "limit@example.com",
        PASSWORD,
    )
    .await;
    let first_token = first["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    sign_in_from(
        &t,
        "second-device-0000000002",
        "limit@example.com",
        PASSWORD,
    )
    .await;
    let (status, conflict) = sign_in_from(
        &t,
        "third-device-00000000003",
        "limit@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["type"], "/problems/device-limit");
    assert_eq!(conflict["devices"].as_array().expect("devices").len(), 2);
    let challenge = conflict["challenge"]
        .as_str()
        .expect("challenge")
        .to_string();
    let (status, _) = t
        .post(
            "/api/v1/sessions/device-limit",
            json!({ "challenge": challenge, "remove_device_id": 424242 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = t
        .post(
            "/api/v1/sessions/device-limit",
            json!({ "challenge": "kbc_forged", "remove_device_id": first["device_id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        t.get(Some(&first_token), "/api/v1/me").await.0,
        StatusCode::OK
    );
    let request = t
        .http
        .post(t.url("/api/v1/sessions/device-limit"))
        .header("x-koban-device", "third-device-00000000003")
        .json(&json!({ "challenge": challenge, "remove_device_id": first["device_id"] }));
    let (status, signed_in) = t.send(request).await;
    assert_eq!(status, StatusCode::CREATED, "{signed_in}");
    assert_eq!(
        t.get(Some(&first_token), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = t
        .post(
            "/api/v1/sessions/device-limit",
            json!({ "challenge": challenge, "remove_device_id": signed_in["device_id"] }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a challenge is single use"
    );
}
both!(
    device_limit_conflict_is_resolved_by_removing_one,
    |c: &mut koban::config::Config| {
        c.max_devices = 2;
        // Three devices in a day is churn, which would ask for a code first.
        c.risk_device_churn_count = 0;
    }
);

/// Malformed device ids are refused; a huge User-Agent is cut, not refused.
async fn malformed_device_headers_are_refused_and_huge_user_agents_cut(t: TestApp) {
    t.signed_up("hdr@example.com", PASSWORD).await;
    for bad in [
        "short",
        "has spaces in the id!",
        "<script>alert(1)</script>aaaaaa",
    ] {
        let (status, body) = sign_in_from(&t, bad, "hdr@example.com", PASSWORD).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["errors"][0]["field"], "X-Koban-Device");
    }
    let request = t
        .http
        .post(t.url("/api/v1/sessions"))
        .header("user-agent", "A".repeat(20_000))
        .json(&json!({ "identifier": "hdr@example.com", "password": PASSWORD }));
    assert_eq!(t.send(request).await.0, StatusCode::CREATED);
    assert_eq!(
        scalar(&t, "SELECT MAX(LENGTH(user_agent)) FROM login_attempts").await,
        512
    );
}
both!(malformed_device_headers_are_refused_and_huge_user_agents_cut);

fn totp_now(secret_base32: &str, offset_steps: i64) -> String {
    let secret = koban::security::totp::base32_decode(secret_base32).expect("base32");
    let step = koban::security::totp::step_of(koban::store::now_ms()) + offset_steps;
    koban::security::totp::code_at(&secret, step)
}

async fn second_factor(
    t: &TestApp,
    challenge: &Value,
    method: &str,
    code: &str,
) -> (StatusCode, Value) {
    t.post(
        "/api/v1/sessions/second-factor",
        json!({ "challenge": challenge, "method": method, "code": code }),
    )
    .await
}

/// Enrol TOTP, sign in with it, refuse a replayed code, use a recovery code
/// once, and lock the second factor on its own counter.
async fn totp_two_factor_sign_in(t: TestApp) {
    let token = t.signed_up("totp@example.com", PASSWORD).await;
    let (status, enrollment) = t.post_as(&token, "/api/v1/me/2fa/totp", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{enrollment}");
    let secret = enrollment["secret"].as_str().expect("secret").to_string();
    assert!(enrollment["otpauth_uri"]
        .as_str()
        .expect("uri")
        .starts_with("otpauth://totp/Koban%3Atotp%40example.com?secret="));
    assert!(enrollment["qr_svg"].as_str().expect("svg").contains("<svg"));
    let wrong = if totp_now(&secret, 0) == "000000" {
        "000001"
    } else {
        "000000"
    };
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/2fa/totp/confirm",
            json!({ "code": wrong }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Said as an authenticator app works: nothing to "request".
    assert_eq!(body["type"], "/problems/totp-wrong");
    assert!(
        !body["detail"].as_str().expect("detail").contains("Request"),
        "{body}"
    );
    // One step of clock skew is accepted.
    let (status, confirmed) = t
        .post_as(
            &token,
            "/api/v1/me/2fa/totp/confirm",
            json!({ "code": totp_now(&secret, -1) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let recovery: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    assert_eq!(recovery.len(), 10);

    let (status, pending) = sign_in(&t, "totp@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(pending["methods"], json!(["totp", "recovery_code"]));
    let code = totp_now(&secret, 0);
    let (status, done) = second_factor(&t, &pending["challenge"], "totp", &code).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    // The same code on a fresh sign-in is a replay, and is called one: the
    // person waits for the next code instead of doubting the app.
    let (_, pending) = sign_in(&t, "totp@example.com", PASSWORD).await;
    let challenge = pending["challenge"].clone();
    let (status, body) = second_factor(&t, &challenge, "totp", &code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["type"], "/problems/totp-just-used");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("next one"),
        "{body}"
    );
    // So is the code that turned 2FA on, right after.
    let (status, body) = second_factor(&t, &challenge, "totp", &totp_now(&secret, -1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["type"], "/problems/totp-just-used");
    // A recovery code works once, in any case, with or without its dash.
    let typed = recovery[0].to_uppercase().replace('-', "");
    let (status, _) = second_factor(&t, &challenge, "recovery_code", &typed).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, pending) = sign_in(&t, "totp@example.com", PASSWORD).await;
    let challenge = pending["challenge"].clone();
    let (status, _) = second_factor(&t, &challenge, "recovery_code", &recovery[0]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Wrong codes lock the second factor, on a counter of its own.
    for _ in 0..4 {
        let (status, _) = second_factor(&t, &challenge, "totp", "999999").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, body) = second_factor(&t, &challenge, "totp", &totp_now(&secret, 1)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["type"], "/problems/second-factor-locked");
    let (status, _) = sign_in(&t, "totp@example.com", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "second-factor failures do not lock the password path"
    );
}
both!(totp_two_factor_sign_in);

/// Disabling 2FA and new recovery codes need a fresh second factor.
async fn step_up_guards_sensitive_changes(t: TestApp) {
    let token = t.signed_up("step@example.com", PASSWORD).await;
    let (_, enrollment) = t.post_as(&token, "/api/v1/me/2fa/totp", json!({})).await;
    let secret = enrollment["secret"].as_str().expect("secret").to_string();
    let (status, _) = t
        .post_as(
            &token,
            "/api/v1/me/2fa/totp/confirm",
            json!({ "code": totp_now(&secret, -1) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, pending) = sign_in(&t, "step@example.com", PASSWORD).await;
    let (status, done) =
        second_factor(&t, &pending["challenge"], "totp", &totp_now(&secret, 0)).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    let fresh = done["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (status, body) = t.delete(&fresh, "/api/v1/me/2fa").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["type"], "/problems/step-up-required");
    let (status, _) = t
        .post_as(&fresh, "/api/v1/me/2fa/recovery-codes", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .post_as(
            &fresh,
            "/api/v1/me/step-up",
            json!({ "method": "totp", "code": "123" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = t
        .post_as(
            &fresh,
            "/api/v1/me/step-up",
            json!({ "method": "totp", "code": totp_now(&secret, 1) }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, codes) = t
        .post_as(&fresh, "/api/v1/me/2fa/recovery-codes", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM recovery_codes").await, 10);
    assert_eq!(
        t.delete(&fresh, "/api/v1/me/2fa").await.0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = sign_in(&t, "step@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "2FA is off again");
}
both!(step_up_guards_sensitive_changes);

/// Device churn raises the score past the step-up threshold: an account
/// without 2FA is asked for a code sent to its verified contact.
async fn risky_sign_in_steps_up_with_a_code(t: TestApp) {
    t.signed_up("churn@example.com", PASSWORD).await;
    sign_in_from(
        &t,
        "churn-device-00000000001",
        "churn@example.com",
        PASSWORD,
    )
    .await;
    let (status, pending) = sign_in_from(
        &t,
        "churn-device-00000000002",
        "churn@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(pending["methods"], json!(["code"]));
    let code = t.latest_code("churn@example.com").await;
    let request = t
        .http
        .post(t.url("/api/v1/sessions/second-factor"))
        .header("x-koban-device", "churn-device-00000000002")
        .json(&json!({ "challenge": pending["challenge"], "method": "code", "code": code }));
    let (status, done) = t.send(request).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    let token = done["session"]["token"].as_str().expect("token");
    let (_, history) = t.get(Some(token), "/api/v1/me/login-history").await;
    let stepped = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["outcome"] == "second_factor_required")
        .expect("the step-up was recorded")
        .clone();
    assert_eq!(stepped["decision"], "step_up");
    assert!(
        stepped["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .any(|r| r == "device_churn"),
        "{stepped}"
    );
}
both!(
    risky_sign_in_steps_up_with_a_code,
    |c: &mut koban::config::Config| {
        c.risk_device_churn_count = 2;
        c.risk_step_up_score = 40;
    }
);

/// Changing the email needs a fresh second factor, a code to the new
/// address, and tells the old address.
async fn contact_change_needs_step_up_and_the_new_contacts_code(t: TestApp) {
    let token = t.signed_up("old@example.com", PASSWORD).await;
    t.signed_up("taken@example.com", PASSWORD).await;
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/contact-changes",
            json!({ "email": "new@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["type"], "/problems/step-up-required");
    // No 2FA: step up with a code sent to the verified contact.
    t.stepped_up(&token, "old@example.com").await;
    for (body, want) in [
        (
            json!({ "email": "taken@example.com" }),
            StatusCode::CONFLICT,
        ),
        (
            json!({ "email": "old@example.com" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "email": "not-an-address" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "email": "a@example.com", "phone": "+819012345678" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, problem) = t
            .post_as(&token, "/api/v1/me/contact-changes", body.clone())
            .await;
        assert_eq!(status, want, "{body}: {problem}");
    }
    let (status, _) = t
        .post_as(
            &token,
            "/api/v1/me/contact-changes",
            json!({ "email": "New@Example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = t.latest_code("new@example.com").await;
    let (status, _) = t
        .post_as(
            &token,
            "/api/v1/me/contact-changes/confirm",
            json!({ "code": "000000" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, account) = t
        .post_as(
            &token,
            "/api/v1/me/contact-changes/confirm",
            json!({ "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["email"], "new@example.com");
    assert_eq!(account["email_verified"], true);
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM deliveries WHERE purpose = 'contact_changed_notice' AND destination = 'old@example.com'").await,
        1
    );
    let (status, _) = sign_in(&t, "new@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = sign_in(&t, "old@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
both!(contact_change_needs_step_up_and_the_new_contacts_code);

/// Someone guessing from elsewhere locks the account for unknown clients,
/// but not for its owner on a device the account already knows.
async fn guessing_from_elsewhere_does_not_lock_the_owners_device(t: TestApp) {
    let owner = t.signed_up("target@example.com", PASSWORD).await;
    for n in 0..6 {
        let device = format!("attacker-device-{n:08}");
        sign_in_from(&t, &device, "target@example.com", "guess number 1").await;
    }
    let (status, body) = sign_in_from(
        &t,
        "attacker-device-99999999",
        "target@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["type"], "/problems/sign-in-locked", "{body}");
    // The owner's own device (the one that signed up) still gets in...
    let (status, body) = sign_in(&t, "target@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // ...without resetting the back-off for everyone else.
    let (status, _) = sign_in_from(
        &t,
        "attacker-device-99999999",
        "target@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get(Some(&owner), "/api/v1/me").await.0, StatusCode::OK);
}
both!(
    guessing_from_elsewhere_does_not_lock_the_owners_device,
    |c: &mut koban::config::Config| c.risk_device_churn_count = 0
);

/// Attempts recorded together are written together, and each lands whole:
/// with and without a location, with odd text, in one batch or several.
async fn attempts_written_together_land_one_row_each(t: TestApp) {
    use koban::security::history::Attempt;
    let attempt = |i: usize| Attempt {
        account_id: i.is_multiple_of(3).then_some(i as i64),
        ip: format!("198.51.100.{}", i % 250),
        country: i.is_multiple_of(2).then(|| "JP".to_string()),
        latitude: i.is_multiple_of(2).then_some(35.6895 + i as f64 / 1e4),
        longitude: i.is_multiple_of(2).then_some(139.6917),
        device_id: None,
        user_agent: Some(format!("agent \"{i}\" 'quoted' ☃")),
        outcome: "locked",
        risk_score: i as i64,
        reasons: vec!["locked".into(), format!("r{i}")],
        decision: "deny",
    };
    // Half are waited for, half handed over (as refusals from memory are);
    // a flush then waits for those too.
    for i in (1..1_500).step_by(2) {
        koban::security::state(&t.app)
            .attempt_log
            .record_later(attempt(i));
    }
    let written = futures_util::future::join_all((0..1_500).step_by(2).map(|i| {
        koban::security::state(&t.app)
            .attempt_log
            .record(attempt(i))
    }))
    .await;
    assert!(written.iter().all(Result::is_ok));
    koban::security::state(&t.app)
        .attempt_log
        .flush()
        .await
        .expect("flush");
    let rows = sqlx::query(
        "SELECT account_id, ip, country, latitude, longitude, user_agent, risk_score, reasons FROM login_attempts ORDER BY risk_score",
    )
    .fetch_all(t.app.store.read())
    .await
    .expect("rows");
    assert_eq!(rows.len(), 1_500);
    for (i, row) in rows.iter().enumerate() {
        let expected = attempt(i);
        assert_eq!(row.get::<i64, _>("risk_score"), i as i64);
        assert_eq!(row.get::<Option<i64>, _>("account_id"), expected.account_id);
        assert_eq!(row.get::<String, _>("ip"), expected.ip);
        assert_eq!(row.get::<Option<String>, _>("country"), expected.country);
        assert_eq!(row.get::<Option<f64>, _>("latitude"), expected.latitude);
        assert_eq!(row.get::<Option<f64>, _>("longitude"), expected.longitude);
        assert_eq!(
            row.get::<Option<String>, _>("user_agent"),
            expected.user_agent
        );
        assert_eq!(row.get::<String, _>("reasons"), format!("locked,r{i}"));
    }
}
both!(attempts_written_together_land_one_row_each);

/// The guard keys a sign-in's single read builds in SQL are the keys the
/// rest of the code builds in Rust: a mismatch would read no guard at all,
/// so no lock would ever hold.
async fn guard_keys_built_in_sql_match_rust(db: crate::support::Db) {
    use koban::security::guards;
    let Some((store, _dir)) = crate::support::fresh_store(db).await else {
        return;
    };
    let sql = format!(
        "SELECT {} AS account_key, {} AS device_key, {} AS identifier_key
         FROM (SELECT $1 AS identifier) AS probe, (SELECT $2 AS id) AS a, (SELECT $3 AS device_key_hash) AS d",
        guards::ACCOUNT_KEY_SQL,
        guards::DEVICE_KEY_SQL,
        guards::IDENTIFIER_KEY_SQL
    );
    let row = sqlx::query(&sql)
        .bind("+819012345678")
        .bind(4_200_000_001_i64)
        .bind("9f86d081884c7d65")
        .fetch_one(store.read())
        .await
        .unwrap();
    let text = |c: &str| row.try_get::<String, _>(c).unwrap();
    assert_eq!(text("account_key"), guards::account_key(4_200_000_001));
    assert_eq!(
        text("device_key"),
        guards::device_key(4_200_000_001, "9f86d081884c7d65")
    );
    assert_eq!(
        text("identifier_key"),
        guards::identifier_key("+819012345678")
    );
}
both_db!(guard_keys_built_in_sql_match_rust);

/// One statement reads the facts of several sign-ins, each exactly as it
/// would have read alone: a bound device, an unknown name, a phone number
/// with a failure on its guard and its address, the same account without
/// its device. A probe's facts must never be another probe's.
async fn one_read_for_many_sign_ins_gives_each_its_own_facts(t: TestApp) {
    use koban::security::facts::{self, Probe};
    use koban_policy::contact::Contact;
    t.signed_up("ann@example.com", PASSWORD).await;
    t.signed_up("+819012345678", PASSWORD).await;
    let device = "anns-phone-0000000000001";
    let (status, body) = sign_in_from(&t, device, "ann@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // From a device the account does not know: the account's guard counts it.
    let (status, _) = sign_in_from(
        &t,
        "a-stranger-0000000000001",
        "+819012345678",
        "not the password 1",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let now = koban::store::now_ms();
    let probe = |identifier: Contact, device: Option<&str>| Probe {
        identifier,
        presented_device: device.map(|d| koban::crypto::sha256_hex(d.as_bytes())),
        ip: "127.0.0.1".into(),
        failures_since: now - 3_600_000,
        devices_since: now - 3_600_000,
    };
    let probes = vec![
        probe(Contact::Email("ann@example.com".into()), Some(device)),
        probe(Contact::Email("nobody@example.com".into()), Some(device)),
        probe(Contact::Phone("+819012345678".into()), None),
        probe(Contact::Email("ann@example.com".into()), None),
    ];
    let store = &t.app.store;
    let together = facts::read_many(store, &probes).await.expect("read many");
    assert_eq!(together.len(), probes.len());
    for (probe, gathered) in probes.iter().zip(&together) {
        let alone = facts::read(store, probe.clone()).await.expect("read one");
        assert_eq!(format!("{gathered:?}"), format!("{alone:?}"), "{probe:?}");
    }
    let found = |i: usize| together[i].found.as_ref().map(|(a, _)| a.email.clone());
    assert_eq!(found(0), Some(Some("ann@example.com".into())));
    assert!(together[0].device_id.is_some());
    assert!(together[0].past.last.is_some(), "ann's sign-in is her past");
    assert!(together[1].found.is_none());
    let phone = together[2].found.as_ref().map(|(a, _)| a.phone.clone());
    assert_eq!(phone, Some(Some("+819012345678".into())));
    assert_eq!(together[2].guard.failures, 1);
    assert_eq!(
        together[3].found.as_ref().map(|(a, _)| a.id),
        together[0].found.as_ref().map(|(a, _)| a.id)
    );
    assert!(together[3].device_id.is_none());
    for facts in &together {
        assert_eq!(
            facts.ip_failures, 1,
            "the address's one failure, for every probe"
        );
    }
    assert!(facts::read_many(store, &[])
        .await
        .expect("nothing")
        .is_empty());
}
both!(one_read_for_many_sign_ins_gives_each_its_own_facts);

/// Sign-ins arriving together while the hashing threads are busy share
/// reads, and every one of them still gets its own answer: the right
/// password signs in, a wrong one is refused, an unknown name is refused.
async fn sign_ins_arriving_together_share_reads_and_keep_their_answers(t: TestApp) {
    // Right passwords for the first four, wrong ones (four each, short of a
    // lock) for the last two, so no right password meets a failure.
    let accounts: Vec<String> = (0..6).map(|i| format!("crowd{i}@example.com")).collect();
    for account in &accounts {
        t.signed_up(account, PASSWORD).await;
    }
    let (statements_before, sign_ins_before) =
        koban::security::state(&t.app).sign_in_reads.counts();
    let attempts: Vec<(String, &str, StatusCode)> = (0..24)
        .map(|i| match i % 3 {
            0 => (accounts[i % 4].clone(), PASSWORD, StatusCode::CREATED),
            1 => (
                accounts[4 + i % 2].clone(),
                "a wrong guess 99",
                StatusCode::UNAUTHORIZED,
            ),
            _ => (
                format!("stranger{i}@example.com"),
                PASSWORD,
                StatusCode::UNAUTHORIZED,
            ),
        })
        .collect();
    let tasks: Vec<_> = attempts
        .iter()
        .map(|(identifier, password, _)| sign_in(&t, identifier, password))
        .collect();
    let answers = futures_util::future::join_all(tasks).await;
    for ((identifier, password, expected), (status, body)) in attempts.iter().zip(&answers) {
        assert_eq!(status, expected, "{identifier} / {password}: {body}");
    }
    let (statements, sign_ins) = koban::security::state(&t.app).sign_in_reads.counts();
    let (statements, sign_ins) = (statements - statements_before, sign_ins - sign_ins_before);
    assert_eq!(sign_ins, 24, "every sign-in read once");
    assert!(
        statements < sign_ins,
        "{statements} statements for {sign_ins} sign-ins"
    );
}
both!(sign_ins_arriving_together_share_reads_and_keep_their_answers);

/// A sign-in from a bound device writes three things in one round trip:
/// the device is touched (time, address, client version), the success is in
/// the history with the device, and the session is bound to the device.
async fn a_known_device_sign_in_touches_records_and_binds(t: TestApp) {
    t.signed_up("kim@example.com", PASSWORD).await;
    let device = "kims-tablet-000000000001";
    let sign_in_with = |version: &str| {
        t.http
            .post(t.url("/api/v1/sessions"))
            .header("x-koban-device", device)
            .header("x-koban-client-version", version)
            .json(&json!({ "identifier": "kim@example.com", "password": PASSWORD }))
    };
    let (status, first) = t.send(sign_in_with("13.2.0")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["new_device"], true);
    let device_id = first["device_id"].as_i64().expect("device id");
    let seen_before = scalar(
        &t,
        &format!("SELECT last_seen_at FROM devices WHERE id = {device_id}"),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, again) = t.send(sign_in_with("13.3.1")).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["new_device"], false);
    assert_eq!(again["device_id"], device_id);
    let token = again["session"]["token"].as_str().expect("token");

    let (_, devices) = t.get(Some(token), "/api/v1/me/devices").await;
    let tablet = devices
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["id"] == device_id)
        .expect("the tablet")
        .clone();
    assert_eq!(tablet["client_version"], "13.3.1", "{tablet}");
    assert_eq!(tablet["last_ip"], "127.0.0.1", "{tablet}");
    assert_eq!(tablet["current"], true, "{tablet}");
    assert!(tablet["last_seen_at"].as_i64().expect("time") > seen_before);

    let (_, history) = t.get(Some(token), "/api/v1/me/login-history").await;
    let successes: Vec<&Value> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["outcome"] == "success" && a["device_id"] == device_id)
        .collect();
    assert_eq!(successes.len(), 2, "{history}");
    assert_eq!(
        scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM sessions WHERE device_id = {device_id} AND revoked_at IS NULL"
            )
        )
        .await,
        2
    );
}
both!(a_known_device_sign_in_touches_records_and_binds);

/// The same writes when the operator has sign-ins wait for the WAL flush
/// (on PostgreSQL another statement; SQLite has no such choice).
async fn a_known_device_sign_in_that_waits_for_the_flush_writes_the_same(t: TestApp) {
    a_known_device_sign_in_touches_records_and_binds(t).await;
}
both!(
    a_known_device_sign_in_that_waits_for_the_flush_writes_the_same,
    |c: &mut koban::config::Config| c.database_sign_in_waits_for_flush = true
);

/// What a sign-in learns of the account's past is its newest successful
/// sign-ins, however many failures came after them: failures neither count
/// as places the account knows nor push a success out of the window.
async fn the_past_a_sign_in_weighs_is_its_newest_successes(t: TestApp) {
    use koban::security::facts::{self, PAST_SIGN_INS_WEIGHED};
    use koban::security::history::Attempt;
    t.signed_up("ines@example.com", PASSWORD).await;
    let account_id = scalar(
        &t,
        "SELECT id FROM accounts WHERE email = 'ines@example.com'",
    )
    .await;
    let attempt = |ip: &str, outcome: &'static str, country: &str| Attempt {
        account_id: Some(account_id),
        ip: ip.to_string(),
        country: Some(country.to_string()),
        latitude: None,
        longitude: None,
        device_id: None,
        user_agent: None,
        outcome,
        risk_score: 0,
        reasons: Vec::new(),
        decision: if outcome == "success" {
            "allow"
        } else {
            "deny"
        },
    };
    // Oldest first: one success from an address that a full window of newer
    // successes then pushes out, the window, a success from a last address,
    // and after it more failures than the window holds.
    let mut history = vec![attempt("192.0.2.1", "success", "FR")];
    history.extend((0..PAST_SIGN_INS_WEIGHED - 1).map(|_| attempt("192.0.2.2", "success", "JP")));
    history.push(attempt("192.0.2.3", "success", "TH"));
    history.extend(
        (0..2 * PAST_SIGN_INS_WEIGHED).map(|_| attempt("203.0.113.9", "wrong_password", "US")),
    );
    for a in history {
        koban::security::state(&t.app)
            .attempt_log
            .record(a)
            .await
            .expect("recorded");
    }
    let identifier = koban_policy::contact::parse_identifier("ines@example.com", None).unwrap();
    let probe = facts::Probe {
        identifier,
        presented_device: None,
        ip: "198.51.100.7".into(),
        failures_since: 0,
        devices_since: 0,
    };
    let facts = facts::read(&t.app.store, probe).await.expect("read");
    let mut ips: Vec<String> = facts
        .past
        .known_ips
        .iter()
        .map(|ip| ip.to_string())
        .collect();
    ips.sort();
    assert_eq!(ips, ["192.0.2.2", "192.0.2.3"]);
    let mut countries = facts.past.known_countries.clone();
    countries.sort();
    assert_eq!(countries, ["JP", "TH"]);
    let last = facts.past.last.expect("a last success");
    assert_eq!(last.ip, "192.0.2.3");
    assert_eq!(last.country.as_deref(), Some("TH"));
}
both!(the_past_a_sign_in_weighs_is_its_newest_successes);
