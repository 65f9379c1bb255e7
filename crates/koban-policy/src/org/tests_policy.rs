use super::policy::*;
use proptest::prelude::*;
use std::net::IpAddr;

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_800_000_000_000;

fn org(id: i64, policy: Policy) -> Governing {
    Governing {
        org_id: id,
        org_name: format!("Org {id}"),
        policy,
        grace_from_ms: NOW - 10 * DAY,
    }
}

fn sign_in(ip: &str) -> SignIn<'static> {
    SignIn {
        ip: ip.parse().unwrap(),
        country: Some("JP"),
        client_version: None,
        password_changed_at_ms: NOW - DAY,
        two_factor_on: false,
        now_ms: NOW,
    }
}

fn refused_by(policy: Policy, s: &SignIn) -> Option<Rule> {
    judge_sign_in(&[org(1, policy)], s).refused.map(|r| r.rule)
}

#[test]
fn an_empty_policy_decides_nothing() {
    let verdict = judge_sign_in(&[org(1, Policy::default())], &sign_in("203.0.113.5"));
    assert_eq!(verdict, Verdict::default());
    assert!(Policy::default().rules().is_empty());
}

#[test]
fn countries_refuse_others_and_the_unknown() {
    let policy = Policy {
        allowed_countries: vec!["TW".into(), "JP".into()],
        ..Policy::default()
    };
    assert_eq!(refused_by(policy.clone(), &sign_in("203.0.113.5")), None);
    let from_thailand = SignIn {
        country: Some("TH"),
        ..sign_in("203.0.113.5")
    };
    assert_eq!(
        refused_by(policy.clone(), &from_thailand),
        Some(Rule::AllowedCountries)
    );
    let unknown = SignIn {
        country: None,
        ..sign_in("203.0.113.5")
    };
    assert_eq!(refused_by(policy, &unknown), Some(Rule::AllowedCountries));
}

#[test]
fn networks_refuse_addresses_outside() {
    let policy = Policy {
        allowed_networks: vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ],
        ..Policy::default()
    };
    assert_eq!(refused_by(policy.clone(), &sign_in("10.20.30.40")), None);
    assert_eq!(refused_by(policy.clone(), &sign_in("2001:db8::1")), None);
    assert_eq!(
        refused_by(policy, &sign_in("127.0.0.1")),
        Some(Rule::AllowedNetworks)
    );
}

#[test]
fn an_old_password_and_an_old_app_are_refused() {
    let aged = Policy {
        password_max_age_days: Some(30),
        ..Policy::default()
    };
    let fresh = sign_in("127.0.0.1");
    assert_eq!(refused_by(aged.clone(), &fresh), None);
    let stale = SignIn {
        password_changed_at_ms: NOW - 31 * DAY,
        ..fresh.clone()
    };
    assert_eq!(refused_by(aged, &stale), Some(Rule::PasswordAge));

    let app = Policy {
        min_client_version: Some("13.4".parse().unwrap()),
        ..Policy::default()
    };
    let with = |v: &'static str| SignIn {
        client_version: Some(v),
        ..fresh.clone()
    };
    assert_eq!(
        refused_by(app.clone(), &fresh),
        None,
        "a browser sends no version"
    );
    assert_eq!(refused_by(app.clone(), &with("13.4.0")), None);
    assert_eq!(refused_by(app.clone(), &with("14")), None);
    assert_eq!(
        refused_by(app.clone(), &with("13.3.9")),
        Some(Rule::MinClientVersion)
    );
    assert_eq!(
        refused_by(app, &with("banana")),
        Some(Rule::MinClientVersion)
    );
}

#[test]
fn two_factor_is_owed_with_a_deadline_then_overdue() {
    let policy = Policy {
        two_factor_grace_days: Some(14),
        ..Policy::default()
    };
    let g = org(1, policy);
    let owed = two_factor_owed(&g, false, NOW).unwrap();
    assert_eq!(owed.deadline_ms, NOW + 4 * DAY);
    assert!(!owed.overdue);
    assert!(two_factor_owed(&g, false, NOW + 4 * DAY).unwrap().overdue);
    assert_eq!(two_factor_owed(&g, true, NOW + 400 * DAY), None);
    // The rule never refuses the sign-in itself: the organization does.
    let verdict = judge_sign_in(
        &[g],
        &SignIn {
            now_ms: NOW + 50 * DAY,
            ..sign_in("127.0.0.1")
        },
    );
    assert_eq!(verdict.refused, None);
    assert!(verdict.two_factor_owed[0].overdue);
}

