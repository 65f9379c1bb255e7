//! Everything an announcement operation can refuse or fail with, and its
//! problem document.

use crate::http::problem::{FieldError, Problem};
use crate::store::StoreError;
use axum::http::StatusCode;

/// The announcements domain's one error type.
#[derive(Debug, thiserror::Error)]
pub enum AnnouncementError {
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    /// Someone changed it since the editor read it.
    #[error("changed meanwhile")]
    Changed,
    /// A withdrawn announcement is finished.
    #[error("withdrawn")]
    Withdrawn,
    /// Only a published security notice is pushed to accounts.
    #[error("not a published security notice")]
    NotPushable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AnnouncementError {
    fn from(error: sqlx::Error) -> AnnouncementError {
        AnnouncementError::Store(StoreError::Sqlx(error))
    }
}

impl From<AnnouncementError> for Problem {
    fn from(error: AnnouncementError) -> Problem {
        match error {
            AnnouncementError::Invalid(errors) => Problem::validation(errors),
            AnnouncementError::NotFound => Problem::not_found(),
            AnnouncementError::Changed => Problem::new(
                StatusCode::CONFLICT,
                "announcement-changed",
                "announcement-problem-changed",
            ),
            AnnouncementError::Withdrawn => Problem::new(
                StatusCode::CONFLICT,
                "announcement-withdrawn",
                "announcement-problem-withdrawn",
            ),
            AnnouncementError::NotPushable => Problem::new(
                StatusCode::CONFLICT,
                "announcement-not-pushable",
                "announcement-problem-not-pushable",
            ),
            AnnouncementError::Store(e) => Problem::internal(&e),
        }
    }
}
