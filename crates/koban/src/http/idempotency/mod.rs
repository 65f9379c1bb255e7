//! `Idempotency-Key` on the creating POSTs of [`ROUTES`]: the same key with
//! the same body gets the first answer again; the same key with another body
//! gets 422; a retry while the first is still running gets 409.
//!
//! Nothing stored gives a secret away: answers are sealed with the server
//! key, requests are fingerprinted with a keyed hash (a sign-up body holds a
//! password), keys are scoped to the caller's session token or, signed out,
//! to the address and device, and rows older than a day are pruned by an
//! hourly job.

mod store;

use super::problem::Problem;
use crate::state::App;
use crate::store::now_ms;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

pub use store::prune;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// The creating POSTs that honour `Idempotency-Key`, by path template.
/// None of them answers with a credential (a session token, a TOTP secret,
/// recovery codes), so nothing secret is ever stored for a replay; sign-in
/// and every step that checks a secret are absent on purpose, so a replay
/// can never stand in for the risk engine. The API document lists the
/// header on exactly these operations.
pub const ROUTES: &[&str] = &[
    "/api/v1/accounts",
    "/api/v1/codes",
    "/api/v1/me/contact-changes",
    "/api/v1/me/deletion",
    "/api/v1/me/exports",
    "/api/v1/me/passkeys",
    "/api/v1/me/step-up/code",
    "/api/v1/unlock",
    "/api/v1/support/accounts/{id}/actions",
    "/api/v1/deliveries/sms-status",
    "/api/v1/desk/tickets",
    "/api/v1/desk/tickets/{reference}/messages",
    "/api/v1/desk/tickets/{reference}/verifications",
    "/api/v1/orgs",
    "/api/v1/orgs/{org}/invites",
    "/api/v1/orgs/{org}/roles",
    "/api/v1/announcements",
    "/api/v1/help/categories",
    "/api/v1/help/articles",
    "/api/v1/help/articles/{id}/versions/{lang}/revisions/{revision}/restore",
    "/api/v1/help/articles/{id}/vote",
];

/// The template of [`ROUTES`] that `path` falls under, if any: a `{name}`
/// segment matches any one non-empty segment.
pub fn route_of(path: &str) -> Option<&'static str> {
    ROUTES.iter().copied().find(|template| {
        let mut given = path.split('/');
        let mut wanted = template.split('/');
        loop {
            match (given.next(), wanted.next()) {
                (None, None) => return true,
                (Some(g), Some(w)) if w.starts_with('{') => {
                    if g.is_empty() {
                        return false;
                    }
                }
                (Some(g), Some(w)) if g == w => {}
                _ => return false,
            }
        }
    })
}

/// How long an answer is replayed.
pub const KEEP_MS: i64 = 24 * 3_600_000;

/// Job kind: delete the answers older than [`KEEP_MS`], hourly.
pub const PRUNE_EXPIRED: &str = "prune_expired";