#[test]
fn the_strictest_limits_win_and_name_their_organization() {
    let a = org(
        1,
        Policy {
            max_devices: Some(3),
            session_lifetime_minutes: Some(60),
            ..Policy::default()
        },
    );
    let b = org(
        2,
        Policy {
            max_devices: Some(2),
            session_lifetime_minutes: Some(600),
            ..Policy::default()
        },
    );
    let verdict = judge_sign_in(&[a, b], &sign_in("127.0.0.1"));
    let devices = verdict.max_devices.unwrap();
    assert_eq!((devices.value, devices.source.organization_id), (2, 2));
    let lifetime = verdict.session_lifetime_ms.unwrap();
    assert_eq!(
        (lifetime.value, lifetime.source.organization.as_str()),
        (3_600_000, "Org 1")
    );
}

#[test]
fn checking_normalizes_and_refuses_out_of_range() {
    let stored = Policy {
        allowed_countries: vec!["jp".into(), " TW".into(), "JP".into()],
        ..Policy::default()
    }
    .checked()
    .unwrap();
    assert_eq!(
        stored.allowed_countries,
        vec!["JP".to_string(), "TW".into()]
    );
    let field = |p: Policy| p.checked().unwrap_err().field;
    assert_eq!(
        field(Policy {
            max_devices: Some(0),
            ..Policy::default()
        }),
        "max_devices"
    );
    assert_eq!(
        field(Policy {
            max_devices: Some(101),
            ..Policy::default()
        }),
        "max_devices"
    );
    assert_eq!(
        field(Policy {
            two_factor_grace_days: Some(91),
            ..Policy::default()
        }),
        "two_factor_grace_days"
    );
    assert_eq!(
        field(Policy {
            session_lifetime_minutes: Some(4),
            ..Policy::default()
        }),
        "session_lifetime_minutes"
    );
    assert_eq!(
        field(Policy {
            password_max_age_days: Some(0),
            ..Policy::default()
        }),
        "password_max_age_days"
    );
    assert_eq!(
        field(Policy {
            allowed_countries: vec!["JPN".into()],
            ..Policy::default()
        }),
        "allowed_countries"
    );
    assert_eq!(
        field(Policy {
            allowed_countries: vec!["1A".into()],
            ..Policy::default()
        }),
        "allowed_countries"
    );
    assert_eq!(
        field(Policy {
            allowed_countries: vec!["JP".into(); MAX_LIST + 1],
            ..Policy::default()
        }),
        "allowed_countries"
    );
}

fn any_policy() -> impl Strategy<Value = Policy> {
    (
        proptest::option::of(0u32..=MAX_GRACE_DAYS),
        proptest::option::of(1u32..=MAX_DEVICES),
        proptest::collection::vec(prop_oneof![Just("JP"), Just("TW"), Just("TH")], 0..3),
        proptest::option::of(5u32..=10_000),
        proptest::option::of(1u32..=400),
        proptest::bool::ANY,
    )
        .prop_map(
            |(grace, devices, countries, minutes, days, private_only)| Policy {
                two_factor_grace_days: grace,
                max_devices: devices,
                allowed_countries: countries.into_iter().map(String::from).collect(),
                allowed_networks: if private_only {
                    vec!["10.0.0.0/8".parse().unwrap()]
                } else {
                    vec![]
                },
                session_lifetime_minutes: minutes,
                password_max_age_days: days,
                min_client_version: None,
            },
        )
}

proptest! {
    /// Adding an organization never loosens what the others decided: a
    /// refusal stays, and limits only fall.
    #[test]
    fn another_organization_only_tightens(
        policies in proptest::collection::vec(any_policy(), 1..4),
        extra in any_policy(),
        ip in prop_oneof![Just("10.1.2.3"), Just("198.51.100.7")],
        country in prop_oneof![Just("JP"), Just("TH"), Just("US")],
        age_days in 0i64..500,
    ) {
        let governing: Vec<Governing> =
            policies.into_iter().enumerate().map(|(i, p)| org(i as i64, p)).collect();
        let s = SignIn {
            ip: ip.parse::<IpAddr>().unwrap(),
            country: Some(country),
            password_changed_at_ms: NOW - age_days * DAY,
            ..sign_in("127.0.0.1")
        };
        let before = judge_sign_in(&governing, &s);
        let mut more = governing.clone();
        more.push(org(99, extra));
        let after = judge_sign_in(&more, &s);
        if before.refused.is_some() {
            prop_assert_eq!(&after.refused, &before.refused);
        }
        if let Some(b) = &before.max_devices {
            prop_assert!(after.max_devices.as_ref().unwrap().value <= b.value);
        }
        if let Some(b) = &before.session_lifetime_ms {
            prop_assert!(after.session_lifetime_ms.as_ref().unwrap().value <= b.value);
        }
        // And a refusal always names a rule the refusing policy sets.
        if let Some(source) = &after.refused {
            let g = more.iter().find(|g| g.org_id == source.organization_id).unwrap();
            prop_assert!(g.policy.rules().contains(&source.rule));
        }
    }

    /// Whatever is stored passes its own check again unchanged.
    #[test]
    fn checked_policies_are_fixed_points(policy in any_policy()) {
        let once = policy.checked().unwrap();
        prop_assert_eq!(once.clone().checked().unwrap(), once);
    }
}
