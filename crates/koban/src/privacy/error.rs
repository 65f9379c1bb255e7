//! Everything a data-rights operation can refuse or fail with, and its
//! problem document.

use crate::http::problem::Problem;
use crate::store::StoreError;
use axum::http::StatusCode;

/// The privacy domain's one error type.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// No such export, or another person's: the same answer, so nobody
    /// learns what exists.
    #[error("not found")]
    NotFound,
    /// The export's link has run out; its archive is deleted.
    #[error("export expired")]
    Expired,
    /// The export is still queued or being prepared.
    #[error("export not ready")]
    NotReady,
    /// A deletion is already pending.
    #[error("deletion already requested")]
    AlreadyRequested,
    /// Cancelling when no deletion is pending.
    #[error("no deletion pending")]
    NothingPending,
    /// Asking to delete needs a fresh step-up.
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("blob store: {0}")]
    Blob(String),
}

impl From<sqlx::Error> for PrivacyError {
    fn from(error: sqlx::Error) -> PrivacyError {
        PrivacyError::Store(StoreError::Sqlx(error))
    }
}

impl From<PrivacyError> for Problem {
    fn from(error: PrivacyError) -> Problem {
        match error {
            PrivacyError::NotFound => Problem::not_found(),
            PrivacyError::Expired => Problem::new(
                StatusCode::GONE,
                "privacy-export-expired",
                "privacy-problem-export-expired",
            ),
            PrivacyError::NotReady => Problem::new(
                StatusCode::CONFLICT,
                "privacy-export-not-ready",
                "privacy-problem-export-not-ready",
            ),
            PrivacyError::AlreadyRequested => Problem::new(
                StatusCode::CONFLICT,
                "privacy-deletion-pending",
                "privacy-problem-deletion-pending",
            ),
            PrivacyError::NothingPending => Problem::new(
                StatusCode::CONFLICT,
                "privacy-nothing-pending",
                "privacy-problem-nothing-pending",
            ),
            PrivacyError::Account(e) => e.into(),
            PrivacyError::Store(e) => Problem::internal(&e),
            PrivacyError::Audit(e) => Problem::internal(&e),
            PrivacyError::Blob(e) => Problem::internal(&e),
        }
    }
}
