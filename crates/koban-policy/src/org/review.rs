//! Access review: which members an administrator should look at first, and
//! when the next review is due.
//!
//! Google Workspace and Entra ID flag the same two things a reviewer must
//! not miss: access nobody uses any more, and powerful access without a
//! second factor. A member is *inactive* when neither using a session nor joining
//! happened within [`STALE_AFTER_DAYS`]; an *administrator* is anyone whose
//! roles let them change the organization or its members.

use super::roles::{Permission, Permissions};

/// Days without a sign-in after which access is marked stale.
pub const STALE_AFTER_DAYS: i64 = 90;
/// Days between reviews when the organization has not chosen.
pub const DEFAULT_REVIEW_EVERY_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;

/// Permissions that make a member an administrator: each lets them change
/// the organization, its members or their devices.
const ADMINISTRATIVE: Permissions = Permissions::of(&[
    Permission::Own,
    Permission::ManageOrganization,
    Permission::InviteMembers,
    Permission::ManageMembers,
    Permission::ManageRoles,
    Permission::ManagePolicies,
    Permission::FreezeDevices,
]);

/// What a review needs to know of one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFacts {
    pub permissions: Permissions,
    pub joined_at: i64,
    /// When any of their sessions was last used, if ever.
    pub last_seen_at: Option<i64>,
    /// A second factor (an authenticator app or a passkey) is on.
    pub two_factor: bool,
}

/// Why a member's access needs a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// No session used (nor joining) for [`STALE_AFTER_DAYS`] days.
    Inactive,
    /// Administrative permissions without a second factor.
    AdministratorWithoutTwoFactor,
}

impl Mark {
    pub const fn as_str(self) -> &'static str {
        match self {
            Mark::Inactive => "inactive",
            Mark::AdministratorWithoutTwoFactor => "administrator_without_two_factor",
        }
    }
}

pub fn is_administrator(permissions: Permissions) -> bool {
    permissions.intersects(ADMINISTRATIVE)
}

/// When the member was last active: the last use of a session, or joining,
/// which is itself done signed in.
pub fn last_active(facts: &MemberFacts) -> i64 {
    facts.last_seen_at.unwrap_or(i64::MIN).max(facts.joined_at)
}

/// The marks of a member at `now`, in a stable order.
pub fn marks(facts: &MemberFacts, now: i64) -> Vec<Mark> {
    let mut marks = Vec::new();
    if now.saturating_sub(last_active(facts)) >= STALE_AFTER_DAYS * DAY_MS {
        marks.push(Mark::Inactive);
    }
    if is_administrator(facts.permissions) && !facts.two_factor {
        marks.push(Mark::AdministratorWithoutTwoFactor);
    }
    marks
}

/// When the next review falls due: `every_days` after the last sign-off,
/// or after the organization was created if none was ever signed off.
pub fn next_review_due(created_at: i64, last_signed_off_at: Option<i64>, every_days: i64) -> i64 {
    last_signed_off_at
        .unwrap_or(created_at)
        .max(created_at)
        .saturating_add(every_days.saturating_mul(DAY_MS))
}

/// Whether owners should be reminded now: the review is due, none is in
/// progress, and they were not yet reminded of this due date.
pub fn reminder_due(due_at: i64, now: i64, review_open: bool, reminded_for: Option<i64>) -> bool {
    now >= due_at && !review_open && reminded_for != Some(due_at)
}

/// A reviewer's decision on one member's access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Keep,
    Revoke,
}

impl Decision {
    pub const fn as_str(self) -> &'static str {
        match self {
            Decision::Keep => "keep",
            Decision::Revoke => "revoke",
        }
    }

    pub fn parse(text: &str) -> Option<Decision> {
        match text {
            "keep" => Some(Decision::Keep),
            "revoke" => Some(Decision::Revoke),
            _ => None,
        }
    }
}

/// Why a reviewer may not decide on a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Nobody approves their own access.
    OwnAccess,
    /// The review was signed off: its decisions are final.
    SignedOff,
}

/// Whether `reviewer` may decide on `member` in a review. Their own
/// access is left to another reviewer, unless there is none (an
/// organization run by one person must still be able to sign off).
pub fn may_decide(
    reviewer: i64,
    member: i64,
    signed_off: bool,
    other_reviewers: usize,
) -> Result<(), Refusal> {
    if signed_off {
        return Err(Refusal::SignedOff);
    }
    if reviewer == member && other_reviewers > 0 {
        return Err(Refusal::OwnAccess);
    }
    Ok(())
}

/// Whether a review may be signed off: every member decided.
/// Returns the number still undecided when not.
pub fn may_sign_off(undecided: usize) -> Result<(), usize> {
    match undecided {
        0 => Ok(()),
        n => Err(n),
    }
}
