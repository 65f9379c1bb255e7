//! The API's extractors: `ApiJson<T>` for JSON bodies, `ApiQuery<T>` for
//! query strings and `ApiPath<T>` for path parameters. Unlike the
//! framework's own, their every refusal is a problem document that names the
//! field or parameter, so a bad `limit=true` and a bad `limit=0` read alike.

use super::problem::{FieldError, Problem};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// A JSON request body of type `T`.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "problem-unsupported-media-type",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Problem::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body-too-large",
                        "problem-body-too-large",
                    )
                    .arg("limit", super::body_limit().to_string())
                } else {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "malformed-json",
                        "problem-malformed-json",
                    )
                    .arg("reason", rejection.body_text())
                }
            })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Query parameters of type `T`.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Parses a query string; a value that does not fit is a 422 naming its parameter.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let named = message
            .strip_prefix("missing field `")
            .or_else(|| message.strip_prefix("unknown field `"))
            .or_else(|| message.strip_prefix("duplicate field `"))
            .and_then(|rest| rest.split('`').next());
        let field = match named {
            Some(name) => name.to_string(),
            // A failure not tied to one parameter (say, a repeated one) still names where it is.
            None if path == "." || path.is_empty() => "query".to_string(),
            None => path,
        };
        let code = if message.starts_with("missing field") {
            "required"
        } else if message.starts_with("unknown field") {
            "unknown_field"
        } else {
            "invalid_value"
        };
        Problem::validation(vec![FieldError { field, code }])
    })
}

/// Path parameters of type `T`.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        use axum::extract::path::{ErrorKind, Path};
        use axum::extract::rejection::PathRejection;
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                let field = match error.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => key.clone(),
                    // A lone parameter (`Path<i64>`) is reported without its name.
                    _ => match parts
                        .extensions
                        .get::<axum::extract::MatchedPath>()
                        .and_then(|m| m.as_str().split('{').nth(1))
                        .and_then(|rest| rest.split('}').next())
                    {
                        Some(name) => name.to_string(),
                        None => "path".to_string(),
                    },
                };
                Err(Problem::validation(vec![FieldError {
                    field,
                    code: "invalid_value",
                }]))
            }
            // The route and the handler disagree: our bug, not the caller's.
            Err(other) => Err(Problem::internal(&other.body_text())),
        }
    }
}

/// Parses a body, mapping each kind of failure to the field it concerns.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    let value = result.map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                // serde reports a missing field at the parent's path; the name is in the message.
                let named = message
                    .strip_prefix("missing field `")
                    .or_else(|| message.strip_prefix("unknown field `"));
                let field = match named {
                    Some(rest) => rest.split('`').next().unwrap_or("").to_string(),
                    None if path == "." => String::new(),
                    None => path,
                };
                let code = if message.starts_with("missing field") {
                    "required"
                } else if message.starts_with("unknown field") {
                    "unknown_field"
                } else if message.starts_with("unknown variant") {
                    // A string, but not one of the values the member takes.
                    "invalid_value"
                } else {
                    "invalid_type"
                };
                if field.is_empty() {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "malformed-json",
                        "problem-malformed-json",
                    )
                    .arg("reason", message)
                } else {
                    Problem::validation(vec![FieldError { field, code }])
                }
            }
            _ => Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                "problem-malformed-json",
            )
            .arg("reason", inner.to_string()),
        }
    })?;
    deserializer.end().map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "problem-malformed-json",
        )
        .arg("reason", e.to_string())
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: Option<u32>,
    }

    #[test]
    fn failures_name_their_field() {
        let cases: [(&[u8], StatusCode, &str, &str); 5] = [
            (
                b"{\"name\": 5}",
                StatusCode::UNPROCESSABLE_ENTITY,
                "name",
                "invalid_type",
            ),
            (b"{}", StatusCode::UNPROCESSABLE_ENTITY, "name", "required"),
            (
                b"{\"name\":\"a\",\"count\":-1}",
                StatusCode::UNPROCESSABLE_ENTITY,
                "count",
                "invalid_type",
            ),
            (
                b"{\"name\":\"a\",\"admin\":true}",
                StatusCode::UNPROCESSABLE_ENTITY,
                "admin",
                "unknown_field",
            ),
            (b"{\"name\": ", StatusCode::BAD_REQUEST, "", ""),
        ];
        for (body, status, field, code) in cases {
            let problem = parse::<Sample>(body).unwrap_err();
            assert_eq!(problem.status, status, "{}", String::from_utf8_lossy(body));
            if !field.is_empty() {
                assert_eq!(problem.errors[0].field, field);
            }
            if !code.is_empty() {
                assert_eq!(problem.errors[0].code, code);
            }
        }
        assert!(parse::<Sample>(b"{\"name\":\"a\"} trailing").is_err());
    }
}
