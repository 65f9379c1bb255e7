//! The business-hours clock: table tests for the main markets, night
//! shifts, holidays and DST changes, and properties over random calendars.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use koban_policy::desk::calendar::{Calendar, CalendarError, CalendarSpec, Hours, Interval};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

pub fn spec(zone: &str, week: &[(&str, &[&str])]) -> CalendarSpec {
    let week = week
        .iter()
        .map(|(day, list)| {
            let hours = if *list == ["24h"] {
                Hours::Open24h
            } else {
                Hours::parse(list).unwrap()
            };
            (day.to_string(), hours)
        })
        .collect();
    CalendarSpec {
        zone: zone.to_owned(),
        week,
        holidays: BTreeSet::new(),
        overrides: BTreeMap::new(),
    }
}

pub fn cal(zone: &str, week: &[(&str, &[&str])]) -> Calendar {
    Calendar::new(spec(zone, week)).unwrap()
}

pub const WEEKDAYS: [&str; 5] = ["mon", "tue", "wed", "thu", "fri"];

pub fn office(zone: &str) -> Calendar {
    let week: Vec<(&str, &[&str])> = WEEKDAYS
        .iter()
        .map(|d| (*d, &["09:00-18:00"][..]))
        .collect();
    cal(zone, &week)
}

/// A wall time in `zone` ("2026-03-06 17:00"), compatible with DST.
pub fn at(zone: &str, wall: &str) -> Timestamp {
    let dt: DateTime = wall.parse().unwrap();
    dt.to_zoned(TimeZone::get(zone).unwrap())
        .unwrap()
        .timestamp()
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

#[test]
fn tokyo_office_hours_skip_the_weekend() {
    let tz = "Asia/Tokyo";
    let c = office(tz);
    // Friday 2026-03-06 17:00 plus two business hours is Monday 10:00.
    let fri = at(tz, "2026-03-06 17:00");
    assert_eq!(c.add(fri, hours(2)), Some(at(tz, "2026-03-09 10:00")));
    assert_eq!(c.between(fri, at(tz, "2026-03-09 10:00")), hours(2));
    assert_eq!(c.between(at(tz, "2026-03-09 10:00"), fri), -hours(2));
    assert!(!c.is_open(at(tz, "2026-03-07 12:00")));
    assert!(c.is_open(at(tz, "2026-03-06 09:00")));
    assert!(
        !c.is_open(at(tz, "2026-03-06 18:00")),
        "an interval excludes its end"
    );
    assert_eq!(
        c.next_open(at(tz, "2026-03-07 12:00")),
        Some(at(tz, "2026-03-09 09:00"))
    );
    assert_eq!(c.next_open(fri), Some(fri));
    // Ending exactly at closing time stays there, not at the next opening.
    assert_eq!(c.add(fri, hours(1)), Some(at(tz, "2026-03-06 18:00")));
    assert_eq!(c.add(fri, SignedDuration::ZERO), Some(fri));
    assert_eq!(
        c.add(at(tz, "2026-03-07 12:00"), SignedDuration::ZERO),
        Some(at(tz, "2026-03-09 09:00"))
    );
    assert_eq!(c.add(fri, -hours(1)), None);
}

#[test]
fn overnight_shifts_run_into_the_next_morning() {
    let tz = "Asia/Taipei";
    let week: Vec<(&str, &[&str])> = WEEKDAYS
        .iter()
        .map(|d| (*d, &["22:00-06:00"][..]))
        .collect();
    let c = cal(tz, &week);
    // 2026-03-02 is a Monday.
    assert!(c.is_open(at(tz, "2026-03-03 03:00")), "Monday's shift");
    assert!(
        c.is_open(at(tz, "2026-03-07 05:59")),
        "Friday's shift ends Saturday 06:00"
    );
    assert!(!c.is_open(at(tz, "2026-03-08 03:00")), "no Saturday shift");
    assert!(!c.is_open(at(tz, "2026-03-02 03:00")), "no Sunday shift");
    assert_eq!(
        c.add(at(tz, "2026-03-02 21:00"), hours(1)),
        Some(at(tz, "2026-03-02 23:00"))
    );
    // One hour left of Friday morning, then an hour of Friday night.
    assert_eq!(
        c.add(at(tz, "2026-03-06 05:00"), hours(2)),
        Some(at(tz, "2026-03-06 23:00"))
    );
    assert_eq!(
        c.between(at(tz, "2026-03-02 00:00"), at(tz, "2026-03-09 00:00")),
        hours(40)
    );
}

#[test]
fn holidays_close_the_whole_date() {
    let tz = "Asia/Bangkok";
    let mut s = spec(
        tz,
        &WEEKDAYS
            .iter()
            .map(|d| (*d, &["09:00-18:00"][..]))
            .collect::<Vec<_>>(),
    );
    s.holidays.insert(date("2026-04-13")); // Songkran, a Monday
    let c = Calendar::new(s).unwrap();
    assert_eq!(
        c.add(at(tz, "2026-04-10 17:00"), hours(2)),
        Some(at(tz, "2026-04-14 10:00"))
    );
    assert!(!c.is_open(at(tz, "2026-04-13 10:00")));

    // A night shift: the holiday cuts the night before at midnight and
    // its own night shift does not run.
    let mut s = spec(
        tz,
        &WEEKDAYS
            .iter()
            .map(|d| (*d, &["22:00-06:00"][..]))
            .collect::<Vec<_>>(),
    );
    s.holidays.insert(date("2026-04-14")); // Tuesday
    let c = Calendar::new(s).unwrap();
    assert!(c.is_open(at(tz, "2026-04-13 23:30")));
    assert!(!c.is_open(at(tz, "2026-04-14 03:00")));
    assert!(!c.is_open(at(tz, "2026-04-14 23:00")));
    assert!(!c.is_open(at(tz, "2026-04-15 03:00")));
    assert!(c.is_open(at(tz, "2026-04-15 22:00")));
}

#[test]
fn overrides_replace_a_dates_hours() {
    let tz = "Asia/Tokyo";
    let mut s = spec(
        tz,
        &WEEKDAYS
            .iter()
            .map(|d| (*d, &["09:00-18:00"][..]))
            .collect::<Vec<_>>(),
    );
    s.overrides
        .insert(date("2026-12-31"), Hours::parse(&["09:00-12:00"]).unwrap()); // Thursday
    s.overrides.insert(date("2026-12-26"), Hours::Open24h); // a Saturday push
    s.holidays.insert(date("2027-01-01"));
    let c = Calendar::new(s).unwrap();
    assert_eq!(
        c.add(at(tz, "2026-12-31 11:00"), hours(2)),
        Some(at(tz, "2027-01-04 10:00"))
    );
    assert!(c.is_open(at(tz, "2026-12-26 23:59")));
    assert_eq!(
        c.between(at(tz, "2026-12-26 00:00"), at(tz, "2026-12-27 00:00")),
        hours(24)
    );
}

#[test]
fn dst_days_count_real_time() {
    let ny = "America/New_York";
    let every_day: Vec<(&str, &[&str])> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (*d, &["24h"][..]))
        .collect();
    let c = cal(ny, &every_day);
    // 2026-03-08 springs forward, 2026-11-01 falls back.
    assert_eq!(
        c.between(at(ny, "2026-03-08 00:00"), at(ny, "2026-03-09 00:00")),
        hours(23)
    );
    assert_eq!(
        c.between(at(ny, "2026-11-01 00:00"), at(ny, "2026-11-02 00:00")),
        hours(25)
    );

    // A night shift across the change is an hour shorter, or longer.
    let c = cal(ny, &[("sat", &["22:00-06:00"])]);
    assert_eq!(
        c.between(at(ny, "2026-03-07 12:00"), at(ny, "2026-03-08 12:00")),
        hours(7)
    );
    assert_eq!(
        c.between(at(ny, "2026-10-31 12:00"), at(ny, "2026-11-01 12:00")),
        hours(9)
    );
    assert_eq!(
        c.add(at(ny, "2026-03-07 22:00"), hours(7)),
        Some(at(ny, "2026-03-08 06:00"))
    );

    // An interval inside the skipped hour is no time at all.
    let c = cal(ny, &[("sun", &["02:00-03:00", "09:00-10:00"])]);
    assert_eq!(
        c.next_open(at(ny, "2026-03-08 00:00")),
        Some(at(ny, "2026-03-08 09:00"))
    );
    assert!(!c.is_open(at(ny, "2026-03-08 03:00")));

    let be = "Europe/Berlin";
    // 2026-03-29: 02:00 → 03:00; 2026-10-25: 03:00 → 02:00.
    let c = cal(be, &[("sun", &["01:00-04:00"])]);
    assert_eq!(
        c.between(at(be, "2026-03-29 00:00"), at(be, "2026-03-30 00:00")),
        hours(2)
    );
    assert_eq!(
        c.between(at(be, "2026-10-25 00:00"), at(be, "2026-10-26 00:00")),
        hours(4)
    );
    // Starting in the skipped hour counts from the jump.
    let c = cal(be, &[("sun", &["02:30-04:00"])]);
    assert_eq!(
        c.between(at(be, "2026-03-29 00:00"), at(be, "2026-03-30 00:00")),
        hours(1)
    );
    assert_eq!(
        c.next_open(at(be, "2026-03-29 00:00")),
        Some("2026-03-29T01:00:00Z".parse().unwrap())
    );
    // Starting in the repeated hour counts from its first occurrence.
    let c = cal(be, &[("sun", &["02:30-03:30"])]);
    assert_eq!(
        c.between(at(be, "2026-10-25 00:00"), at(be, "2026-10-26 00:00")),
        hours(2)
    );
}

