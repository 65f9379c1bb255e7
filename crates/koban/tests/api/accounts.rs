//! Sign-up, verification codes, sign-in, sessions, passwords.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "plum blossom 2026";

async fn sign_up_with_phone_verify_and_use_the_session(t: TestApp) {
    let (status, body) = t
        .post(
            "/api/v1/accounts",
            json!({ "phone": "＋81 90-1234-5678", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["verification_channel"], "phone");
    assert_eq!(body["destination"], "+81******5678");
    let code = t.latest_code("+819012345678").await;
    let (status, body) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": "+819012345678", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["account"]["phone_verified"], true);
    assert_eq!(body["account"]["status"], "active");
    let token = body["session"]["token"].as_str().unwrap().to_string();
    let (status, me) = t.get(Some(&token), "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["phone"], "+819012345678");
    // The code was single use.
    let (status, _) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": "+819012345678", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Sign out ends the session.
    assert_eq!(
        t.delete(&token, "/api/v1/sessions/current").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(Some(&token), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    // And signing in again works with either form of the number.
    let (status, body) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "090 1234 5678", "region": "JP", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
both!(sign_up_with_phone_verify_and_use_the_session);

async fn duplicate_contact_is_409_naming_the_field(t: TestApp) {
    t.signed_up("mei@example.com", PASSWORD).await;
    let accounts = t.count("accounts").await;
    let (status, body) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "MEI@example.com", "password": "another password 9" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["type"], "/problems/account-exists");
    assert_eq!(body["errors"][0]["field"], "email");
    assert!(body["detail"].as_str().unwrap().contains("reset"), "{body}");
    assert_eq!(t.count("accounts").await, accounts);
    // In Chinese too.
    let request = t
        .http
        .post(t.url("/api/v1/accounts"))
        .header("accept-language", "zh-CN")
        .json(&json!({ "email": "mei@example.com", "password": "another password 9" }));
    let (_, body) = t.send(request).await;
    assert!(body["detail"].as_str().unwrap().contains("邮箱"), "{body}");
}
both!(duplicate_contact_is_409_naming_the_field);

/// Each bad input: a 4xx problem naming the field, and nothing written.
async fn bad_sign_up_input_is_refused_and_writes_nothing(t: TestApp) {
    let cases: Vec<(serde_json::Value, StatusCode, &str, &str)> = vec![
        (
            json!({ "phone": 819012345678u64, "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phone",
            "invalid_type",
        ),
        (
            json!({ "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phone",
            "required",
        ),
        (
            json!({ "email": "a@example.com" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
            "required",
        ),
        (
            json!({ "phone": "090-1234-5678", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phone",
            "phone_ambiguous",
        ),
        (
            json!({ "phone": "+81 12", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phone",
            "phone_invalid",
        ),
        (
            json!({ "phone": "+81 90 1234 5678", "region": "ZZ", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phone",
            "unknown_region",
        ),
        (
            json!({ "email": "not-an-email", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
            "email_invalid",
        ),
        (
            json!({ "email": "a@example.com", "password": "password1" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
            "common",
        ),
        (
            json!({ "email": "a@example.com", "password": "short" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
            "too_short",
        ),
        (
            json!({ "email": "x'; DROP TABLE accounts;--@example.com", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
            "email_invalid",
        ),
        (
            json!({ "email": "<script>alert(1)</script>@example.com", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
            "email_invalid",
        ),
        (
            json!({ "email": "mei\u{200B}@example.com", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
            "hidden_character",
        ),
        (
            json!({ "email": "mei@ex\u{0430}mple.com", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
            "email_not_ascii",
        ),
        (
            json!({ "phone": "+81 90 1234 5678\u{202E}", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phone",
            "hidden_character",
        ),
        (
            json!({ "phone": "+819012345678", "email": "a@example.com", "password": PASSWORD }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phone",
            "one_of_phone_email",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "role": "admin" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "role",
            "unknown_field",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "locale": "xx-YY" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "locale",
            "invalid_value",
        ),
    ];
    for (body, want_status, field, code) in cases {
        let (status, problem) = t.post("/api/v1/accounts", body.clone()).await;
        assert_eq!(status, want_status, "{body} -> {problem}");
        assert_eq!(problem["status"], want_status.as_u16(), "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body} -> {problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{body} -> {problem}");
        assert!(
            problem["errors"][0]["detail"]
                .as_str()
                .is_some_and(|d| !d.starts_with("reason-")),
            "{problem}"
        );
    }
    // Not JSON at all, wrong content type, and a body over the limit.
    let (status, problem) = t
        .send(
            t.http
                .post(t.url("/api/v1/accounts"))
                .header("content-type", "application/json")
                .body("{\"email\": "),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["type"], "/problems/malformed-json");
    let (status, _) = t
        .send(
            t.http
                .post(t.url("/api/v1/accounts"))
                .body("email=a@example.com"),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Just over the limit, yet small enough for the socket buffers: the client
    // finishes writing before the server answers 413 and closes.
    let huge = json!({ "email": "a@example.com", "password": "x".repeat(1024 * 1024 + 64) });
    let (status, problem) = t.post("/api/v1/accounts", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    assert_eq!(problem["type"], "/problems/body-too-large");
    assert_eq!(t.count("accounts").await, 0);
    assert_eq!(t.count("deliveries").await, 0);
    assert_eq!(t.count("verification_codes").await, 0);
}
both!(bad_sign_up_input_is_refused_and_writes_nothing);

async fn unknown_account_and_wrong_password_look_the_same(t: TestApp) {
    t.signed_up("li@example.com", PASSWORD).await;
    let (s1, b1) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "li@example.com", "password": "wrong password 1" }),
        )
        .await;
    let (s2, b2) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "nobody@example.com", "password": "wrong password 1" }),
        )
        .await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(s1, s2);
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("request_id");
        v
    };
    assert_eq!(strip(b1), strip(b2));
    // A malformed identifier is a field error, not a credential error.
    let (status, body) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "12345", "password": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "identifier");
}
both!(unknown_account_and_wrong_password_look_the_same);

async fn unverified_account_cannot_sign_in_until_verified(t: TestApp) {
    let (status, _) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "wei@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "wei@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["type"], "/problems/verification-required");
}
both!(unverified_account_cannot_sign_in_until_verified);

async fn codes_expire_die_after_five_wrong_tries_and_resends_are_throttled(t: TestApp) {
    let (status, _) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "ko@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let code = t.latest_code("ko@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (status, body) = t
            .post(
                "/api/v1/verifications",
                json!({ "identifier": "ko@example.com", "code": wrong }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["type"], "/problems/code-invalid");
    }
    // The right code no longer works: five wrong tries killed it.
    let (status, _) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": "ko@example.com", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A new code cannot be had within 60 seconds of the last.
    let (status, body) = t
        .send(
            t.http
                .post(t.url("/api/v1/codes"))
                .json(&json!({ "identifier": "ko@example.com" })),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let response = t
        .http
        .post(t.url("/api/v1/codes"))
        .json(&json!({ "identifier": "ko@example.com" }))
        .send()
        .await
        .unwrap();
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Pretend the last send was two minutes ago: a fresh code comes, and works.
    let two_minutes_ago = koban::store::now_ms() - 120_000;
    t.exec(&format!(
        "UPDATE send_throttle SET sent_times = '{two_minutes_ago}'"
    ))
    .await;
    let (status, _) = t
        .post("/api/v1/codes", json!({ "identifier": "ko@example.com" }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let fresh = t.latest_code_after(&code, "ko@example.com").await;
    // An expired code is refused.
    t.exec("UPDATE verification_codes SET expires_at = 1 WHERE consumed_at IS NULL AND superseded_at IS NULL").await;
    let (status, _) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": "ko@example.com", "code": fresh }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Malformed codes are field errors and do not count as tries.
    for bad in ["12345", "abcdef", "1234567", "12 34 5a"] {
        let (status, body) = t
            .post(
                "/api/v1/verifications",
                json!({ "identifier": "ko@example.com", "code": bad }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "code", "{bad}");
    }
}
both!(codes_expire_die_after_five_wrong_tries_and_resends_are_throttled);

async fn at_most_five_codes_an_hour(t: TestApp) {
    let (status, _) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "hour@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let now = koban::store::now_ms();
    // Four more, each "61 s" apart: the window then holds five.
    let times: Vec<String> = (1..=5)
        .map(|i| (now - 3_000_000 + i * 61_000).to_string())
        .collect();
    t.exec(&format!(
        "UPDATE send_throttle SET sent_times = '{}'",
        times.join(",")
    ))
    .await;
    let (status, _) = t
        .post("/api/v1/codes", json!({ "identifier": "hour@example.com" }))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let deliveries = t.count("deliveries").await;
    assert_eq!(deliveries, 1);
}
both!(at_most_five_codes_an_hour);

async fn resend_for_unknown_identifier_says_the_same_and_sends_nothing(t: TestApp) {
    let (status, body) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": "ghost@example.com", "purpose": "password_reset" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(t.count("deliveries").await, 0);
    // And it is throttled like a real one, so timing of 429s reveals nothing either.
    let (status, _) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": "ghost@example.com", "purpose": "password_reset" }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, body) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": "ghost@example.com", "purpose": "bogus" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "purpose");
}
both!(resend_for_unknown_identifier_says_the_same_and_sends_nothing);

async fn password_change_and_reset_end_other_sessions(t: TestApp) {
    let first = t.signed_up("ren@example.com", PASSWORD).await;
    let (_, second) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "ren@example.com", "password": PASSWORD }),
        )
        .await;
    let second = second["session"]["token"].as_str().unwrap().to_string();
    // Wrong current password: refused, nothing changes.
    let (status, body) = t
        .post_as(
            &first,
            "/api/v1/me/password",
            json!({ "current_password": "nope nope nope", "new_password": "new harbor lights" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "current_password");
    assert_eq!(t.get(Some(&second), "/api/v1/me").await.0, StatusCode::OK);
    // Weak new password: refused.
    let (status, body) = t
        .post_as(
            &first,
            "/api/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": "123456789" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "new_password");
    let (status, _) = t
        .post_as(
            &first,
            "/api/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": "new harbor lights" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.get(Some(&first), "/api/v1/me").await.0,
        StatusCode::OK,
        "the session that changed it stays"
    );
    assert_eq!(
        t.get(Some(&second), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Reset by code ends every session.
    let two_minutes_ago = koban::store::now_ms() - 120_000;
    t.exec(&format!(
        "UPDATE send_throttle SET sent_times = '{two_minutes_ago}'"
    ))
    .await;
    let old_code = t.latest_code("ren@example.com").await;
    let (status, _) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": "ren@example.com", "purpose": "password_reset" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = t.latest_code_after(&old_code, "ren@example.com").await;
    let (status, body) = t
        .post(
            "/api/v1/password-resets",
            json!({ "identifier": "ren@example.com", "code": code, "new_password": "password" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = t.post("/api/v1/password-resets", json!({ "identifier": "ren@example.com", "code": code, "new_password": "quiet river stones" })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        t.get(Some(&first), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "ren@example.com", "password": "quiet river stones" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "ren@example.com", "password": "new harbor lights" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
both!(password_change_and_reset_end_other_sessions);

async fn sessions_expire_and_sign_out_everywhere_works(t: TestApp) {
    let a = t.signed_up("sato@example.com", PASSWORD).await;
    let (_, b) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "sato@example.com", "password": PASSWORD }),
        )
        .await;
    let b = b["session"]["token"].as_str().unwrap().to_string();
    assert_eq!(
        t.delete(&a, "/api/v1/sessions").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(Some(&a), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get(Some(&b), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, c) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "sato@example.com", "password": PASSWORD }),
        )
        .await;
    let c = c["session"]["token"].as_str().unwrap().to_string();
    assert_eq!(t.get(Some(&c), "/api/v1/me").await.0, StatusCode::OK);
    t.exec("UPDATE sessions SET idle_expires_at = 1 WHERE revoked_at IS NULL")
        .await;
    assert_eq!(
        t.get(Some(&c), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    for bogus in ["", "kbs_", "kbs_nonsense", "Bearer", &"k".repeat(5000)] {
        assert_eq!(
            t.get(Some(bogus), "/api/v1/me").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
}
both!(sessions_expire_and_sign_out_everywhere_works);

async fn passwords_are_argon2id_and_rehashed_when_parameters_rise(t: TestApp) {
    use sqlx::Row;
    let stored = || async {
        let row = sqlx::query("SELECT password_hash FROM accounts")
            .fetch_one(t.app.store.read())
            .await
            .unwrap();
        row.try_get::<String, _>("password_hash").unwrap()
    };
    t.signed_up("hash@example.com", PASSWORD).await;
    assert!(
        stored()
            .await
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored().await
    );
    // An account hashed under older, weaker parameters...
    let weak = koban::accounts::password_hash::PasswordHasher::new(8 * 1024, 1, 1).unwrap();
    let old = weak.hash(PASSWORD.to_string()).await.unwrap();
    t.exec(&format!("UPDATE accounts SET password_hash = '{old}'"))
        .await;
    // ...still signs in, and is re-hashed with the current ones on the way.
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "hash@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        stored()
            .await
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored().await
    );
    // A wrong password never rewrites the hash.
    let before = stored().await;
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": "hash@example.com", "password": "not the password" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(stored().await, before);
}
both!(passwords_are_argon2id_and_rehashed_when_parameters_rise);
