//! Everything a desk operation can refuse or fail with, and its problem document.

use crate::http::problem::{FieldError, Problem};
use crate::store::StoreError;
use axum::http::StatusCode;

/// The desk's one error type.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// Fields refused, each with its reason.
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// A reference number that cannot be anyone's: wrong length, letters,
    /// or a check digit that does not match (a typo, caught before lookup).
    #[error("malformed reference number")]
    BadReference,
    /// No such ticket, or not one the caller may see: the same answer, so
    /// nobody learns which numbers exist.
    #[error("ticket not found")]
    NotFound,
    /// Signed in as someone the action is not for.
    #[error("forbidden")]
    Forbidden,
    /// The ticket is closed: a reply opens a follow-up instead.
    #[error("ticket closed")]
    Closed,
    /// Another agent changed the ticket first (took it, relabelled it):
    /// nothing was changed; look again.
    #[error("changed by someone else")]
    Taken,
    #[error("too many requests; retry in {0} ms")]
    RateLimited(i64),
    /// The ticket's requester has no account with a verified contact.
    #[error("no account to verify")]
    NoAccount,
    /// An account action without a passed verification of that account on
    /// this ticket in the last 30 minutes.
    #[error("verification required")]
    VerificationRequired,
    /// A second-factor verification for an account with neither an
    /// authenticator nor recovery codes.
    #[error("no second factor to answer with")]
    NoSecondFactor,
    /// The ticket has no way to reach its requester (no contact on file).
    #[error("requester unreachable")]
    Unreachable,
    /// A supervisor deciding on documented answers they recorded themselves.
    #[error("own approval")]
    OwnApproval,
    /// The verification was already decided (passed, failed or rejected).
    #[error("verification already decided")]
    Decided,
    /// Refused by the account layer (a wrong code, a throttle, …).
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
    /// A lookup code that does not open the ticket, or a number that is
    /// nobody's: one answer, so nobody learns which.
    #[error("lookup code invalid")]
    LookupCodeInvalid,
    /// A role above the caller's own, or someone who outranks them.
    #[error("role above own rank")]
    RoleAboveOwn,
    /// The change would leave the desk without an admin.
    #[error("last admin")]
    LastAdmin,
    /// The requester already escalated this ticket (once is the rule).
    #[error("already escalated")]
    AlreadyEscalated,
    /// A desk-admin change names something that exists already (a team
    /// slug, a calendar name).
    #[error("already exists")]
    AdminConflict,
    /// An attachment over the size limit (in bytes): 413.
    #[error("attachment too large")]
    TooLarge(u64),
    /// A change the ticket's state forbids (a merge into a closed ticket,
    /// across requesters unconfirmed): 409 with this problem type, whose
    /// title is `problem-<type>`.
    #[error("conflict: {0}")]
    Conflict(&'static str),
}

impl From<sqlx::Error> for DeskError {
    fn from(error: sqlx::Error) -> DeskError {
        DeskError::Store(StoreError::Sqlx(error))
    }
}

impl DeskError {
    /// One refused field.
    pub fn field(field: &str, code: &'static str) -> DeskError {
        DeskError::Invalid(vec![FieldError {
            field: field.to_string(),
            code,
        }])
    }
}

impl From<DeskError> for Problem {
    fn from(error: DeskError) -> Problem {
        match error {
            DeskError::Invalid(errors) => Problem::validation(errors),
            DeskError::BadReference => Problem {
                errors: vec![FieldError {
                    field: "reference".into(),
                    code: "reference_check_digit",
                }],
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "reference-invalid",
                    "problem-reference-invalid",
                )
            },
            DeskError::NotFound => Problem::not_found(),
            DeskError::Forbidden => Problem::forbidden(),
            DeskError::Closed => Problem::new(
                StatusCode::CONFLICT,
                "ticket-closed",
                "problem-ticket-closed",
            ),
            DeskError::RateLimited(ms) => Problem::rate_limited(ms),
            DeskError::Taken => Problem::new(
                StatusCode::CONFLICT,
                "ticket-changed",
                "problem-ticket-changed",
            ),
            DeskError::NoAccount => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no-account-to-verify",
                "problem-no-account-to-verify",
            ),
            DeskError::VerificationRequired => Problem::new(
                StatusCode::FORBIDDEN,
                "verification-required",
                "problem-owner-verification-required",
            ),
            DeskError::NoSecondFactor => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no-second-factor",
                "problem-no-second-factor",
            ),
            DeskError::Unreachable => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "requester-unreachable",
                "problem-requester-unreachable",
            ),
            DeskError::OwnApproval => Problem::new(
                StatusCode::FORBIDDEN,
                "own-approval",
                "problem-own-approval",
            ),
            DeskError::Decided => Problem::new(
                StatusCode::CONFLICT,
                "verification-decided",
                "problem-verification-decided",
            ),
            DeskError::Account(error) => Problem::from(error),
            DeskError::Store(error) => Problem::internal(&error),
            DeskError::Internal(message) => Problem::internal(&message),
            DeskError::LookupCodeInvalid => Problem {
                errors: vec![FieldError {
                    field: "code".into(),
                    code: "code_invalid",
                }],
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "lookup-code-invalid",
                    "problem-lookup-code-invalid",
                )
            },
            DeskError::RoleAboveOwn => Problem::new(
                StatusCode::FORBIDDEN,
                "role-above-own",
                "problem-role-above-own",
            ),
            DeskError::LastAdmin => {
                Problem::new(StatusCode::CONFLICT, "last-admin", "problem-last-admin")
            }
            DeskError::AlreadyEscalated => Problem::new(
                StatusCode::CONFLICT,
                "ticket-already-escalated",
                "problem-ticket-already-escalated",
            ),
            DeskError::AdminConflict => Problem::new(
                StatusCode::CONFLICT,
                "desk-admin-conflict",
                "problem-desk-admin-conflict",
            ),
            DeskError::TooLarge(max) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "problem-body-too-large",
            )
            .arg("limit", max.to_string()),
            DeskError::Conflict(kind) => {
                Problem::new(StatusCode::CONFLICT, kind, conflict_title(kind))
            }
        }
    }
}

impl axum::response::IntoResponse for DeskError {
    fn into_response(self) -> axum::response::Response {
        Problem::from(self).into_response()
    }
}

/// The translated title of a [`DeskError::Conflict`].
fn conflict_title(kind: &str) -> &'static str {
    match kind {
        "merge-target-closed" => "problem-merge-target-closed",
        "merge-different-requester" => "problem-merge-different-requester",
        "ticket-merged" => "problem-ticket-merged",
        "survey-answered" => "survey-problem-answered",
        "survey-not-sent" => "survey-problem-not-sent",
        "survey-expired" => "survey-problem-expired",
        _ => "problem-ticket-changed",
    }
}
