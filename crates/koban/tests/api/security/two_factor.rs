//! TOTP sign-in, step-up before sensitive changes, risky sign-ins stepped
//! up with a code, and the contact change.

use super::*;

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

/// A sign-in right after 2FA was turned on asks for the second factor,
/// every time, while other sign-ins share the database reads: the facts a
/// sign-in is judged by are never older than the write that came before.
async fn a_sign_in_right_after_enrolment_asks_for_the_second_factor(t: TestApp) {
    let t = std::sync::Arc::new(t);
    let mut runs = Vec::new();
    for i in 0..12 {
        let t = t.clone();
        runs.push(tokio::spawn(async move {
            let email = format!("fresh{i}@example.com");
            let token = t.signed_up(&email, PASSWORD).await;
            for _ in 0..3 {
                let _ = sign_in(&t, &email, PASSWORD).await;
            }
            let (_, enrollment) = t.post_as(&token, "/api/v1/me/2fa/totp", json!({})).await;
            let secret = enrollment["secret"].as_str().expect("secret").to_string();
            let (status, _) = t
                .post_as(
                    &token,
                    "/api/v1/me/2fa/totp/confirm",
                    json!({ "code": totp_now(&secret, 0) }),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let (status, body) = sign_in(&t, &email, PASSWORD).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{email}: {body}");
        }));
    }
    for run in runs {
        run.await.expect("a run");
    }
}
both!(a_sign_in_right_after_enrolment_asks_for_the_second_factor);