/// The hourly pruning, registered by `app.rs` with the domains' jobs.
pub const PRUNE_JOB: crate::state::JobKind = crate::state::JobKind {
    kind: PRUNE_EXPIRED,
    round: None,
    every_ms: Some(crate::jobs::HOUR_MS),
    run: |app, _| {
        Box::pin(async move {
            prune(&app.store, crate::store::now_ms() - KEEP_MS)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    },
};

/// The table the answers are kept in.
pub const MIGRATION: crate::store::Migration = crate::store::Migration {
    version: 7,
    name: "idempotent_answers",
    sql: include_str!("../../../migrations/0007_idempotent_answers.sql"),
};
/// The largest answer kept for a replay; a larger one is not remembered.
const MAX_STORED_ANSWER: usize = 1024 * 1024;

fn render(problem: Problem, headers: &HeaderMap) -> Response {
    let lang = super::problem::request_lang(headers);
    let body = problem.to_json(lang, "").to_string();
    let mut response = (problem.status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

fn in_progress() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "idempotency-in-progress",
        "problem-idempotency-in-progress",
    )
}

/// Whose keys these are: the session token when one is presented, else the
/// client's address and device. Signed-out callers therefore never share a
/// key space by accident, and a scope is a keyed hash, so the table names
/// no token, address or device.
fn scope(app: &App, request: &Request) -> String {
    let headers = request.headers();
    let who = match super::auth::presented_token(headers) {
        Some((token, _)) => format!("session\0{token}"),
        None => {
            let ip =
                super::auth::client_ip(app, request).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let device = headers
                .get(super::auth::DEVICE_HEADER)
                .and_then(|v| v.to_str().ok())
                .or_else(|| super::cookie(headers, super::auth::DEVICE_COOKIE))
                .unwrap_or("");
            format!("client\0{ip}\0{device}")
        }
    };
    app.key.keyed_hash("idempotency-scope", who.as_bytes())
}

/// An answer that hands the caller a credential is never kept, whatever
/// route it came from: it would be replayed to whoever repeats the key.
fn carries_credential(response: &Response) -> bool {
    response.headers().contains_key(header::SET_COOKIE)
}

/// The middleware.
pub async fn layer(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || route_of(request.uri().path()).is_none() {
        return next.run(request).await;
    }
    let Some(key) = request
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().map(str::to_string))
    else {
        return next.run(request).await;
    };
    let headers = request.headers().clone();
    let key = match key {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => k,
        _ => return render(Problem::field("Idempotency-Key", "invalid_value"), &headers),
    };
    let scope = scope(&app, &request);
    let key = app.key.keyed_hash("idempotency-key", key.as_bytes());
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, super::body_limit()).await else {
        return render(
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "problem-body-too-large",
            )
            .arg("limit", super::body_limit().to_string()),
            &headers,
        );
    };
    let mut fingerprint = format!("{} {}\n", parts.method, parts.uri.path()).into_bytes();
    fingerprint.extend_from_slice(&bytes);
    let fingerprint = app.key.keyed_hash("idempotency-fingerprint", &fingerprint);
    match store::claim(&app.store, &scope, &key, &fingerprint, now_ms(), KEEP_MS).await {
        Err(e) => return Problem::internal(&e).into_response(),
        Ok(false) => return replay(&app, &scope, &key, &fingerprint, &headers).await,
        Ok(true) => {}
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    // A failure on our side, or "too many requests", is not an answer to
    // remember: the retry the key exists for must be able to succeed.
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || carries_credential(&response)
    {
        if let Err(error) = store::release(&app.store, &scope, &key).await {
            tracing::warn!(%error, "cannot release an idempotency key; it lapses in a day");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_STORED_ANSWER).await else {
        let _ = store::release(&app.store, &scope, &key).await;
        return Problem::internal(&"answer too large to keep for a replay").into_response();
    };
    // Problems are put into words by the outermost layer; remember the words now.
    let (stored, content_type) = match parts.extensions.get::<Problem>() {
        Some(problem) => (
            problem
                .to_json(super::problem::request_lang(&headers), "")
                .to_string()
                .into_bytes(),
            "application/problem+json".to_string(),
        ),
        None => (
            bytes.to_vec(),
            parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string(),
        ),
    };
    let sealed = app.key.seal("idempotent-answer", &stored);
    if let Err(error) = store::record(
        &app.store,
        &scope,
        &key,
        status.as_u16(),
        &content_type,
        &sealed,
    )
    .await
    {
        tracing::warn!(%error, "cannot keep an answer for a replay; a retry will run again");
        let _ = store::release(&app.store, &scope, &key).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn replay(
    app: &App,
    scope: &str,
    key: &str,
    fingerprint: &str,
    headers: &HeaderMap,
) -> Response {
    let stored = match store::find(&app.store, scope, key).await {
        Err(e) => return Problem::internal(&e).into_response(),
        // Released between our claim and this read: the first run failed.
        Ok(None) => return render(in_progress(), headers),
        Ok(Some(stored)) => stored,
    };
    if !crate::crypto::constant_time_eq(stored.fingerprint.as_bytes(), fingerprint.as_bytes()) {
        return render(
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-mismatch",
                "problem-idempotency-mismatch",
            ),
            headers,
        );
    }
    let status = u16::try_from(stored.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok());
    let body = stored
        .sealed_body
        .as_deref()
        .and_then(|sealed| app.key.open("idempotent-answer", sealed));
    let (Some(status), Some(body)) = (status, body) else {
        // Still running (status 0), or sealed under a key this server no
        // longer has: either way there is no answer to give yet.
        return render(in_progress(), headers);
    };
    let mut response = (status, body).into_response();
    if let Some(Ok(content_type)) = stored.content_type.as_deref().map(HeaderValue::from_str) {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::route_of;

    #[test]
    fn only_listed_creating_routes_take_a_key() {
        assert_eq!(route_of("/api/v1/accounts"), Some("/api/v1/accounts"));
        assert_eq!(
            route_of("/api/v1/support/accounts/42/actions"),
            Some("/api/v1/support/accounts/{id}/actions")
        );
        assert_eq!(route_of("/api/v1/support/accounts//actions"), None);
        assert_eq!(route_of("/api/v1/support/accounts/42/actions/x"), None);
        assert_eq!(route_of("/api/v1/sessions"), None);
        assert_eq!(route_of("/api/v1/me/2fa/totp"), None);
        assert_eq!(route_of("/api/v1/me/2fa/recovery-codes"), None);
        assert_eq!(route_of("/api/v1/accounts/"), None);
    }
}
