use super::review::*;
use super::roles::{BuiltIn, Permission, Permissions};
use proptest::prelude::*;

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_800_000_000_000;

fn member(role: BuiltIn, last_sign_in_days_ago: Option<i64>, two_factor: bool) -> MemberFacts {
    MemberFacts {
        permissions: role.permissions(),
        joined_at: NOW - 400 * DAY,
        last_seen_at: last_sign_in_days_ago.map(|d| NOW - d * DAY),
        two_factor,
    }
}

#[test]
fn an_active_member_with_two_factor_is_unmarked() {
    assert!(marks(&member(BuiltIn::Admin, Some(3), true), NOW).is_empty());
}

#[test]
fn ninety_days_without_a_sign_in_is_inactive() {
    assert_eq!(
        marks(&member(BuiltIn::Member, Some(90), true), NOW),
        vec![Mark::Inactive]
    );
    assert!(marks(&member(BuiltIn::Member, Some(89), true), NOW).is_empty());
    assert_eq!(
        marks(&member(BuiltIn::Member, None, true), NOW),
        vec![Mark::Inactive],
        "never signed in since joining 400 days ago"
    );
}

#[test]
fn joining_recently_counts_as_activity() {
    let mut fresh = member(BuiltIn::Member, None, false);
    fresh.joined_at = NOW - 5 * DAY;
    assert!(marks(&fresh, NOW).is_empty());
}

#[test]
fn administrators_without_two_factor_are_marked_and_plain_members_are_not() {
    for role in [BuiltIn::Owner, BuiltIn::Admin, BuiltIn::SecurityAdmin] {
        assert_eq!(
            marks(&member(role, Some(1), false), NOW),
            vec![Mark::AdministratorWithoutTwoFactor],
            "{role:?}"
        );
    }
    for role in [BuiltIn::Member, BuiltIn::Auditor] {
        assert!(
            marks(&member(role, Some(1), false), NOW).is_empty(),
            "{role:?}"
        );
    }
}

#[test]
fn both_marks_at_once() {
    assert_eq!(
        marks(&member(BuiltIn::Owner, Some(200), false), NOW),
        vec![Mark::Inactive, Mark::AdministratorWithoutTwoFactor]
    );
}

#[test]
fn a_custom_role_that_can_invite_is_administrative() {
    assert!(is_administrator(Permissions::of(&[
        Permission::InviteMembers
    ])));
    assert!(!is_administrator(Permissions::of(&[
        Permission::ReadMembers,
        Permission::ReadAudit
    ])));
}

#[test]
fn reviews_fall_due_after_the_last_sign_off_or_creation() {
    assert_eq!(next_review_due(0, None, 90), 90 * DAY);
    assert_eq!(next_review_due(0, Some(10 * DAY), 30), 40 * DAY);
}

#[test]
fn owners_are_reminded_once_per_due_date_and_not_during_a_review() {
    let due = NOW - DAY;
    assert!(reminder_due(due, NOW, false, None));
    assert!(!reminder_due(due, NOW, false, Some(due)));
    assert!(reminder_due(due, NOW, false, Some(due - 90 * DAY)));
    assert!(!reminder_due(due, NOW, true, None));
    assert!(!reminder_due(NOW + DAY, NOW, false, None));
}

#[test]
fn nobody_decides_their_own_access_unless_alone() {
    assert_eq!(may_decide(1, 1, false, 1), Err(Refusal::OwnAccess));
    assert_eq!(may_decide(1, 1, false, 0), Ok(()));
    assert_eq!(may_decide(1, 2, false, 3), Ok(()));
    assert_eq!(may_decide(1, 2, true, 3), Err(Refusal::SignedOff));
}

#[test]
fn sign_off_waits_for_every_decision() {
    assert_eq!(may_sign_off(0), Ok(()));
    assert_eq!(may_sign_off(2), Err(2));
}

#[test]
fn decisions_round_trip() {
    for d in [Decision::Keep, Decision::Revoke] {
        assert_eq!(Decision::parse(d.as_str()), Some(d));
    }
    assert_eq!(Decision::parse("Keep"), None);
}

proptest! {
    #[test]
    fn marks_only_grow_with_time(
        joined in 0i64..1_000,
        last in proptest::option::of(0i64..1_000),
        two_factor: bool,
        admin: bool,
        later in 0i64..1_000,
    ) {
        let facts = MemberFacts {
            permissions: if admin { BuiltIn::Admin.permissions() } else { BuiltIn::Member.permissions() },
            joined_at: NOW - joined * DAY,
            last_seen_at: last.map(|d| NOW - d * DAY),
            two_factor,
        };
        let now = marks(&facts, NOW);
        let then = marks(&facts, NOW + later * DAY);
        prop_assert!(now.iter().all(|m| then.contains(m)));
        prop_assert_eq!(
            now.contains(&Mark::AdministratorWithoutTwoFactor),
            admin && !two_factor
        );
    }

    #[test]
    fn a_sign_in_within_the_window_never_leaves_a_member_inactive(
        days_ago in 0i64..STALE_AFTER_DAYS,
        joined in 0i64..10_000,
    ) {
        let facts = MemberFacts {
            permissions: BuiltIn::Member.permissions(),
            joined_at: NOW - joined * DAY,
            last_seen_at: Some(NOW - days_ago * DAY),
            two_factor: true,
        };
        prop_assert!(!marks(&facts, NOW).contains(&Mark::Inactive));
    }
}
