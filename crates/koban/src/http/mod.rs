//! HTTP conventions every domain uses: problem documents, the JSON
//! extractor, authentication, CSRF, idempotency, rate limits, metrics, and
//! the middleware stack that applies them.

pub mod auth;
pub mod csrf;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod pagination;
pub mod problem;
pub mod rate_limit;

use std::sync::atomic::{AtomicUsize, Ordering};

static BODY_LIMIT: AtomicUsize = AtomicUsize::new(1024 * 1024);

/// The configured body limit, for error messages.
pub fn body_limit() -> usize {
    BODY_LIMIT.load(Ordering::Relaxed)
}

pub(crate) fn set_body_limit(bytes: usize) {
    BODY_LIMIT.store(bytes, Ordering::Relaxed);
}

/// Reads one cookie from the request headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}
