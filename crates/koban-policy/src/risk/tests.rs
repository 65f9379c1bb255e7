//! Rules of [`assess`] one by one, and properties across the whole engine.

use super::*;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const NOW: i64 = 1_750_000_000_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test ip")
}

fn point(lat: f64, lon: f64) -> Option<GeoPoint> {
    Some(GeoPoint::new(lat, lon).expect("test point"))
}

fn tokyo() -> Option<GeoPoint> {
    point(35.6762, 139.6503)
}

fn cfg() -> RiskConfig {
    RiskConfig {
        ip_allow: vec!["10.0.0.0/8".parse().expect("test block")],
        ip_block: vec!["203.0.113.0/24".parse().expect("test block")],
        min_client_version: Some("13.4".parse().expect("test version")),
        ..RiskConfig::default()
    }
}

/// A regular sign-in: known phone, home network, Tokyo, like yesterday.
fn usual() -> SignInContext {
    SignInContext {
        device_known: true,
        known_ips: vec![ip("192.0.2.10"), ip("2001:db8:1:2::1")],
        known_countries: vec!["JP".into()],
        last_sign_in: Some(LastSignIn {
            at_ms: NOW - DAY,
            ip: ip("192.0.2.10"),
            country: Some("JP".into()),
            location: tokyo(),
        }),
        country: Some("JP".into()),
        location: tokyo(),
        ..SignInContext::new(ip("192.0.2.10"))
    }
}

fn last_sign_in(at_ms: i64, location: Option<GeoPoint>) -> Option<LastSignIn> {
    Some(LastSignIn {
        at_ms,
        ip: ip("192.0.2.10"),
        country: Some("JP".into()),
        location,
    })
}

type Case = (
    &'static str,
    fn(&mut SignInContext),
    &'static [&'static str],
    u8,
    Decision,
);

