//! Wrong passwords: counted exactly, locked with back-off, the owner told
//! once; an unknown identifier locks alike; a known device keeps its own count.

use super::*;

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
