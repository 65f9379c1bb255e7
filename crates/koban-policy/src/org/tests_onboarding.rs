use super::onboarding::*;
use proptest::prelude::*;

fn all_done() -> Facts {
    Facts {
        two_factor: true,
        unused_recovery_codes: 10,
        devices_reviewed_at: Some(200),
        newest_device_at: Some(100),
        notice_read_version: Some(2),
        notice_version: 2,
    }
}

#[test]
fn a_new_member_has_everything_to_do() {
    let fresh = Facts {
        notice_version: 1,
        newest_device_at: Some(5),
        ..Facts::default()
    };
    assert!(checklist(&fresh).iter().all(|(_, done)| !done));
    assert!(!complete(&fresh));
}

#[test]
fn everything_done_is_complete() {
    assert!(complete(&all_done()));
}

#[test]
fn a_device_added_after_the_review_undoes_it() {
    let mut facts = all_done();
    facts.newest_device_at = Some(300);
    assert!(!done(Item::DevicesReviewed, &facts));
    assert!(!complete(&facts));
}

#[test]
fn a_new_notice_version_must_be_read_again() {
    let mut facts = all_done();
    facts.notice_version = 3;
    assert!(!done(Item::SecurityNotice, &facts));
}

#[test]
fn used_up_recovery_codes_are_not_stored_codes() {
    let mut facts = all_done();
    facts.unused_recovery_codes = 0;
    assert!(!done(Item::RecoveryCodes, &facts));
}

#[test]
fn only_the_reviews_are_acknowledged_by_a_click() {
    let acknowledged: Vec<&str> = Item::ALL
        .into_iter()
        .filter(|i| i.acknowledged())
        .map(Item::as_str)
        .collect();
    assert_eq!(acknowledged, ["devices_reviewed", "security_notice"]);
    for item in Item::ALL {
        assert_eq!(Item::parse(item.as_str()), Some(item));
    }
    assert_eq!(Item::parse("everything"), None);
}

proptest! {
    #[test]
    fn complete_is_every_item_done(
        two_factor: bool,
        codes in 0i64..3,
        reviewed in proptest::option::of(0i64..10),
        newest in proptest::option::of(0i64..10),
        read in proptest::option::of(0i64..4),
        version in 0i64..4,
    ) {
        let facts = Facts {
            two_factor,
            unused_recovery_codes: codes,
            devices_reviewed_at: reviewed,
            newest_device_at: newest,
            notice_read_version: read,
            notice_version: version,
        };
        let list = checklist(&facts);
        prop_assert_eq!(complete(&facts), list.iter().all(|(_, d)| *d));
        // Reading the current notice and reviewing now never undoes anything.
        let mut after = facts;
        after.notice_read_version = Some(version);
        after.devices_reviewed_at = Some(newest.unwrap_or(0).max(reviewed.unwrap_or(0)));
        for (item, was) in list {
            prop_assert!(!was || done(item, &after));
        }
        prop_assert!(done(Item::SecurityNotice, &after));
        prop_assert!(done(Item::DevicesReviewed, &after));
    }
}
