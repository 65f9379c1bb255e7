//! RFC 9457 problem details: the one shape every API error takes. Handlers
//! return a [`Problem`] carrying message ids; the [`render`] middleware turns
//! it into JSON in the request's language, and also dresses the framework's
//! own bare errors (404, 405, 413, timeouts) in the same shape.

use crate::web::i18n::{t, Lang};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One invalid field and why, as a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
}

/// An API error before it is put into words.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// Last segment of the stable `type` URI, `/problems/{slug}`.
    pub slug: &'static str,
    /// Fluent message id for `detail`.
    pub message: &'static str,
    pub args: Vec<(&'static str, String)>,
    pub errors: Vec<FieldError>,
    pub retry_after_seconds: Option<u64>,
    /// Extra members of the document (RFC 9457 §3.2), e.g. how to unlock.
    /// Boxed: most problems have none, and every `Result<_, Problem>` pays for its size.
    pub extensions: Box<serde_json::Map<String, serde_json::Value>>,
}

impl Problem {
    /// A problem with no arguments or field errors.
    pub fn new(status: StatusCode, slug: &'static str, message: &'static str) -> Problem {
        Problem {
            status,
            slug,
            message,
            args: vec![],
            errors: vec![],
            retry_after_seconds: None,
            extensions: Default::default(),
        }
    }

    /// 422 with per-field reasons.
    pub fn validation(errors: Vec<FieldError>) -> Problem {
        Problem {
            errors,
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "problem-validation",
            )
        }
    }

    /// 422 for one field.
    pub fn field(field: &str, code: &'static str) -> Problem {
        Problem::validation(vec![FieldError {
            field: field.to_string(),
            code,
        }])
    }

    /// 429 with Retry-After.
    pub fn rate_limited(wait_ms: i64) -> Problem {
        let seconds = ((wait_ms.max(0) + 999) / 1000).max(1) as u64;
        Problem {
            retry_after_seconds: Some(seconds),
            args: vec![("seconds", seconds.to_string())],
            ..Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "problem-rate-limited",
            )
        }
    }

    /// 401.
    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "problem-unauthorized",
        )
    }

    /// 403.
    pub fn forbidden() -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "problem-forbidden")
    }

    /// 404.
    pub fn not_found() -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "problem-not-found")
    }

    /// 500; the cause is logged, never shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Problem {
        tracing::error!(error = %cause, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "problem-internal",
        )
    }

    /// Adds an extension member.
    pub fn extension(mut self, name: &str, value: impl Into<serde_json::Value>) -> Problem {
        self.extensions.insert(name.to_string(), value.into());
        self
    }

    /// Adds a message argument.
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Problem {
        self.args.push((name, value.into()));
        self
    }

    /// The JSON document in `lang`.
    pub fn to_json(&self, lang: Lang, request_id: &str) -> serde_json::Value {
        // An argument written `msg:ID` is itself a message (a field's name, say) and is translated too.
        let mut args: Vec<(&str, String)> = self
            .args
            .iter()
            .map(|(k, v)| match v.strip_prefix("msg:") {
                Some(id) => (*k, t(lang, id, &[])),
                None => (*k, v.clone()),
            })
            .collect();
        args.push(("request_id", request_id.to_string()));
        let mut doc = json!({
            "type": format!("/problems/{}", self.slug),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": t(lang, self.message, &args),
        });
        if !request_id.is_empty() {
            doc["request_id"] = json!(request_id);
        }
        for (name, value) in self.extensions.iter() {
            doc[name.as_str()] = value.clone();
        }
        if !self.errors.is_empty() {
            doc["errors"] = self
                .errors
                .iter()
                .map(|e| {
                    json!({
                        "field": e.field,
                        "code": e.code,
                        "detail": t(lang, &format!("reason-{}", e.code), &[]),
                    })
                })
                .collect();
        }
        doc
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// The viewer's language for an API response: `koban_lang` cookie, then Accept-Language.
pub fn request_lang(headers: &axum::http::HeaderMap) -> Lang {
    crate::web::lang_from_headers(headers)
}

/// Middleware: renders [`Problem`]s, and turns bare framework errors on API
/// paths into problem documents too.
pub async fn render(request: Request, next: Next) -> Response {
    let lang = request_lang(request.headers());
    let is_api = request.uri().path().starts_with("/api/");
    // A browser on a page (not the API) gets the error as a page in its language.
    let wants_page = !is_api
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut response = next.run(request).await;
    let problem = match response.extensions_mut().remove::<Problem>() {
        Some(p) => p,
        None if is_api && is_bare_error(&response) => bare_problem(response.status()),
        None => return response,
    };
    if wants_page {
        let detail = problem.to_json(lang, &request_id)["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut page = crate::web::render::plain_error_text(lang, problem.status, detail);
        if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
            page.headers_mut()
                .insert(header::RETRY_AFTER, retry.clone());
        }
        return page;
    }
    let body = problem.to_json(lang, &request_id).to_string();
    let (mut parts, _) = response.into_parts();
    parts.status = problem.status;
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && !response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"))
}

fn bare_problem(status: StatusCode) -> Problem {
    match status {
        StatusCode::NOT_FOUND => Problem::not_found(),
        StatusCode::METHOD_NOT_ALLOWED => {
            Problem::new(status, "method-not-allowed", "problem-method-not-allowed")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(status, "body-too-large", "problem-body-too-large")
                .arg("limit", crate::http::body_limit().to_string())
        }
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "problem-timeout",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Problem::new(
            status,
            "unsupported-media-type",
            "problem-unsupported-media-type",
        ),
        s if s.is_server_error() => Problem::new(s, "internal", "problem-internal"),
        s => Problem::new(s, "bad-request", "problem-validation"),
    }
}
