//! Lifting a lock with a passkey, without telling anyone whether the
//! identifier exists or has passkeys.

use super::*;

// ---- Unlocking with a passkey ----------------------------------------------

pub(super) const NEW_PASSWORD: &str = "fresh tea leaves 7";

/// Five wrong passwords: a lock that also asks for a new password.
pub(super) async fn lock_by_guessing(t: &TestApp, identifier: &str) {
    for _ in 0..5 {
        t.post(
            "/api/v1/sessions",
            json!({ "identifier": identifier, "password": "wrong guess 123" }),
        )
        .await;
    }
    assert!(is_locked(t, identifier).await, "{identifier} locked");
}

pub(super) async fn is_locked(t: &TestApp, identifier: &str) -> bool {
    let (_, body) = sign_in(t, identifier).await;
    body["type"] == "/problems/sign-in-locked"
}

async fn unlock_options(t: &TestApp, identifier: &str) -> Value {
    let (status, options) = t
        .post(
            "/api/v1/unlock/passkey/options",
            json!({ "identifier": identifier }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    options
}

async fn unlock_with(
    t: &TestApp,
    identifier: &str,
    ceremony: &Value,
    credential: Value,
    new_password: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({
        "identifier": identifier,
        "method": "passkey",
        "ceremony": ceremony,
        "credential": credential,
    });
    if let Some(password) = new_password {
        body["new_password"] = json!(password);
    }
    t.post("/api/v1/unlock/confirm", body).await
}

/// The shape of a JSON document: strings become their length, so two
/// answers with different random challenges but the same members compare equal.
fn skeleton(value: &Value) -> Value {
    match value {
        Value::String(s) => json!(s.len()),
        Value::Array(items) => Value::Array(items.iter().map(skeleton).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), skeleton(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An owner locked out by wrong passwords proves themselves with a passkey
/// and a new password; every bad answer before that is refused naming its
/// field and leaves the account locked and the passkeys as they were.
async fn passkey_unlocks_a_locked_account(t: TestApp) {
    let email = "a@example.com";
    let (old_session, mut mine) = with_passkey(&t, email).await;
    let (_, mut theirs) = with_passkey(&t, "b@example.com").await;
    lock_by_guessing(&t, email).await;
    let before = snapshot(&t).await;
    let unchanged = |what: String| {
        let t = &t;
        let before = before.clone();
        async move {
            assert_eq!(snapshot(t).await, before, "{what} changed nothing");
            assert!(is_locked(t, email).await, "{what}: still locked");
        }
    };

    // Wrong passkeys, each on a fresh ceremony.
    let mut stranger = Authenticator::new();
    for (what, code) in [
        (Bad::AnotherAccounts, "passkey_unknown"),
        (Bad::Unknown, "passkey_unknown"),
        (Bad::ForgedSignature, "passkey_invalid"),
        (Bad::WrongChallenge, "passkey_challenge"),
        (Bad::WrongOrigin, "passkey_origin"),
        (Bad::MalformedJson, "passkey_malformed"),
        (Bad::MalformedBase64, "passkey_malformed"),
    ] {
        let options = unlock_options(&t, email).await;
        let credential = what.answer(&options["options"], &mut mine, &mut theirs, &mut stranger);
        let (status, body) = unlock_with(
            &t,
            email,
            &options["ceremony"],
            credential,
            Some(NEW_PASSWORD),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what:?}: {body}");
        assert_eq!(
            field_error(&body),
            ("credential".to_string(), code.to_string()),
            "{what:?}: {body}"
        );
        unchanged(format!("{what:?}")).await;
    }

    // Missing members, a forged ceremony, and another purpose's or account's ceremony.
    let options = unlock_options(&t, email).await;
    let good = mine.get(&options["options"], &Twist::default());
    let body = json!({ "identifier": email, "method": "passkey", "credential": good, "new_password": NEW_PASSWORD });
    let (status, problem) = t.post("/api/v1/unlock/confirm", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "required".into())
    );
    let body = json!({ "identifier": email, "method": "passkey", "ceremony": options["ceremony"], "new_password": NEW_PASSWORD });
    let (status, problem) = t.post("/api/v1/unlock/confirm", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("credential".into(), "required".into())
    );
    let (status, problem) = unlock_with(
        &t,
        email,
        &json!("kbw_forged"),
        good.clone(),
        Some(NEW_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
    // A lock from wrong passwords needs a new password; the ceremony is not spent on the refusal.
    let (status, problem) = unlock_with(&t, email, &options["ceremony"], good.clone(), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("new_password".into(), "required".into())
    );
    unchanged("no new password".into()).await;
    let (status, step_up) = t
        .post_as(
            &old_session,
            "/api/v1/me/step-up/passkey/options",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{step_up}");
    let answer = mine.get(&step_up["options"], &Twist::default());
    let (status, problem) =
        unlock_with(&t, email, &step_up["ceremony"], answer, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
    lock_by_guessing(&t, "b@example.com").await;
    let their_options = unlock_options(&t, "b@example.com").await;
    let answer = mine.get(&their_options["options"], &Twist::default());
    let (status, problem) = unlock_with(
        &t,
        email,
        &their_options["ceremony"],
        answer,
        Some(NEW_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
    let before = snapshot(&t).await;
    let unchanged = |what: &'static str| {
        let t = &t;
        let before = before.clone();
        async move {
            assert_eq!(snapshot(t).await, before, "{what} changed nothing");
            assert!(is_locked(t, email).await, "{what}: still locked");
        }
    };
    unchanged("another account's ceremony").await;

    // Expired, then used (by a wrong answer): neither serves the right passkey.
    t.exec("UPDATE webauthn_ceremonies SET expires_at = 1")
        .await;
    let (status, problem) =
        unlock_with(&t, email, &options["ceremony"], good, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "ceremony_expired".into())
    );
    unchanged("an expired ceremony").await;
    let options = unlock_options(&t, email).await;
    let wrong = theirs.get(&options["options"], &Twist::default());
    let (status, _) = unlock_with(&t, email, &options["ceremony"], wrong, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let good = mine.get(&options["options"], &Twist::default());
    let (status, problem) =
        unlock_with(&t, email, &options["ceremony"], good, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "ceremony_used".into())
    );
    unchanged("a used ceremony").await;

    // The right passkey and a new password: unlocked, old password and sessions gone.
    let options = unlock_options(&t, email).await;
    let good = mine.get(&options["options"], &Twist::default());
    let (status, body) =
        unlock_with(&t, email, &options["ceremony"], good, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        t.get(Some(&old_session), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = sign_in(&t, email).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    let (status, pending) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": email, "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the second factor is still owed: {pending}"
    );
    let detail: String = sqlx::query(
        "SELECT e.detail FROM security_events e JOIN accounts a ON a.id = e.account_id
         WHERE a.email = $1 AND e.kind = 'unlocked'",
    )
    .bind(email)
    .fetch_one(t.app.store.read())
    .await
    .expect("unlocked event")
    .try_get("detail")
    .expect("detail");
    assert_eq!(detail, "self-service (passkey)");
    let (_, last_used) = sqlx::query("SELECT sign_count, last_used_at FROM passkeys ORDER BY id")
        .fetch_all(t.app.store.read())
        .await
        .expect("passkeys")
        .first()
        .map(|r| {
            (
                r.try_get::<i64, _>("sign_count").expect("count"),
                r.try_get::<Option<i64>, _>("last_used_at").expect("used"),
            )
        })
        .expect("a passkey");
    assert!(last_used.is_some(), "the passkey's use is recorded");
}

both!(passkey_unlocks_a_locked_account, super::configure);

/// Asking for unlock options reveals nothing: an unknown, an unlocked, a
/// passkey-less and a locked account with a passkey get answers of one
/// shape naming no credential, and a decoy can never be finished.
async fn unlock_passkey_options_reveal_nothing(t: TestApp) {
    let (_, mut open) = with_passkey(&t, "open@example.com").await;
    with_passkey(&t, "locked@example.com").await;
    lock_by_guessing(&t, "locked@example.com").await;
    t.signed_up("plain@example.com", PASSWORD).await;
    lock_by_guessing(&t, "plain@example.com").await;
    let before = t.count("deliveries").await;
    let mut shapes = Vec::new();
    for who in [
        "locked@example.com",
        "open@example.com",
        "plain@example.com",
        "ghost@example.com",
    ] {
        let options = unlock_options(&t, who).await;
        assert_eq!(
            options["options"]["publicKey"]["allowCredentials"],
            json!([]),
            "{who}: {options}"
        );
        shapes.push((who, skeleton(&options)));
    }
    for (who, shape) in &shapes[1..] {
        assert_eq!(shape, &shapes[0].1, "{who} answers like a locked account");
    }
    assert_eq!(t.count("deliveries").await, before, "nothing is sent");
    // A decoy is refused as a forged ceremony would be, and counts nothing.
    let options = unlock_options(&t, "open@example.com").await;
    let answer = open.get(&options["options"], &Twist::default());
    let passkeys = snapshot(&t).await;
    let (status, problem) = unlock_with(
        &t,
        "open@example.com",
        &options["ceremony"],
        answer,
        Some(NEW_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
    assert_eq!(snapshot(&t).await, passkeys);
    let (status, problem) = unlock_with(
        &t,
        "ghost@example.com",
        &json!("kbw_forged"),
        json!({}),
        Some(NEW_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
}

both!(unlock_passkey_options_reveal_nothing, super::configure);

/// Wrong passkeys at unlock count on the second-factor counter: once it
/// locks, even the right passkey waits, and the account stays locked.
async fn wrong_passkeys_at_unlock_lock_the_second_factor(t: TestApp) {
    let email = "a@example.com";
    let (_, mut mine) = with_passkey(&t, email).await;
    lock_by_guessing(&t, email).await;
    let wrong_origin = Twist {
        origin: Some("https://koban.evil".into()),
        ..Twist::default()
    };
    for _ in 0..2 {
        let options = unlock_options(&t, email).await;
        let answer = mine.get(&options["options"], &wrong_origin);
        let (status, _) =
            unlock_with(&t, email, &options["ceremony"], answer, Some(NEW_PASSWORD)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let options = unlock_options(&t, email).await;
    let answer = mine.get(&options["options"], &Twist::default());
    let (status, body) =
        unlock_with(&t, email, &options["ceremony"], answer, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["type"], "/problems/second-factor-locked");
    assert!(is_locked(&t, email).await);
}

both!(
    wrong_passkeys_at_unlock_lock_the_second_factor,
    super::configure_quick_lock
);

/// The lock page offers a passkey: its script's options request, a refusal
/// shown on the page (still locked), then the unlock and back to sign in.
async fn lock_page_unlocks_with_a_passkey(t: TestApp) {
    let email = "pages@example.com";
    let (_, mut authenticator) = with_passkey(&t, email).await;
    lock_by_guessing(&t, email).await;
    let mut p = Pages::new(&t).await;
    let page = p
        .get("/locked?identifier=pages%40example.com&kind=temporary")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"unlock-passkey\""), "{page}");
    let options_path = "/locked/passkey/options?identifier=pages%40example.com";
    // The address is HTML-escaped in the attribute (`/` as `&#x2f;`).
    assert!(
        page.contains("options?identifier=pages%40example.com\""),
        "{page}"
    );
    assert!(page.contains("passkeys.js?v="), "{page}");

    let (status, options) = script_post(&mut p, options_path).await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let ceremony = options["ceremony"].as_str().expect("ceremony").to_string();
    let credential = authenticator
        .get(&options["options"], &Twist::default())
        .to_string();
    // No new password, though wrong passwords caused the lock: refused next to the field.
    let response = p
        .post(
            "/locked/unlock",
            &[
                ("identifier", email),
                ("method", "passkey"),
                ("ceremony", &ceremony),
                ("credential", &credential),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("page");
    assert!(page.contains("id=\"new_password-error\""), "{page}");
    assert!(is_locked(&t, email).await);
    let response = p
        .post(
            "/locked/unlock",
            &[
                ("identifier", email),
                ("method", "passkey"),
                ("ceremony", &ceremony),
                ("credential", &credential),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&response).starts_with("/signin?identifier="),
        "{}",
        location(&response)
    );
    assert!(!is_locked(&t, email).await);
}

both!(lock_page_unlocks_with_a_passkey, super::configure);
