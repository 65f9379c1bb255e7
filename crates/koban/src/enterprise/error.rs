//! Everything an organization operation can refuse or fail with, and its
//! problem document.

use crate::http::problem::{FieldError, Problem};
use crate::store::StoreError;
use axum::http::StatusCode;
use koban_policy::org::roles::Refusal;

/// The enterprise domain's one error type.
#[derive(Debug, thiserror::Error)]
pub enum EnterpriseError {
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// No such organization, member, role or invitation, or one of an
    /// organization the caller is not in: the same answer, so nobody
    /// learns what another organization has.
    #[error("not found")]
    NotFound,
    /// A member without the permission, or a change the role rules refuse.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// The state changed or forbids it: 409 with this problem type.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// An invitation past its time, or already decided: 410.
    #[error("invitation gone: {0}")]
    InviteGone(&'static str),
    /// The organization requires two-step verification and the caller's
    /// grace period ended at `deadline` (ms since the epoch).
    #[error("the organization requires two-step verification")]
    TwoFactorRequired { organization: String, deadline: i64 },
    /// A review cannot be signed off while members are undecided.
    #[error("{0} members are undecided")]
    ReviewIncomplete(usize),
    /// A reviewer deciding on their own access while another could.
    #[error("nobody reviews their own access")]
    OwnAccess,
    #[error("too many requests; retry in {0} ms")]
    RateLimited(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The desk refused what was asked of a ticket.
    #[error(transparent)]
    Desk(#[from] crate::desk::DeskError),
}

impl From<sqlx::Error> for EnterpriseError {
    fn from(error: sqlx::Error) -> EnterpriseError {
        EnterpriseError::Store(StoreError::Sqlx(error))
    }
}

impl From<Refusal> for EnterpriseError {
    fn from(refusal: Refusal) -> EnterpriseError {
        EnterpriseError::Refused(refusal)
    }
}

impl EnterpriseError {
    pub fn field(field: &str, code: &'static str) -> EnterpriseError {
        EnterpriseError::Invalid(vec![FieldError {
            field: field.to_string(),
            code,
        }])
    }
}

/// The problem type and message of a refusal. The last owner is a
/// conflict with the organization's state; the rest are the caller's
/// permissions.
fn refusal_problem(refusal: Refusal) -> Problem {
    let (status, slug, message) = match refusal {
        Refusal::Missing(_) => (
            StatusCode::FORBIDDEN,
            "org-permission-missing",
            "problem-org-permission-missing",
        ),
        Refusal::Escalation(_) => (
            StatusCode::FORBIDDEN,
            "org-permission-not-held",
            "problem-org-permission-not-held",
        ),
        Refusal::Outranked => (
            StatusCode::FORBIDDEN,
            "org-member-outranks-you",
            "problem-org-member-outranks-you",
        ),
        Refusal::LastOwner => (
            StatusCode::CONFLICT,
            "org-last-owner",
            "problem-org-last-owner",
        ),
        Refusal::NoRoles => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "org-no-roles",
            "problem-org-no-roles",
        ),
        Refusal::OwnInCustomRole => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "org-own-in-custom-role",
            "problem-org-own-in-custom-role",
        ),
    };
    let problem = Problem::new(status, slug, message);
    match refusal {
        Refusal::Missing(p) | Refusal::Escalation(p) => problem
            .arg("permission", p.as_str())
            .extension("permission", p.as_str()),
        _ => problem,
    }
}

impl From<EnterpriseError> for Problem {
    fn from(error: EnterpriseError) -> Problem {
        match error {
            EnterpriseError::Invalid(errors) => Problem::validation(errors),
            EnterpriseError::NotFound => Problem::not_found(),
            EnterpriseError::Refused(refusal) => refusal_problem(refusal),
            EnterpriseError::Conflict(kind) => {
                Problem::new(StatusCode::CONFLICT, kind, conflict_message(kind))
            }
            EnterpriseError::InviteGone(kind) => {
                Problem::new(StatusCode::GONE, kind, conflict_message(kind))
            }
            EnterpriseError::TwoFactorRequired {
                organization,
                deadline,
            } => Problem::new(
                StatusCode::FORBIDDEN,
                "org-two-factor-required",
                "problem-org-two-factor-required",
            )
            .arg("organization", organization)
            .extension("deadline", deadline),
            EnterpriseError::ReviewIncomplete(undecided) => Problem::new(
                StatusCode::CONFLICT,
                "org-review-incomplete",
                "problem-org-review-incomplete",
            )
            .arg("count", undecided.to_string())
            .extension("undecided", undecided),
            EnterpriseError::OwnAccess => Problem::new(
                StatusCode::FORBIDDEN,
                "org-review-own-access",
                "problem-org-review-own-access",
            ),
            EnterpriseError::RateLimited(ms) => Problem::rate_limited(ms),
            EnterpriseError::Store(error) => Problem::internal(&error),
            EnterpriseError::Audit(error) => Problem::internal(&error),
            EnterpriseError::Desk(error) => error.into(),
        }
    }
}

impl axum::response::IntoResponse for EnterpriseError {
    fn into_response(self) -> axum::response::Response {
        Problem::from(self).into_response()
    }
}

/// The message of a conflict or a gone invitation, by problem type.
fn conflict_message(kind: &str) -> &'static str {
    match kind {
        "org-member-changed" => "problem-org-member-changed",
        "org-already-member" => "problem-org-already-member",
        "org-invite-pending" => "problem-org-invite-pending",
        "org-role-name-taken" => "problem-org-role-name-taken",
        "org-role-in-use" => "problem-org-role-in-use",
        "org-invite-expired" => "problem-org-invite-expired",
        "org-invite-decided" => "problem-org-invite-decided",
        "org-member-suspended" => "problem-org-member-suspended",
        "org-too-many" => "problem-org-too-many",
        "org-too-many-roles" => "problem-org-too-many-roles",
        "org-invite-code-locked" => "problem-org-invite-code-locked",
        "org-no-devices-to-change" => "problem-org-no-devices-to-change",
        "org-policy-changed" => "problem-org-policy-changed",
        "org-review-in-progress" => "problem-org-review-in-progress",
        "org-review-signed-off" => "problem-org-review-signed-off",
        "org-onboarding-not-acknowledged" => "problem-org-onboarding-not-acknowledged",
        "org-domain-taken" => "problem-org-domain-taken",
        "org-domain-verified" => "problem-org-domain-verified",
        "org-domain-unverified" => "problem-org-domain-unverified",
        "org-domain-unproven" => "problem-org-domain-unproven",
        "org-domain-dns-failed" => "problem-org-domain-dns-failed",
        "org-domain-code-locked" => "problem-org-domain-code-locked",
        "org-too-many-domains" => "problem-org-too-many-domains",
        _ => "problem-org-conflict",
    }
}