#[test]
fn assess_table() {
    let cases: &[Case] = &[
        ("usual", |_| {}, &[], 0, Decision::Allow),
        (
            "one typo before",
            |c| {
                c.consecutive_failures = 1;
                c.last_failure_ms = Some(NOW - MINUTE);
            },
            &["password_failures"],
            8,
            Decision::Allow,
        ),
        (
            "five failures",
            |c| c.consecutive_failures = 5,
            &["password_failures"],
            40,
            Decision::Allow,
        ),
        (
            "failure points are capped",
            |c| c.consecutive_failures = 9,
            &["password_failures"],
            40,
            Decision::Allow,
        ),
        (
            "old failures are forgotten",
            |c| {
                c.consecutive_failures = 5;
                c.last_failure_ms = Some(NOW - 13 * HOUR);
            },
            &[],
            0,
            Decision::Allow,
        ),
        (
            "failures and a new device",
            |c| {
                c.consecutive_failures = 5;
                c.device_known = false;
            },
            &["password_failures", "new_device"],
            60,
            Decision::StepUp,
        ),
        (
            "ip with many failures",
            |c| c.ip_failures_in_window = 20,
            &["ip_failure_burst"],
            40,
            Decision::Allow,
        ),
        (
            "ip below the burst",
            |c| c.ip_failures_in_window = 19,
            &[],
            0,
            Decision::Allow,
        ),
        (
            "ip past the limit steps up",
            |c| c.ip_failures_in_window = 100,
            &["ip_failure_burst"],
            40,
            Decision::StepUp,
        ),
        (
            "stuffing from a new network and device",
            |c| {
                c.ip = ip("198.18.0.1");
                c.device_known = false;
                c.ip_failures_in_window = 30;
            },
            &["ip_failure_burst", "new_device", "new_ip"],
            70,
            Decision::StepUp,
        ),
        (
            "allow-listed ip is not scored for failures",
            |c| {
                c.ip = ip("10.1.2.3");
                c.known_ips.push(ip("10.1.2.99"));
                c.ip_failures_in_window = 5_000;
            },
            &[],
            0,
            Decision::Allow,
        ),
        (
            "new device",
            |c| c.device_known = false,
            &["new_device"],
            20,
            Decision::Allow,
        ),
        (
            "same /24 is not a new ip",
            |c| c.ip = ip("192.0.2.200"),
            &[],
            0,
            Decision::Allow,
        ),
        (
            "mapped ipv4 in the same /24",
            |c| c.ip = ip("::ffff:192.0.2.55"),
            &[],
            0,
            Decision::Allow,
        ),
        (
            "ipv6 privacy address in the same /64",
            |c| c.ip = ip("2001:db8:1:2:abcd::9"),
            &[],
            0,
            Decision::Allow,
        ),
        (
            "new ip",
            |c| c.ip = ip("198.18.0.1"),
            &["new_ip"],
            10,
            Decision::Allow,
        ),
        (
            "new ipv6 network",
            |c| c.ip = ip("2001:db8:1:3::1"),
            &["new_ip"],
            10,
            Decision::Allow,
        ),
        (
            "new country, travelled in time",
            |c| {
                c.ip = ip("198.18.0.1");
                c.country = Some("KR".into());
                c.location = point(37.5665, 126.978);
            },
            &["new_ip", "new_country"],
            35,
            Decision::Allow,
        ),
        (
            "new country on a new device",
            |c| {
                c.ip = ip("198.18.0.1");
                c.device_known = false;
                c.country = Some("KR".into());
            },
            &["new_device", "new_ip", "new_country"],
            55,
            Decision::StepUp,
        ),
        (
            "country compared without case",
            |c| c.country = Some(" jp ".into()),
            &[],
            0,
            Decision::Allow,
        ),
        (
            "impossible travel",
            |c| {
                c.last_sign_in = last_sign_in(NOW - HOUR, point(48.8566, 2.3522));
            },
            &["impossible_travel"],
            50,
            Decision::StepUp,
        ),
        (
            "tokyo to osaka in two hours",
            |c| {
                c.last_sign_in = last_sign_in(NOW - 2 * HOUR, point(34.6937, 135.5023));
            },
            &[],
            0,
            Decision::Allow,
        ),
        (
            "tolerance is taken off: osaka in 20 min is possible",
            |c| {
                c.last_sign_in = last_sign_in(NOW - 20 * MINUTE, point(34.6937, 135.5023));
            },
            &[],
            0,
            Decision::Allow,
        ),
        (
            "osaka in 15 min is not",
            |c| {
                c.last_sign_in = last_sign_in(NOW - 15 * MINUTE, point(34.6937, 135.5023));
            },
            &["impossible_travel"],
            50,
            Decision::StepUp,
        ),
        (
            "yokohama at the same instant is within tolerance",
            |c| {
                c.last_sign_in = last_sign_in(NOW, point(35.4437, 139.638));
            },
            &[],
            0,
            Decision::Allow,
        ),
        (
            "last sign-in in the future counts as just now",
            |c| {
                c.last_sign_in = last_sign_in(NOW + DAY, point(34.6937, 135.5023));
            },
            &["impossible_travel"],
            50,
            Decision::StepUp,
        ),
        (
            "no geography at all",
            |c| {
                c.country = None;
                c.location = None;
                c.known_countries.clear();
                c.last_sign_in = None;
            },
            &[],
            0,
            Decision::Allow,
        ),
        (
            "device churn",
            |c| {
                c.device_known = false;
                c.new_device_times_ms = vec![NOW - HOUR, NOW - 2 * HOUR];
            },
            &["new_device", "device_churn"],
            50,
            Decision::StepUp,
        ),
        (
            "churn counts a new device another node saw a moment ahead of this clock",
            |c| {
                c.device_known = false;
                c.new_device_times_ms = vec![NOW + 500, NOW - 2 * HOUR];
            },
            &["new_device", "device_churn"],
            50,
            Decision::StepUp,
        ),
        (
            "churn counts only the window",
            |c| {
                c.device_known = false;
                c.new_device_times_ms = vec![NOW - HOUR, NOW - 2 * DAY];
            },
            &["new_device"],
            20,
            Decision::Allow,
        ),
        (
            "churn on a known device",
            |c| {
                c.new_device_times_ms = vec![NOW - HOUR, NOW - 2 * HOUR, NOW - 3 * HOUR];
            },
            &["device_churn"],
            30,
            Decision::Allow,
        ),
        (
            "outdated client",
            |c| c.client_version = Some("13.3.9".into()),
            &["outdated_client"],
            15,
            Decision::Allow,
        ),
        (
            "current client",
            |c| c.client_version = Some("13.4.0".into()),
            &[],
            0,
            Decision::Allow,
        ),
        (
            "newer client",
            |c| c.client_version = Some("v14.0-beta".into()),
            &[],
            0,
            Decision::Allow,
        ),
        (
            "junk client version",
            |c| c.client_version = Some("curl/8.5".into()),
            &["unrecognised_client_version"],
            15,
            Decision::Allow,
        ),
        (
            "block-listed ip",
            |c| c.ip = ip("203.0.113.5"),
            &["ip_block_listed", "new_ip"],
            100,
            Decision::LockUntilVerifiedSupport,
        ),
        (
            "temporary lock running",
            |c| {
                c.lock.locked_until_ms = Some(NOW + MINUTE);
            },
            &[],
            0,
            Decision::TemporaryLock {
                until_ms: NOW + MINUTE,
            },
        ),
        (
            "temporary lock ended",
            |c| c.lock.locked_until_ms = Some(NOW),
            &[],
            0,
            Decision::Allow,
        ),
        (
            "support lock",
            |c| c.lock.locked_for_support = true,
            &[],
            0,
            Decision::LockUntilVerifiedSupport,
        ),
        (
            "first sign-in ever",
            |c| *c = SignInContext::new(ip("198.18.0.1")),
            &["new_device"],
            20,
            Decision::Allow,
        ),
    ];
    for (name, change, codes, score, decision) in cases {
        let mut ctx = usual();
        change(&mut ctx);
        let got = assess(&ctx, NOW, &cfg());
        let got_codes: Vec<&str> = got.reasons.iter().map(Reason::code).collect();
        assert_eq!(got_codes, *codes, "{name}");
        assert_eq!(got.score, *score, "{name}");
        assert_eq!(got.decision, *decision, "{name}");
    }
}

