//! HTTP conventions every domain uses: problem documents, the JSON
//! extractor, authentication, CSRF, idempotency, rate limits, metrics, and
//! the middleware stack that applies them.

/// A request member with a fixed set of string values: deserialized from
/// exactly those strings, documented as their `enum`, and read back as the
/// string the services take. One list, so the document cannot name a value
/// the server refuses or miss one it takes. (The strings are `tt`, not
/// `literal`: utoipa reads `#[serde(rename)]` only from a bare literal.)
macro_rules! choices {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The value as the API spells it.
            #[allow(dead_code)]
            $vis fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }
    };
}

pub mod auth;
pub mod csrf;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod openapi;
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
