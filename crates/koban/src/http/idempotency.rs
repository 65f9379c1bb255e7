//! `Idempotency-Key` on creating POSTs: the same key with the same body gets
//! the first response again; the same key with another body gets 422; a
//! retry while the first is still running gets 409. Keys are scoped to the
//! caller's credentials and kept for 24 hours.

use super::problem::Problem;
use crate::app::App;
use crate::store::now_ms;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sqlx::Row;
use std::sync::Arc;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// The creating POSTs that honour `Idempotency-Key`, as (path template).
/// None of them answers with a credential (a session token, a TOTP secret,
/// recovery codes), so nothing secret is ever stored for a replay; sign-in
/// and every step that checks a secret are absent on purpose, so a replay
/// can never stand in for the risk engine. The API document lists the
/// header on exactly these operations.
pub const ROUTES: &[&str] = &[
    "/api/v1/accounts",
    "/api/v1/codes",
    "/api/v1/me/contact-changes",
    "/api/v1/me/passkeys",
    "/api/v1/me/step-up/code",
    "/api/v1/unlock",
    "/api/v1/support/accounts/{id}/actions",
    "/api/v1/deliveries/sms-status",
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
const KEEP_MS: i64 = 24 * 3_600_000;

fn render(problem: Problem, headers: &axum::http::HeaderMap) -> Response {
    let lang = super::problem::request_lang(headers);
    let body = problem.to_json(lang, "").to_string();
    let mut response = (problem.status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
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
    let scope = crate::crypto::sha256_hex(
        super::auth::presented_token(&headers)
            .map(|(t, _)| t)
            .unwrap_or_else(|| "anonymous".into())
            .as_bytes(),
    );
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
    let request_hash = crate::crypto::sha256_hex(&fingerprint);
    let now = now_ms();
    let store = &app.store;
    let _ = sqlx::query("DELETE FROM idempotent_responses WHERE created_at < $1")
        .bind(now - KEEP_MS)
        .execute(store.write())
        .await;
    let claimed = sqlx::query(
        "INSERT INTO idempotent_responses (scope, idem_key, request_hash, status, created_at) VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (scope, idem_key) DO NOTHING",
    )
    .bind(&scope)
    .bind(&key)
    .bind(&request_hash)
    .bind(now)
    .execute(store.write())
    .await;
    match claimed {
        Err(e) => return Problem::internal(&e).into_response(),
        Ok(r) if r.rows_affected() == 0 => {
            return replay(&app, &scope, &key, &request_hash, &headers).await
        }
        Ok(_) => {}
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    if status.is_server_error() {
        // A failure on our side is not an answer to remember: let the client retry.
        let _ = sqlx::query("DELETE FROM idempotent_responses WHERE scope = $1 AND idem_key = $2")
            .bind(&scope)
            .bind(&key)
            .execute(store.write())
            .await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, 4 * 1024 * 1024).await.unwrap_or_default();
    // Problems are put into words by the outermost layer; remember the words now.
    let stored = match parts.extensions.get::<Problem>() {
        Some(problem) => problem
            .to_json(super::problem::request_lang(&headers), "")
            .to_string(),
        None => String::from_utf8_lossy(&bytes).to_string(),
    };
    let _ = sqlx::query(
        "UPDATE idempotent_responses SET status = $1, body = $2 WHERE scope = $3 AND idem_key = $4",
    )
    .bind(status.as_u16() as i64)
    .bind(stored)
    .bind(&scope)
    .bind(&key)
    .execute(store.write())
    .await;
    Response::from_parts(parts, Body::from(bytes))
}

async fn replay(
    app: &App,
    scope: &str,
    key: &str,
    request_hash: &str,
    headers: &axum::http::HeaderMap,
) -> Response {
    let row = sqlx::query("SELECT request_hash, status, body FROM idempotent_responses WHERE scope = $1 AND idem_key = $2")
        .bind(scope)
        .bind(key)
        .fetch_optional(app.store.write())
        .await;
    let Ok(Some(row)) = row else {
        return render(
            Problem::new(
                StatusCode::CONFLICT,
                "idempotency-in-progress",
                "problem-idempotency-in-progress",
            ),
            headers,
        );
    };
    let stored_hash: String = row.try_get("request_hash").unwrap_or_default();
    if stored_hash != request_hash {
        return render(
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-mismatch",
                "problem-idempotency-mismatch",
            ),
            headers,
        );
    }
    let status: i64 = row.try_get("status").unwrap_or(0);
    let Ok(status) = StatusCode::from_u16(status as u16) else {
        return render(
            Problem::new(
                StatusCode::CONFLICT,
                "idempotency-in-progress",
                "problem-idempotency-in-progress",
            ),
            headers,
        );
    };
    let body: Option<String> = row.try_get("body").unwrap_or(None);
    let body = body.unwrap_or_default();
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
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