#[test]
fn geography_reads_unknown_without_data() {
    let cases = [
        ("usual", usual(), Finding::No, Finding::No),
        (
            "no location here",
            SignInContext {
                location: None,
                ..usual()
            },
            Finding::No,
            Finding::Unknown,
        ),
        (
            "no country here",
            SignInContext {
                country: None,
                ..usual()
            },
            Finding::Unknown,
            Finding::No,
        ),
        (
            "empty country here",
            SignInContext {
                country: Some(" ".into()),
                ..usual()
            },
            Finding::Unknown,
            Finding::No,
        ),
        (
            "no history",
            SignInContext {
                known_countries: vec![],
                last_sign_in: None,
                ..usual()
            },
            Finding::Unknown,
            Finding::Unknown,
        ),
        (
            "last sign-in without location",
            SignInContext {
                last_sign_in: last_sign_in(NOW - HOUR, None),
                ..usual()
            },
            Finding::No,
            Finding::Unknown,
        ),
        (
            "new country",
            SignInContext {
                country: Some("TW".into()),
                ..usual()
            },
            Finding::Yes,
            Finding::No,
        ),
    ];
    for (name, ctx, country, travel) in cases {
        let geo = assess(&ctx, NOW, &cfg()).geo;
        assert_eq!(
            (geo.new_country, geo.impossible_travel),
            (country, travel),
            "{name}"
        );
    }
    assert_eq!(Finding::Unknown.code(), "unknown");
}

#[test]
fn impossible_travel_reports_distance_and_speed() {
    let ctx = SignInContext {
        last_sign_in: last_sign_in(NOW - HOUR, point(48.8566, 2.3522)),
        ..usual()
    };
    let reasons = assess(&ctx, NOW, &cfg()).reasons;
    let Some(Reason {
        signal: Signal::ImpossibleTravel { km, km_per_h },
        points: 50,
    }) = reasons.first().copied()
    else {
        panic!("expected impossible travel, got {reasons:?}");
    };
    assert!((9_650..9_750).contains(&km), "{km}");
    assert_eq!(km_per_h, km - 100);
}

