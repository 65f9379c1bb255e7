//! Passkeys through the HTML pages and the support reset.

use super::*;

async fn passkey_pages_sign_in_step_up_and_remove(t: TestApp) {
    let email = "pages@example.com";
    let (_, mut authenticator) = with_passkey(&t, email).await;
    let mut p = Pages::new(&t).await;
    let response = p.sign_in(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/signin/second-factor"));
    let page = p
        .get("/signin/second-factor")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"use-passkey\""), "{page}");
    assert!(page.contains("passkeys.js?v="), "{page}");

    // The page's script asks for options with the sign-in's cookie, then posts the form.
    let (status, options) = script_post(&mut p, "/signin/second-factor/passkey/options").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let ceremony = options["ceremony"].as_str().expect("ceremony").to_string();
    let response = p
        .post(
            "/signin/second-factor",
            &[
                ("method", "passkey"),
                ("ceremony", &ceremony),
                ("credential", "{not json"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("page");
    assert!(
        page.contains("This is not a well-formed passkey answer."),
        "{page}"
    );
    let credential = authenticator.get(&options["options"], &Twist::default());
    let response = p
        .post(
            "/signin/second-factor",
            &[
                ("method", "passkey"),
                ("ceremony", &ceremony),
                ("credential", &credential.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account");
    // Passkeys are listed with the other sign-in methods.
    let page = p
        .get("/account/security/2fa")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"passkeys\""), "{page}");
    let id = sqlx::query("SELECT id FROM passkeys")
        .fetch_one(t.app.store.read())
        .await
        .expect("passkey")
        .try_get::<i64, _>("id")
        .expect("id");

    // Adding or removing a passkey waits for a fresh step-up, which a passkey passes.
    let response = p.get("/account/security/passkeys").await;
    assert_eq!(
        location(&response),
        "/account/security/step-up?next=%2Faccount%2Fsecurity%2Fpasskeys"
    );
    let remove = format!("/account/security/passkeys/{id}/remove");
    let response = p.post(&remove, &[]).await;
    assert!(location(&response).starts_with("/account/security/step-up?next="));
    assert_eq!(t.count("passkeys").await, 1);
    let page = p
        .get("/account/security/step-up?next=/account/security/passkeys")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"step-up-passkey\""), "{page}");
    let (status, options) = script_post(&mut p, "/api/v1/me/step-up/passkey/options").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let credential = authenticator.get(&options["options"], &Twist::default());
    let response = p
        .post(
            "/account/security/step-up",
            &[
                ("method", "passkey"),
                ("ceremony", options["ceremony"].as_str().unwrap_or_default()),
                ("credential", &credential.to_string()),
                ("next", "/account/security/passkeys"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/account/security/passkeys");
    let page = p
        .get("/account/security/passkeys")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("data-passkey=\"create\""), "{page}");
    let response = p.post(&remove, &[]).await;
    assert_eq!(
        location(&response),
        "/account/security/2fa?notice=passkey-removed"
    );
    assert_eq!(t.count("passkeys").await, 0);
    let page = p
        .get("/account/security/2fa")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"twofa-off\""), "{page}");
}

both!(passkey_pages_sign_in_step_up_and_remove, super::configure);

/// Support's "reset 2FA" (for an owner who lost their second factors) takes
/// the passkeys too, not only TOTP.
async fn support_reset_removes_passkeys(t: TestApp) {
    let email = "lost@example.com";
    with_passkey(&t, email).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let owner: i64 = sqlx::query("SELECT id FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_one(t.app.store.read())
        .await
        .expect("account")
        .try_get("id")
        .expect("id");
    let (status, body) = t
        .post_as(
            &agent,
            &format!("/api/v1/support/accounts/{owner}/actions"),
            json!({ "action": "reset_2fa", "verification_reference": "T-7 video call", "reason": "lost phone" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(t.count("passkeys").await, 0);
    assert_eq!(t.count("recovery_codes").await, 0);
    let (status, body) = sign_in(&t, email).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

both!(support_reset_removes_passkeys, super::configure);
