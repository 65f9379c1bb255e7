//! CSRF protection for cookie-authenticated changes: a double-submit token.
//! Pages get a random `koban_csrf` cookie and echo it in a hidden form field
//! (or the `X-CSRF-Token` header from scripts); an unsafe request that a
//! browser could send cross-site must carry both, equal. Bearer-token calls
//! and JSON calls without a session cookie cannot be forged by a foreign
//! page (browsers attach no bearer token, and cross-site JSON needs CORS,
//! which Koban does not grant), so they pass.

use super::problem::Problem;
use crate::state::App;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Cookie holding the token.
pub const COOKIE: &str = "koban_csrf";
/// Form field holding the token.
pub const FIELD: &str = "csrf_token";
/// Header holding the token.
pub const HEADER: &str = "x-csrf-token";

fn is_form(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.starts_with("application/x-www-form-urlencoded")
        || ct.starts_with("multipart/form-data")
        || ct.starts_with("text/plain")
}

fn refuse() -> Response {
    Problem::new(StatusCode::FORBIDDEN, "csrf", "problem-csrf").into_response()
}

/// The middleware.
pub async fn protect(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return ensure_cookie(request, next, app.config.serves_tls()).await;
    }
    let headers = request.headers();
    if headers.contains_key(header::AUTHORIZATION) {
        return next.run(request).await;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let has_session = super::cookie(headers, crate::http::auth::SESSION_COOKIE).is_some();
    if !is_form(&content_type) && !has_session {
        return next.run(request).await;
    }
    let expected = super::cookie(headers, COOKIE).map(str::to_string);
    let Some(expected) = expected.filter(|t| t.len() >= 16) else {
        return refuse();
    };
    if let Some(sent) = headers.get(HEADER).and_then(|v| v.to_str().ok()) {
        return if crate::crypto::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            next.run(request).await
        } else {
            refuse()
        };
    }
    let multipart = is_multipart(headers);
    if !multipart
        && !content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    {
        return refuse();
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, super::body_limit()).await else {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "problem-body-too-large",
        )
        .arg("limit", super::body_limit().to_string())
        .into_response();
    };
    let sent = if multipart {
        multipart_value(&content_type, &bytes, FIELD).await
    } else {
        form_urlencoded_value(&bytes, FIELD)
    };
    if !sent.is_some_and(|s| crate::crypto::constant_time_eq(s.as_bytes(), expected.as_bytes())) {
        return refuse();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether a request carries a `multipart/form-data` body (a page form
/// with a file).
pub fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// The text of field `name` of a multipart body, read from the buffered
/// bytes (the handler reads them again after the check).
async fn multipart_value(
    content_type: &str,
    body: &axum::body::Bytes,
    name: &str,
) -> Option<String> {
    use axum::extract::FromRequest;
    let request = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.clone()))
        .ok()?;
    let mut form = axum::extract::Multipart::from_request(request, &())
        .await
        .ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Gives a browser its token on its first page.
async fn ensure_cookie(request: Request, next: Next, secure: bool) -> Response {
    let has = super::cookie(request.headers(), COOKIE).is_some_and(|t| t.len() >= 16);
    let (mut parts, body) = request.into_parts();
    let token = if has {
        None
    } else {
        Some(crate::crypto::random_token(24))
    };
    if let Some(t) = &token {
        // Handlers rendering forms read the token from the request; make the new one visible to them.
        let mut cookie_header = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(|s| format!("{s}; "))
            .unwrap_or_default();
        cookie_header.push_str(&format!("{COOKIE}={t}"));
        if let Ok(v) = HeaderValue::from_str(&cookie_header) {
            parts.headers.insert(header::COOKIE, v);
        }
    }
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(t) = token {
        let secure = if secure { "; Secure" } else { "" };
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax{secure}"
        )) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}
