//! The account security center: locks and back-off, per-IP throttling,
//! trusted proxies, devices and the device limit, login history, TOTP with
//! recovery codes, step-up.

use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

mod addresses;
mod devices;
mod locks;
mod reads_and_writes;
mod two_factor;

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