#[test]
fn a_weekly_interval_lost_to_dst_is_not_the_end() {
    // The only interval falls into the skipped hour on 2026-03-08: two
    // weeks pass without open time, and the desk still opens after.
    let ny = "America/New_York";
    let c = cal(ny, &[("sun", &["02:00-02:30"])]);
    let after = at(ny, "2026-03-01 03:00");
    assert_eq!(c.next_open(after), Some(at(ny, "2026-03-15 02:00")));
    assert_eq!(
        c.add(after, SignedDuration::from_mins(30)),
        Some(at(ny, "2026-03-15 02:30"))
    );
}

#[test]
fn a_calendar_without_hours_gives_up() {
    let c = cal("Asia/Tokyo", &[]);
    let t = at("Asia/Tokyo", "2026-03-06 12:00");
    assert_eq!(c.add(t, hours(1)), None);
    assert_eq!(c.next_open(t), None);
    assert!(!c.is_open(t));
    assert_eq!(c.between(t, t + hours(24 * 365)), SignedDuration::ZERO);

    // One special opening years ahead is still found.
    let mut s = spec("Asia/Tokyo", &[]);
    s.overrides
        .insert(date("2029-06-01"), Hours::parse(&["10:00-11:00"]).unwrap());
    let c = Calendar::new(s).unwrap();
    assert_eq!(c.next_open(t), Some(at("Asia/Tokyo", "2029-06-01 10:00")));
    assert_eq!(c.add(t, hours(2)), None);
}

