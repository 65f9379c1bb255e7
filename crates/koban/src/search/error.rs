//! Search's one error type.

use crate::http::problem::Problem;
use axum::http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The node's index is being built (first start, or after it was lost).
    #[error("the search index is being built")]
    Unavailable,
}

impl From<SearchError> for Problem {
    fn from(e: SearchError) -> Problem {
        match e {
            SearchError::Unavailable => Problem {
                retry_after_seconds: Some(2),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "search-unavailable",
                    "problem-search-unavailable",
                )
            },
        }
    }
}
