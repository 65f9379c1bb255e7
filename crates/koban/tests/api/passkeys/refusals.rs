//! Passkey answers the server must refuse without changing anything, and
//! wrong passkeys counted on the second-factor counter.

use super::*;

async fn bad_passkey_answers_are_refused_and_change_nothing(t: TestApp) {
    let (token, mut mine) = with_passkey(&t, "a@example.com").await;
    let (_, mut theirs) = with_passkey(&t, "b@example.com").await;
    let (status, pending) = sign_in(&t, "a@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let challenge = pending["challenge"].clone();
    let before = snapshot(&t).await;

    // Each wrong answer gets its own fresh ceremony and is refused naming the field.
    let mut stranger = Authenticator::new();
    let cases = [
        (Bad::WrongChallenge, "passkey_challenge"),
        (Bad::WrongOrigin, "passkey_origin"),
        (Bad::WrongRpId, "passkey_rp_id"),
        (Bad::NotVerified, "passkey_user_verification"),
        (Bad::Unknown, "passkey_unknown"),
        (Bad::AnotherAccounts, "passkey_unknown"),
        (Bad::MalformedJson, "passkey_malformed"),
        (Bad::MalformedBase64, "passkey_malformed"),
        (Bad::ForgedSignature, "passkey_invalid"),
    ];
    for (what, code) in cases {
        let options = sign_in_options(&t, &challenge).await;
        let credential = what.answer(&options["options"], &mut mine, &mut theirs, &mut stranger);
        let (status, body) = finish_sign_in(&t, &challenge, &options["ceremony"], credential).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what:?}: {body}");
        assert_eq!(
            field_error(&body),
            ("credential".to_string(), code.to_string()),
            "{what:?}: {body}"
        );
        assert_eq!(snapshot(&t).await, before, "{what:?} changed nothing");
    }
    // Wrong passkeys are recorded and counted like wrong codes; malformed bodies are neither.
    let failed =
        sqlx::query("SELECT COUNT(*) AS n FROM login_attempts WHERE outcome = 'passkey_failed'")
            .fetch_one(t.app.store.read())
            .await
            .expect("count")
            .try_get::<i64, _>("n")
            .expect("n");
    assert_eq!(failed, 7);

    // Not JSON at all, and a ceremony that is not one.
    let request = t
        .http
        .post(t.url("/api/v1/sessions/second-factor/passkey"))
        .header("content-type", "application/json")
        .body("{\"challenge\": ");
    let (status, body) = t.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let options = sign_in_options(&t, &challenge).await;
    let answer = mine.get(&options["options"], &Twist::default());
    let (status, body) = finish_sign_in(&t, &challenge, &json!("kbw_forged"), answer.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "invalid_value".into())
    );
    let (status, body) = finish_sign_in(&t, &challenge, &json!(42), answer.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body).0, "ceremony");

    // An expired ceremony.
    t.exec("UPDATE webauthn_ceremonies SET expires_at = 1")
        .await;
    let (status, body) = finish_sign_in(&t, &challenge, &options["ceremony"], answer.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "ceremony_expired".into())
    );
    assert_eq!(
        snapshot(&t).await,
        before,
        "an expired ceremony changed nothing"
    );

    // A ceremony used once (even by a wrong answer) is not used again.
    let options = sign_in_options(&t, &challenge).await;
    let wrong = theirs.get(&options["options"], &Twist::default());
    let (status, _) = finish_sign_in(&t, &challenge, &options["ceremony"], wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let good = mine.get(&options["options"], &Twist::default());
    let (status, body) = finish_sign_in(&t, &challenge, &options["ceremony"], good).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "ceremony_used".into())
    );
    assert_eq!(
        snapshot(&t).await,
        before,
        "a used ceremony changed nothing"
    );

    // A ceremony of this sign-in does not serve another sign-in, even of the same account.
    let (_, other) = sign_in(&t, "a@example.com").await;
    let options = sign_in_options(&t, &challenge).await;
    let good = mine.get(&options["options"], &Twist::default());
    let (status, body) = finish_sign_in(&t, &other["challenge"], &options["ceremony"], good).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "invalid_value".into())
    );

    // Two ceremonies open; the later count lands first, so the earlier,
    // lower one is a counter going backwards: a cloned authenticator.
    let first = sign_in_options(&t, &challenge).await;
    let second = sign_in_options(&t, &challenge).await;
    let low = mine.get(&first["options"], &Twist::default());
    mine.counter += 5;
    let high = mine.get(&second["options"], &Twist::default());
    let (status, done) = finish_sign_in(&t, &challenge, &second["ceremony"], high.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    let after_success = snapshot(&t).await;
    let (status, pending) = sign_in(&t, "a@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let fresh_challenge = pending["challenge"].clone();
    let (status, body) = finish_sign_in(&t, &challenge, &first["ceremony"], low).await;
    // The first sign-in is finished: its challenge is gone.
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body).0, "challenge");
    let options = sign_in_options(&t, &fresh_challenge).await;
    let regressed = mine.get(
        &options["options"],
        &Twist {
            counter: Some(2),
            ..Twist::default()
        },
    );
    let (status, body) =
        finish_sign_in(&t, &fresh_challenge, &options["ceremony"], regressed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("credential".into(), "passkey_counter".into())
    );
    // The very same assertion replayed is refused too (its challenge was used).
    let options = sign_in_options(&t, &fresh_challenge).await;
    let (status, body) = finish_sign_in(&t, &fresh_challenge, &options["ceremony"], high).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("credential".into(), "passkey_challenge".into())
    );
    assert_eq!(
        snapshot(&t).await,
        after_success,
        "refused replays changed nothing"
    );

    // Two step-up ceremonies begun together: each remembers the counter as it
    // was. Once the later one moved it far ahead, the earlier one's count,
    // though above what that ceremony remembers, is behind and refused.
    let begin = || async {
        let (status, options) = t
            .post_as(&token, "/api/v1/me/step-up/passkey/options", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        options
    };
    let early = begin().await;
    let late = begin().await;
    let base = mine.counter;
    let behind = mine.get(
        &early["options"],
        &Twist {
            counter: Some(base + 1),
            ..Twist::default()
        },
    );
    mine.counter = base + 9;
    let ahead = mine.get(&late["options"], &Twist::default());
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/step-up/passkey",
            json!({ "ceremony": late["ceremony"], "credential": ahead }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let stepped = snapshot(&t).await;
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/step-up/passkey",
            json!({ "ceremony": early["ceremony"], "credential": behind }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("credential".into(), "passkey_counter".into())
    );
    assert_eq!(snapshot(&t).await, stepped);
    assert!(events(&t, &token)
        .await
        .iter()
        .any(|k| k == "passkey_counter_regressed"));
    // Finishing a step-up twice: the second is refused.
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/step-up/passkey",
            json!({ "ceremony": late["ceremony"], "credential": mine.get(&late["options"], &Twist::default()) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "ceremony_used".into())
    );
}

both!(
    bad_passkey_answers_are_refused_and_change_nothing,
    super::configure
);

async fn wrong_passkeys_lock_the_second_factor(t: TestApp) {
    let (_, mut mine) = with_passkey(&t, "a@example.com").await;
    let (_, pending) = sign_in(&t, "a@example.com").await;
    let challenge = pending["challenge"].clone();
    let wrong_origin = Twist {
        origin: Some("https://koban.evil".into()),
        ..Twist::default()
    };
    for _ in 0..2 {
        let options = sign_in_options(&t, &challenge).await;
        let answer = mine.get(&options["options"], &wrong_origin);
        let (status, _) = finish_sign_in(&t, &challenge, &options["ceremony"], answer).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Now even the right passkey waits out the lock, as a right code would.
    let options = sign_in_options(&t, &challenge).await;
    let answer = mine.get(&options["options"], &Twist::default());
    let (status, body) = finish_sign_in(&t, &challenge, &options["ceremony"], answer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["type"], "/problems/second-factor-locked");
    let outcomes: Vec<String> = sqlx::query(
        "SELECT outcome FROM login_attempts WHERE outcome IN ('passkey_failed', 'second_factor_locked') ORDER BY id",
    )
    .fetch_all(t.app.store.read())
    .await
    .expect("attempts")
    .iter()
    .map(|r| r.try_get("outcome").expect("outcome"))
    .collect();
    assert_eq!(
        outcomes,
        ["passkey_failed", "passkey_failed", "second_factor_locked"]
    );
    assert_eq!(t.count("sessions").await, 1, "only the sign-up session");
}
both!(
    wrong_passkeys_lock_the_second_factor,
    super::configure_quick_lock
);