#[test]
fn refuses_bad_calendars() {
    let err = |s: CalendarSpec| Calendar::new(s).unwrap_err();
    assert_eq!(
        err(spec("Mars/Olympus", &[])),
        CalendarError::UnknownZone("Mars/Olympus".into())
    );
    assert_eq!(
        err(spec("UTC", &[("monday", &[])])),
        CalendarError::UnknownWeekday("monday".into())
    );
    assert!(matches!(
        err(spec(
            "UTC",
            &[("mon", &["22:00-06:00"]), ("tue", &["05:00-09:00"])]
        )),
        CalendarError::Overlap { .. }
    ));
    // Sunday night runs into Monday morning: the week is a circle.
    let e = err(spec(
        "UTC",
        &[("sun", &["23:00-01:00"]), ("mon", &["00:30-09:00"])],
    ));
    assert_eq!(
        e,
        CalendarError::Overlap {
            first: "mon 00:30-09:00".into(),
            second: "sun 23:00-01:00".into()
        }
    );
    assert!(matches!(
        err(spec("UTC", &[("sat", &["24h"]), ("fri", &["20:00-01:00"])])),
        CalendarError::Overlap { .. }
    ));
    assert!(Calendar::new(spec("UTC", &[("mon", &["09:00-12:00", "12:00-18:00"])])).is_ok());
    assert!(Calendar::new(spec(
        "UTC",
        &[("mon", &["22:00-06:00"]), ("tue", &["06:00-09:00"])]
    ))
    .is_ok());

    let mut s = spec("UTC", &[]);
    s.holidays.insert(date("2026-01-01"));
    s.overrides.insert(date("2026-01-01"), Hours::Open24h);
    assert_eq!(
        err(s),
        CalendarError::HolidayAndOverride(date("2026-01-01"))
    );
    let mut s = spec("UTC", &[]);
    s.overrides.insert(
        date("2026-01-02"),
        Hours::parse(&["09:00-12:00", "11:00-13:00"]).unwrap(),
    );
    assert!(matches!(err(s), CalendarError::Overlap { .. }));
}

