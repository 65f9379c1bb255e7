//! Everything the email channel can fail with.

use crate::store::StoreError;

/// The email channel's one error type.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Refused or failed by the desk while writing the mail to a ticket.
    #[error(transparent)]
    Desk(#[from] crate::desk::DeskError),
    /// The stored mail cannot be read back (its raw bytes were pruned, or
    /// the deflated copy is damaged).
    #[error("stored mail {0} cannot be read: {1}")]
    Stored(i64, String),
}

impl From<sqlx::Error> for EmailError {
    fn from(e: sqlx::Error) -> Self {
        EmailError::Store(e.into())
    }
}
