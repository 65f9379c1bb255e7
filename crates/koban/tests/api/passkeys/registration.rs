//! A passkey's life through the API (registered, used, removed), and
//! registrations the server must refuse.

use super::*;

async fn passkey_registers_signs_in_steps_up_and_goes(t: TestApp) {
    let email = "pk@example.com";
    let token = t.signed_up(email, PASSWORD).await;
    // Adding a passkey needs a fresh step-up, like any change to how the account is protected.
    let (status, body) = t
        .post_as(&token, "/api/v1/me/passkeys/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["type"], "/problems/step-up-required");
    step_up_with_code(&t, &token, email).await;

    let (status, options) = t
        .post_as(&token, "/api/v1/me/passkeys/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let public_key = &options["options"]["publicKey"];
    assert_eq!(public_key["rp"]["id"], RP_ID);
    assert_eq!(public_key["user"]["name"], email);
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    let authenticator = Authenticator::new();
    let (status, added) = t
        .post_as(
            &token,
            "/api/v1/me/passkeys",
            json!({
                "ceremony": options["ceremony"],
                "name": "Work laptop",
                "credential": authenticator.create(&options["options"], &Twist::default()),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["passkey"]["name"], "Work laptop");
    // The first second factor turns 2FA on and comes with recovery codes.
    assert_eq!(added["recovery_codes"].as_array().map(Vec::len), Some(10));
    let (_, list) = t.get(Some(&token), "/api/v1/me/passkeys").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert!(list[0]["last_used_at"].is_null());
    let (_, reminders) = t.get(Some(&token), "/api/v1/me/reminders").await;
    assert!(
        !reminders.to_string().contains("enable_two_factor"),
        "{reminders}"
    );

    // Sign-in now owes a second factor, and a passkey is one.
    let (status, pending) = sign_in(&t, email).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(pending["methods"], json!(["passkey", "recovery_code"]));
    let challenge = &pending["challenge"];
    let options = sign_in_options(&t, challenge).await;
    let allowed = &options["options"]["publicKey"]["allowCredentials"];
    assert_eq!(allowed[0]["id"], b64(&authenticator.credential_id));
    let mut authenticator = authenticator;
    let assertion = authenticator.get(&options["options"], &Twist::default());
    let (status, done) = finish_sign_in(&t, challenge, &options["ceremony"], assertion).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    assert_eq!(done["status"], "signed_in");
    let session = done["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (_, list) = t.get(Some(&session), "/api/v1/me/passkeys").await;
    assert!(list[0]["last_used_at"].is_i64(), "{list}");
    let row = sqlx::query("SELECT sign_count FROM passkeys")
        .fetch_one(t.app.store.read())
        .await
        .expect("row");
    assert_eq!(row.try_get::<i64, _>("sign_count").expect("count"), 1);

    // Step-up with a passkey, then the sensitive changes it guards.
    let (status, body) = t.delete(&session, "/api/v1/me/2fa").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, options) = t
        .post_as(&session, "/api/v1/me/step-up/passkey/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let assertion = authenticator.get(&options["options"], &Twist::default());
    let (status, body) = t
        .post_as(
            &session,
            "/api/v1/me/step-up/passkey",
            json!({ "ceremony": options["ceremony"], "credential": assertion }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // A TOTP code cannot stand in for a passkey the account has not got.
    let (status, body) = t
        .post_as(
            &session,
            "/api/v1/me/step-up",
            json!({ "method": "totp", "code": "123456" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let id = list[0]["id"].as_i64().expect("id");
    let request = t
        .http
        .patch(t.url(&format!("/api/v1/me/passkeys/{id}")))
        .bearer_auth(&session)
        .json(&json!({ "name": "Old laptop" }));
    let (status, body) = t.send(request).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let request = t
        .http
        .patch(t.url(&format!("/api/v1/me/passkeys/{id}")))
        .bearer_auth(&session)
        .json(&json!({ "name": " " }));
    let (status, body) = t.send(request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body).0, "name");
    let (_, list) = t.get(Some(&session), "/api/v1/me/passkeys").await;
    assert_eq!(list[0]["name"], "Old laptop");

    // Removing the last second factor turns 2FA off: recovery codes die too.
    let (status, body) = t
        .delete(&session, &format!("/api/v1/me/passkeys/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(t.count("passkeys").await, 0);
    assert_eq!(t.count("recovery_codes").await, 0);
    let kinds = events(&t, &session).await;
    for kind in [
        "passkey_added",
        "two_factor_enabled",
        "passkey_renamed",
        "passkey_removed",
        "two_factor_disabled",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let (status, done) = sign_in(&t, email).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
}

both!(
    passkey_registers_signs_in_steps_up_and_goes,
    super::configure
);

async fn bad_registrations_are_refused_and_change_nothing(t: TestApp) {
    let (token, mine) = with_passkey(&t, "a@example.com").await;
    let (other_token, _) = with_passkey(&t, "b@example.com").await;
    let before = snapshot(&t).await;
    let newcomer = Authenticator::new();
    let (app, bearer) = (&t, &token);
    let begin = || async {
        let (status, options) = app
            .post_as(bearer, "/api/v1/me/passkeys/options", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        options
    };
    let finish = |ceremony: Value, name: &str, credential: Value| {
        let body = json!({ "ceremony": ceremony, "name": name, "credential": credential });
        async move { app.post_as(bearer, "/api/v1/me/passkeys", body).await }
    };
    let cases: Vec<(&str, Twist, &str, &str)> = vec![
        (
            "wrong challenge",
            Twist {
                challenge: Some(b64(b"another challenge")),
                ..Twist::default()
            },
            "credential",
            "passkey_challenge",
        ),
        (
            "wrong origin",
            Twist {
                origin: Some("https://koban.evil".into()),
                ..Twist::default()
            },
            "credential",
            "passkey_origin",
        ),
        (
            "wrong rp id",
            Twist {
                rp_id: Some("evil.test".into()),
                ..Twist::default()
            },
            "credential",
            "passkey_rp_id",
        ),
    ];
    for (what, twist, field, code) in cases {
        let options = begin().await;
        let credential = newcomer.create(&options["options"], &twist);
        let (status, body) = finish(options["ceremony"].clone(), "New", credential).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(
            field_error(&body),
            (field.to_string(), code.to_string()),
            "{what}"
        );
        assert_eq!(snapshot(&t).await, before, "{what} changed nothing");
    }
    // A name is needed, and a body that is a credential.
    let options = begin().await;
    let (status, body) = finish(
        options["ceremony"].clone(),
        "",
        newcomer.create(&options["options"], &Twist::default()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body), ("name".into(), "empty".into()));
    let (status, body) = finish(options["ceremony"].clone(), "New", json!("nope")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("credential".into(), "passkey_malformed".into())
    );
    // The same authenticator again on this account, then on another: refused.
    let (status, body) = finish(
        options["ceremony"].clone(),
        "Again",
        mine.create(&options["options"], &Twist::default()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body), ("credential".into(), "taken".into()));
    let (status, options) = t
        .post_as(&other_token, "/api/v1/me/passkeys/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let (status, body) = t
        .post_as(
            &other_token,
            "/api/v1/me/passkeys",
            json!({
                "ceremony": options["ceremony"],
                "name": "Borrowed",
                "credential": mine.create(&options["options"], &Twist::default()),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body), ("credential".into(), "taken".into()));
    // Another account's ceremony does not serve this one.
    let (status, body) = finish(
        options["ceremony"].clone(),
        "Stolen",
        newcomer.create(&options["options"], &Twist::default()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "invalid_value".into())
    );
    assert_eq!(snapshot(&t).await, before);
    // Finishing twice: the second is refused and adds nothing.
    let options = begin().await;
    let credential = newcomer.create(&options["options"], &Twist::default());
    let (status, body) = finish(options["ceremony"].clone(), "New", credential.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body.get("recovery_codes").is_none(),
        "2FA was already on: {body}"
    );
    let (status, body) = finish(options["ceremony"].clone(), "New", credential).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "ceremony_used".into())
    );
    assert_eq!(t.count("passkeys").await, 3);
}

both!(
    bad_registrations_are_refused_and_change_nothing,
    super::configure
);