#[test]
fn reads_and_writes_intervals() {
    assert_eq!(
        Interval::parse("9:00-18:00").unwrap().to_string(),
        "09:00-18:00"
    );
    assert_eq!(
        Interval::parse("22:00 - 24:00").unwrap().to_string(),
        "22:00-24:00"
    );
    assert!(Interval::parse("22:00-06:00").unwrap().crosses_midnight());
    assert_eq!(Interval::parse("22:00-06:00").unwrap().minutes(), 8 * 60);
    assert_eq!(Interval::parse("00:00-24:00").unwrap().minutes(), 24 * 60);
    for bad in [
        "24:00-01:00",
        "25:00-26:00",
        "09:60-10:00",
        "9-10",
        "09:00",
        "24h",
        "０9:00-10:00",
        "",
    ] {
        assert!(
            matches!(Interval::parse(bad), Err(CalendarError::BadInterval(_))),
            "{bad:?}"
        );
    }
    assert_eq!(
        Interval::parse("09:00-09:00"),
        Err(CalendarError::EmptyInterval("09:00-09:00".into()))
    );
    assert_eq!(
        Interval::parse("00:00-00:00"),
        Err(CalendarError::EmptyInterval("00:00-00:00".into()))
    );
    let many = vec!["01:00-01:30"; 13];
    assert_eq!(Hours::parse(&many), Err(CalendarError::TooManyIntervals));
}

const ZONES: [&str; 6] = [
    "Asia/Tokyo",
    "Asia/Taipei",
    "Asia/Bangkok",
    "America/New_York",
    "Europe/Berlin",
    "UTC",
];

/// A day's hours: closed, around the clock, one or two intervals, or a
/// night shift, on quarter hours.
fn day_hours() -> impl Strategy<Value = Hours> {
    let q = || (0u16..96).prop_map(|q| q * 15);
    prop_oneof![
        Just(Hours::closed()),
        Just(Hours::Open24h),
        (q(), q()).prop_filter_map("empty", |(a, b)| {
            Interval::new(a.min(b), a.max(b))
                .ok()
                .map(|iv| Hours::Intervals(vec![iv]))
        }),
        proptest::collection::btree_set(q(), 4).prop_map(|s| {
            let v: Vec<u16> = s.into_iter().collect();
            Hours::Intervals(vec![
                Interval::new(v[0], v[1]).unwrap(),
                Interval::new(v[2], v[3]).unwrap(),
            ])
        }),
        (64u16..96, 0u16..32).prop_map(|(a, b)| Hours::Intervals(vec![Interval::new(
            a * 15,
            b * 15
        )
        .unwrap()])),
    ]
}

