//! Everything a help center operation can refuse or fail with, and its
//! problem document.

use crate::http::problem::{FieldError, Problem};
use crate::store::StoreError;
use axum::http::StatusCode;

/// The help center's one error type.
#[derive(Debug, thiserror::Error)]
pub enum HelpError {
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// No such category, article, version or revision; or a draft asked
    /// for by someone who may read only what is published.
    #[error("not found")]
    NotFound,
    /// Signed in without the desk role the action needs.
    #[error("forbidden")]
    Forbidden,
    /// Not signed in where the action needs an editor.
    #[error("unauthorized")]
    Unauthorized,
    /// A category that still holds articles.
    #[error("the category holds articles")]
    CategoryNotEmpty,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for HelpError {
    fn from(error: sqlx::Error) -> HelpError {
        HelpError::Store(StoreError::Sqlx(error))
    }
}

impl HelpError {
    pub fn field(field: &str, code: &'static str) -> HelpError {
        HelpError::Invalid(vec![FieldError {
            field: field.to_string(),
            code,
        }])
    }
}

impl From<HelpError> for Problem {
    fn from(error: HelpError) -> Problem {
        match error {
            HelpError::Invalid(errors) => Problem::validation(errors),
            HelpError::NotFound => Problem::not_found(),
            HelpError::Forbidden => Problem::forbidden(),
            HelpError::Unauthorized => Problem::unauthorized(),
            HelpError::CategoryNotEmpty => Problem::new(
                StatusCode::CONFLICT,
                "help-category-not-empty",
                "help-problem-category-not-empty",
            ),
            HelpError::Store(e) => Problem::internal(&e),
        }
    }
}