#[test]
fn signal_codes_are_unique_snake_case() {
    let all = [
        Signal::PasswordFailures { count: 1 },
        Signal::IpFailureBurst { failures: 1 },
        Signal::NewDevice,
        Signal::NewIp,
        Signal::NewCountry,
        Signal::ImpossibleTravel { km: 1, km_per_h: 1 },
        Signal::DeviceChurn { new_devices: 1 },
        Signal::OutdatedClient,
        Signal::UnrecognisedClientVersion,
        Signal::IpBlockListed,
    ];
    let mut codes: Vec<&str> = all.iter().map(|s| s.code()).collect();
    for code in &codes {
        let snake = code
            .split('_')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()));
        assert!(snake, "{code}");
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
}

#[test]
fn default_config_is_documented_figures() {
    let cfg = RiskConfig::default();
    assert_eq!(
        (cfg.lock_after_failures, cfg.lock_base_ms, cfg.lock_max_ms),
        (5, MINUTE, HOUR)
    );
    assert_eq!(cfg.support_lock_after_failures, Some(30));
    assert_eq!(cfg.failure_memory_ms, Some(12 * HOUR));
    assert_eq!(
        (
            cfg.ip_failure_limit,
            cfg.ip_suspicious_failures,
            cfg.ip_failure_window_ms
        ),
        (100, 20, DAY)
    );
    assert_eq!(
        (cfg.max_travel_km_per_h, cfg.travel_tolerance_km),
        (1000.0, 100.0)
    );
    assert_eq!(
        (cfg.device_churn_count, cfg.device_churn_window_ms),
        (3, DAY)
    );
    assert_eq!(cfg.step_up_score, 50);
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<u128>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        any::<u32>().prop_map(|b| IpAddr::V6(Ipv4Addr::from(b).to_ipv6_mapped())),
        // Addresses near the test lists and history, so they match often.
        (0u8..4, any::<u8>()).prop_map(|(net, host)| {
            let nets = [[10, 1, 2], [203, 0, 113], [192, 0, 2], [198, 18, 0]];
            let [a, b, c] = nets[usize::from(net)];
            IpAddr::V4(Ipv4Addr::new(a, b, c, host))
        }),
    ]
}

fn any_point() -> impl Strategy<Value = Option<GeoPoint>> {
    // Any floats: most are out of range and become None, as a bad row would.
    prop_oneof![
        (-90.0f64..=90.0, -180.0f64..=180.0).prop_map(|(lat, lon)| GeoPoint::new(lat, lon)),
        (any::<f64>(), any::<f64>()).prop_map(|(lat, lon)| GeoPoint::new(lat, lon)),
    ]
}

fn any_country() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        Just("JP".to_string()),
        Just("jp".to_string()),
        Just("KR".to_string()),
        ".{0,4}",
    ])
}

fn any_time() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), (NOW - 3 * DAY)..(NOW + HOUR)]
}

fn any_ctx() -> impl Strategy<Value = SignInContext> {
    let account = (
        any::<u32>(),
        proptest::option::of(any_time()),
        proptest::option::of(any_time()),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(any_time(), 0..6),
        proptest::collection::vec(any_ip(), 0..4),
        proptest::collection::vec(any_country(), 0..3),
    );
    let last = proptest::option::of((any_time(), any_ip(), any_country(), any_point()));
    let attempt = (
        any_ip(),
        any::<u32>(),
        any_country(),
        any_point(),
        proptest::option::of("[0-9a-z.+-]{0,12}"),
    );
    (account, last, attempt).prop_map(|(account, last, attempt)| {
        let (failures, last_failure, until, support, known, devices, ips, countries) = account;
        let (ip, ip_failures, country, location, client_version) = attempt;
        SignInContext {
            consecutive_failures: failures,
            last_failure_ms: last_failure,
            lock: AccountLock {
                locked_until_ms: until,
                locked_for_support: support,
            },
            device_known: known,
            new_device_times_ms: devices,
            known_ips: ips,
            known_countries: countries.into_iter().flatten().collect(),
            last_sign_in: last.map(|(at_ms, ip, country, location)| LastSignIn {
                at_ms,
                ip,
                country,
                location,
            }),
            ip,
            ip_failures_in_window: ip_failures,
            country,
            location,
            client_version,
        }
    })
}