/// Random valid calendars in the main zones, with a few holidays and
/// overrides in 2026.
pub fn calendars() -> impl Strategy<Value = Calendar> {
    (
        prop::sample::select(&ZONES[..]),
        proptest::collection::vec(day_hours(), 7),
        proptest::collection::btree_set(0i64..365, 0..4),
        proptest::collection::btree_map(0i64..365, day_hours(), 0..3),
    )
        .prop_filter_map("overlapping", |(zone, week, holidays, overrides)| {
            let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
            let day = |n: i64| {
                date("2026-01-01")
                    .checked_add(jiff::Span::new().days(n))
                    .unwrap()
            };
            let spec = CalendarSpec {
                zone: zone.to_owned(),
                week: names.iter().map(|n| n.to_string()).zip(week).collect(),
                holidays: holidays.iter().map(|n| day(*n)).collect(),
                overrides: overrides
                    .into_iter()
                    .filter(|(n, _)| !holidays.contains(n))
                    .map(|(n, h)| (day(n), h))
                    .collect(),
            };
            Calendar::new(spec).ok()
        })
}

/// An instant in 2026, to the second; half of them within four days of a
/// DST change in New York or Berlin, where the mistakes would be.
pub fn instants() -> impl Strategy<Value = Timestamp> {
    let start = at("UTC", "2026-01-01 00:00").as_second();
    let changes = [
        "2026-03-08T07:00:00Z",
        "2026-11-01T06:00:00Z",
        "2026-03-29T01:00:00Z",
        "2026-10-25T01:00:00Z",
    ]
    .map(|s| s.parse::<Timestamp>().unwrap().as_second());
    prop_oneof![
        start..start + 365 * 86400,
        (
            prop::sample::select(changes.to_vec()),
            -4 * 86400i64..4 * 86400
        )
            .prop_map(|(c, d)| c + d),
    ]
    .prop_map(|s| Timestamp::from_second(s).unwrap())
}

/// Up to two hundred business hours, to the second.
pub fn durations() -> impl Strategy<Value = SignedDuration> {
    (0i64..200 * 3600).prop_map(SignedDuration::from_secs)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn adding_never_goes_back_and_grows_with_the_duration(
        c in calendars(), start in instants(), d1 in durations(), d2 in durations(),
    ) {
        let (lo, hi) = (d1.min(d2), d1.max(d2));
        let (a, b) = (c.add(start, lo), c.add(start, hi));
        if let Some(a) = a {
            prop_assert!(a >= start);
        }
        if let (Some(a), Some(b)) = (a, b) {
            prop_assert!(a <= b);
        }
        // More time cannot be found where less was not.
        prop_assert!(a.is_some() || b.is_none());
    }

    #[test]
    fn between_undoes_add(c in calendars(), start in instants(), d in durations()) {
        if let Some(t) = c.add(start, d) {
            prop_assert_eq!(c.between(start, t), d);
        }
    }

    #[test]
    fn a_target_is_never_inside_a_closed_period(c in calendars(), start in instants(), d in durations()) {
        if let Some(t) = c.add(start, d) {
            let before = t - SignedDuration::from_nanos(1);
            prop_assert!(c.is_open(t) || c.is_open(before), "{t}");
        }
    }

    #[test]
    fn open_time_adds_up(c in calendars(), a in instants(), d in durations(), e in durations()) {
        let (b, c2) = (a + d, a + d + e);
        prop_assert_eq!(c.between(a, b) + c.between(b, c2), c.between(a, c2));
        prop_assert!(c.between(a, b) <= d);
    }

    #[test]
    fn next_open_is_open_and_nothing_is_skipped(c in calendars(), t in instants()) {
        if let Some(n) = c.next_open(t) {
            prop_assert!(n >= t);
            prop_assert!(c.is_open(n));
            prop_assert_eq!(c.between(t, n), SignedDuration::ZERO);
        }
    }

    #[test]
    fn around_the_clock_is_wall_clock_time(
        zone in prop::sample::select(&ZONES[..]), start in instants(), d in durations(), e in durations(),
    ) {
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let c = cal(zone, &names.iter().map(|n| (*n, &["24h"][..])).collect::<Vec<_>>());
        prop_assert_eq!(c.add(start, d), Some(start + d));
        prop_assert_eq!(c.between(start, start + e), e);
        prop_assert!(c.is_open(start));
    }
}
