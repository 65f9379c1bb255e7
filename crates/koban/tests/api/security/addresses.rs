//! Per-address throttling, allow and block lists, and which forwarding
//! headers are believed.

use super::*;

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