fn any_cfg() -> impl Strategy<Value = RiskConfig> {
    let locks = (
        any::<u32>(),
        any::<i64>(),
        any::<i64>(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<i64>()),
        any::<u32>(),
        any::<u32>(),
    );
    let rest = (
        any::<f64>(),
        any::<f64>(),
        any::<u32>(),
        any::<i64>(),
        proptest::option::of("[0-9]{1,3}(\\.[0-9]{1,3}){0,3}"),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 10),
    );
    (locks, rest).prop_map(|(locks, rest)| {
        let (lock_after, base, max, support, memory, limit, suspicious) = locks;
        let (speed, tolerance, churn, churn_window, min_version, v4, v6, step_up, p) = rest;
        RiskConfig {
            lock_after_failures: lock_after,
            lock_base_ms: base,
            lock_max_ms: max,
            support_lock_after_failures: support,
            failure_memory_ms: memory,
            ip_failure_limit: limit,
            ip_suspicious_failures: suspicious,
            max_travel_km_per_h: speed,
            travel_tolerance_km: tolerance,
            device_churn_count: churn,
            device_churn_window_ms: churn_window,
            min_client_version: min_version.and_then(|v| v.parse().ok()),
            same_ipv4_prefix: v4,
            same_ipv6_prefix: v6,
            step_up_score: step_up,
            points: RiskPoints {
                per_password_failure: p[0],
                max_password_failures: p[1],
                ip_failure_burst: p[2],
                new_device: p[3],
                new_ip: p[4],
                new_country: p[5],
                impossible_travel: p[6],
                device_churn: p[7],
                outdated_client: p[8],
                unrecognised_client_version: p[9],
            },
            ..cfg()
        }
    })
}

proptest! {
    #[test]
    fn nothing_panics_and_the_score_adds_up(ctx in any_ctx(), cfg in any_cfg(), now in any_time()) {
        let got = assess(&ctx, now, &cfg);
        let sum: u32 = got.reasons.iter().map(|r| u32::from(r.points)).sum();
        prop_assert!(got.score <= 100);
        prop_assert_eq!(u32::from(got.score), sum.min(100));
        let _ = pre_check(ctx.lock, ctx.ip, ctx.ip_failures_in_window, now, &cfg);
        let next = next_failure_count(ctx.consecutive_failures, ctx.last_failure_ms, now, &cfg);
        let _ = after_password_failure(next, now, &cfg);
    }

    #[test]
    fn score_never_falls_as_failures_grow(
        ctx in any_ctx(),
        cfg in prop_oneof![Just(cfg()), any_cfg()],
        now in any_time(),
        fewer in any::<u32>(),
        more in any::<u32>(),
    ) {
        let low = assess(&SignInContext { consecutive_failures: fewer, ..ctx.clone() }, now, &cfg);
        let high = assess(&SignInContext { consecutive_failures: fewer.saturating_add(more), ..ctx }, now, &cfg);
        prop_assert!(low.score <= high.score, "{} > {}", low.score, high.score);
        prop_assert!(low.decision <= high.decision);
    }

    #[test]
    fn allow_listed_ip_is_never_refused_or_scored_by_the_per_ip_rule(
        ctx in any_ctx(),
        host in any::<u32>(),
        failures in any::<u32>(),
        now in any_time(),
    ) {
        let cfg = cfg();
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (host & 0x00ff_ffff)));
        let quiet = SignInContext { ip, ip_failures_in_window: 0, ..ctx.clone() };
        let busy = SignInContext { ip, ip_failures_in_window: failures, ..ctx };
        prop_assert_eq!(assess(&quiet, now, &cfg), assess(&busy, now, &cfg));
        prop_assert_eq!(pre_check(AccountLock::default(), ip, failures, now, &cfg), Ok(()));
    }
}
