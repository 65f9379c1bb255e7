//! The business-hours clock: when the desk is open, in the desk's own time
//! zone, and how much open time lies between two instants. SLA targets are
//! business time, so a ticket that arrives on Friday evening in Tokyo is
//! not late on Saturday morning.
//!
//! Rules a reader might otherwise guess at:
//! - An interval belongs to the date it starts on; `22:00-06:00` runs into
//!   the next morning.
//! - A holiday or a date with its own hours owns that whole local date: a
//!   night shift from the day before stops at its midnight, and the hours of
//!   the date (none, for a holiday) replace the weekday's.
//! - Wall times the clocks skip (spring forward) count from the moment of
//!   the jump; wall times that repeat (fall back) count from their first
//!   occurrence. So an open interval is the real time between its two ends,
//!   and a night shift across a change is an hour shorter or longer.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// Intervals one day may have.
pub const MAX_INTERVALS_PER_DAY: usize = 12;
/// Holidays and dates with their own hours, together.
pub const MAX_DATES: usize = 2000;
/// How far [`Calendar::add`] and [`Calendar::next_open`] look ahead before
/// giving up: fifty years is beyond any support target, and a bound keeps a
/// calendar that is (nearly) never open from spinning.
pub const HORIZON_DAYS: i32 = 50 * 366;

const DAY: u16 = 24 * 60;
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Why a calendar was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown time zone {0:?}; use an IANA name such as Asia/Tokyo")]
    UnknownZone(String),
    #[error("unknown weekday {0:?}; use mon, tue, wed, thu, fri, sat or sun")]
    UnknownWeekday(String),
    #[error("{0:?} is not HH:MM-HH:MM (use \"24h\", alone, for the whole day)")]
    BadInterval(String),
    #[error("{0:?} starts where it ends; use \"24h\" for the whole day")]
    EmptyInterval(String),
    #[error("{first} overlaps {second}")]
    Overlap { first: String, second: String },
    #[error("{0} is both a holiday and a date with its own hours")]
    HolidayAndOverride(Date),
    #[error("a day has at most {MAX_INTERVALS_PER_DAY} intervals")]
    TooManyIntervals,
    #[error("at most {MAX_DATES} holidays and dates with their own hours")]
    TooManyDates,
}

/// One opening, in minutes after local midnight. `end` is 0..=1440 (24:00);
/// below `start` it is on the next day (`22:00-06:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    start: u16,
    end: u16,
}

impl Interval {
    /// An interval from minute `start` (0..1440) to minute `end` (0..=1440).
    pub fn new(start: u16, end: u16) -> Result<Interval, CalendarError> {
        let iv = Interval { start, end };
        if start >= DAY || end > DAY {
            return Err(CalendarError::BadInterval(iv.to_string()));
        }
        // 00:00-00:00 could mean nothing or everything; "24h" says which.
        if start == end {
            return Err(CalendarError::EmptyInterval(iv.to_string()));
        }
        Ok(iv)
    }

    /// Reads `HH:MM-HH:MM` (hours may be one digit; `24:00` only as an end).
    pub fn parse(s: &str) -> Result<Interval, CalendarError> {
        let bad = || CalendarError::BadInterval(s.to_owned());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let (start, end) = (
            minute(a.trim()).ok_or_else(bad)?,
            minute(b.trim()).ok_or_else(bad)?,
        );
        if start == DAY {
            return Err(bad());
        }
        Interval::new(start, end).map_err(|e| match e {
            CalendarError::EmptyInterval(_) => CalendarError::EmptyInterval(s.to_owned()),
            _ => bad(),
        })
    }

    /// Minutes after midnight it opens.
    pub fn start_minute(self) -> u16 {
        self.start
    }

    /// Minutes after midnight it closes (of the next day if it crosses).
    pub fn end_minute(self) -> u16 {
        self.end
    }

    /// Whether it closes on the next day.
    pub fn crosses_midnight(self) -> bool {
        self.end < self.start
    }

    /// Length in wall-clock minutes (real time differs on a DST change).
    pub fn minutes(self) -> u16 {
        if self.crosses_midnight() {
            DAY - self.start + self.end
        } else {
            self.end - self.start
        }
    }
}

/// `H:MM` or `HH:MM` up to `24:00`, as minutes.
fn minute(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    let digits = |t: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(h, 1..=2) || !digits(m, 2..=2) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = (self.start, self.end);
        write!(f, "{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

/// A day's hours: open around the clock, or a list of intervals (none is
/// closed). Stored as `"24h"` or `["09:00-12:00", "13:00-18:00"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hours {
    /// Open from 00:00 to 24:00, said outright rather than as 00:00-23:59.
    Open24h,
    /// These intervals, which may cross midnight; none means closed.
    Intervals(Vec<Interval>),
}

impl Default for Hours {
    /// Closed: a weekday the spec leaves out.
    fn default() -> Hours {
        Hours::closed()
    }
}

impl Hours {
    /// No hours at all.
    pub fn closed() -> Hours {
        Hours::Intervals(Vec::new())
    }

    /// Reads a day's intervals from their `HH:MM-HH:MM` strings.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<Hours, CalendarError> {
        if list.len() > MAX_INTERVALS_PER_DAY {
            return Err(CalendarError::TooManyIntervals);
        }
        let ivs = list
            .iter()
            .map(|s| Interval::parse(s.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Hours::Intervals(ivs))
    }

    fn check_count(&self) -> Result<(), CalendarError> {
        match self {
            Hours::Intervals(ivs) if ivs.len() > MAX_INTERVALS_PER_DAY => {
                Err(CalendarError::TooManyIntervals)
            }
            _ => Ok(()),
        }
    }

    /// The intervals as (start, length) in minutes from this day's midnight.
    fn spans(&self) -> Vec<(u32, u32)> {
        match self {
            Hours::Open24h => vec![(0, u32::from(DAY))],
            Hours::Intervals(ivs) => ivs
                .iter()
                .map(|iv| (u32::from(iv.start), u32::from(iv.minutes())))
                .collect(),
        }
    }

    /// The spans with the text an overlap error shows.
    fn labelled(&self, offset: u32, prefix: &str) -> Vec<(u32, u32, String)> {
        let texts: Vec<String> = match self {
            Hours::Open24h => vec!["24h".to_owned()],
            Hours::Intervals(ivs) => ivs.iter().map(|iv| iv.to_string()).collect(),
        };
        let spans = self.spans().into_iter().zip(texts);
        spans
            .map(|((s, l), t)| (offset + s, l, format!("{prefix} {t}")))
            .collect()
    }
}

impl Serialize for Hours {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Hours::Open24h => serializer.serialize_str("24h"),
            Hours::Intervals(ivs) => serializer.collect_seq(ivs.iter().map(|iv| iv.to_string())),
        }
    }
}

impl<'de> Deserialize<'de> for Hours {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hours, D::Error> {
        deserializer.deserialize_any(HoursVisitor)
    }
}

struct HoursVisitor;

impl<'de> serde::de::Visitor<'de> for HoursVisitor {
    type Value = Hours;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"24h\" or a list of \"HH:MM-HH:MM\"")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Hours, E> {
        match s {
            "24h" => Ok(Hours::Open24h),
            _ => Err(E::custom(CalendarError::BadInterval(s.to_owned()))),
        }
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Hours, A::Error> {
        let mut list = Vec::new();
        while let Some(s) = seq.next_element::<String>()? {
            // Stop reading at the limit rather than after a huge list.
            if list.len() == MAX_INTERVALS_PER_DAY {
                return Err(serde::de::Error::custom(CalendarError::TooManyIntervals));
            }
            list.push(s);
        }
        Hours::parse(&list).map_err(serde::de::Error::custom)
    }
}

/// A calendar as stored (JSON): the zone, weekday hours keyed `mon`…`sun`
/// (a missing day is closed), holidays, and dates with their own hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA name, such as `Asia/Tokyo`.
    pub zone: String,
    /// `mon`…`sun` to that weekday's hours.
    #[serde(default)]
    pub week: BTreeMap<String, Hours>,
    /// Local dates closed all day.
    #[serde(default)]
    pub holidays: BTreeSet<Date>,
    /// Local dates whose hours replace the weekday's.
    #[serde(default)]
    pub overrides: BTreeMap<Date, Hours>,
}

/// A checked calendar, ready to answer questions about time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarSpec", into = "CalendarSpec")]
pub struct Calendar {
    spec: CalendarSpec,
    zone: TimeZone,
    /// Monday first.
    week: [Hours; 7],
    /// The last holiday or override: after it, the week repeats forever,
    /// so a week without open time means the desk never opens again.
    last_special: Option<Date>,
}

impl TryFrom<CalendarSpec> for Calendar {
    type Error = CalendarError;
    fn try_from(spec: CalendarSpec) -> Result<Calendar, CalendarError> {
        Calendar::new(spec)
    }
}

impl From<Calendar> for CalendarSpec {
    fn from(c: Calendar) -> CalendarSpec {
        c.spec
    }
}

static CLOSED: Hours = Hours::Intervals(Vec::new());

impl Calendar {
    /// Checks a spec: a known zone, known weekdays, no overlapping
    /// intervals (across midnight too), no date both holiday and override.
    pub fn new(spec: CalendarSpec) -> Result<Calendar, CalendarError> {
        let zone =
            TimeZone::get(&spec.zone).map_err(|_| CalendarError::UnknownZone(spec.zone.clone()))?;
        let mut week: [Hours; 7] = Default::default();
        for (name, hours) in &spec.week {
            let i = WEEKDAYS
                .iter()
                .position(|w| w == name)
                .ok_or_else(|| CalendarError::UnknownWeekday(name.clone()))?;
            hours.check_count()?;
            week[i] = hours.clone();
        }
        check_week(&week)?;
        if spec.holidays.len() + spec.overrides.len() > MAX_DATES {
            return Err(CalendarError::TooManyDates);
        }
        for (date, hours) in &spec.overrides {
            if spec.holidays.contains(date) {
                return Err(CalendarError::HolidayAndOverride(*date));
            }
            hours.check_count()?;
            check_overlaps(&hours.labelled(0, &date.to_string()), None)?;
        }
        let last_special = spec
            .holidays
            .iter()
            .chain(spec.overrides.keys())
            .max()
            .copied();
        Ok(Calendar {
            spec,
            zone,
            week,
            last_special,
        })
    }

    /// The stored form.
    pub fn spec(&self) -> &CalendarSpec {
        &self.spec
    }

    /// The desk's time zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Whether the desk is open at `at` (an interval includes its start,
    /// not its end).
    pub fn is_open(&self, at: Timestamp) -> bool {
        let day = self.local_date(at);
        for (s, e) in self.periods(back_one(day), day) {
            if s > at {
                break;
            }
            if at < e {
                return true;
            }
        }
        false
    }

    /// The first open instant at or after `at`; `None` if the desk does not
    /// open within [`HORIZON_DAYS`].
    pub fn next_open(&self, at: Timestamp) -> Option<Timestamp> {
        let day = self.local_date(at);
        self.periods(back_one(day), horizon(day))
            .find(|&(_, e)| e > at)
            .map(|(s, _)| s.max(at))
    }

    /// The earliest instant by which `business` open time has passed since
    /// `start`: inside an open period or exactly at its end, never inside a
    /// closed one (zero from a closed instant gives the next opening).
    /// `None` for a negative duration, or if that much open time does not
    /// exist within [`HORIZON_DAYS`] (a calendar with no hours, say).
    pub fn add(&self, start: Timestamp, business: SignedDuration) -> Option<Timestamp> {
        if business.is_negative() {
            return None;
        }
        let day = self.local_date(start);
        let mut remaining = business;
        let mut cursor = start;
        for (s, e) in self.periods(back_one(day), horizon(day)) {
            if e <= cursor {
                continue;
            }
            let from = s.max(cursor);
            let open = e.duration_since(from);
            if remaining <= open {
                return from.checked_add(remaining).ok();
            }
            remaining -= open;
            cursor = e;
        }
        None
    }

    /// Open time between `a` and `b`; negative when `b` is before `a`.
    pub fn between(&self, a: Timestamp, b: Timestamp) -> SignedDuration {
        if b < a {
            return -self.between(b, a);
        }
        let last = self.local_date(b);
        let mut total = SignedDuration::ZERO;
        let mut cursor = a;
        for (s, e) in self.periods(back_one(self.local_date(a)), last) {
            if s >= b {
                break;
            }
            let (from, to) = (s.max(cursor), e.min(b));
            if to > from {
                total += to.duration_since(from);
            }
            cursor = cursor.max(e);
        }
        total
    }

    fn local_date(&self, at: Timestamp) -> Date {
        self.zone.to_datetime(at).date()
    }

    /// Open periods of the dates `first..=last`, ordered by start. Periods
    /// may touch or overlap (an override's night shift running into the
    /// next day's hours); callers walk them with a cursor.
    fn periods(&self, first: Date, last: Date) -> Periods<'_> {
        Periods {
            cal: self,
            date: Some(first),
            last,
            queue: VecDeque::new(),
            closed_days: 0,
        }
    }

    fn hours_on(&self, date: Date) -> &Hours {
        if self.spec.holidays.contains(&date) {
            return &CLOSED;
        }
        self.spec
            .overrides
            .get(&date)
            .unwrap_or_else(|| &self.week[date.weekday().to_monday_zero_offset() as usize])
    }

    fn owns_whole_date(&self, date: Date) -> bool {
        self.spec.holidays.contains(&date) || self.spec.overrides.contains_key(&date)
    }

    /// The periods that start on `date`, in real time, sorted.
    fn periods_on(&self, date: Date) -> Option<Vec<(Timestamp, Timestamp)>> {
        let next = date.tomorrow().ok()?;
        let cut = if self.owns_whole_date(next) {
            Some(self.instant(next, 0)?)
        } else {
            None
        };
        let mut out = Vec::new();
        for (start, len) in self.hours_on(date).spans() {
            let s = self.instant(date, start)?;
            let mut e = self.instant(date, start + len)?;
            if let Some(cut) = cut {
                e = e.min(cut);
            }
            if s < e {
                out.push((s, e));
            }
        }
        out.sort();
        Some(out)
    }

    /// The instant of `minute` minutes (up to two days) after `date`'s
    /// midnight on the wall clock. Never decreasing in `minute`, which keeps
    /// the periods ordered: a skipped wall time maps to the jump itself.
    fn instant(&self, date: Date, minute: u32) -> Option<Timestamp> {
        let date = date
            .checked_add(jiff::Span::new().days(i64::from(minute / 1440)))
            .ok()?;
        let minute = minute % 1440;
        let dt: DateTime = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        match self.zone.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok(),
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok(),
            AmbiguousOffset::Gap { after, .. } => {
                // Read with the later offset, the time lies just before the
                // jump; the next transition is the jump.
                let early = after.to_timestamp(dt).ok()?;
                self.zone.following(early).next().map(|t| t.timestamp())
            }
        }
    }
}

fn back_one(day: Date) -> Date {
    day.yesterday().unwrap_or(day)
}

fn horizon(day: Date) -> Date {
    day.checked_add(jiff::Span::new().days(HORIZON_DAYS))
        .unwrap_or(Date::MAX)
}

/// Refuses overlaps among a week's intervals, on a circle of 7 × 1440
/// minutes so Sunday night's shift meets Monday morning.
fn check_week(week: &[Hours; 7]) -> Result<(), CalendarError> {
    let mut all = Vec::new();
    for (i, hours) in week.iter().enumerate() {
        all.extend(hours.labelled(i as u32 * u32::from(DAY), WEEKDAYS[i]));
    }
    check_overlaps(&all, Some(7 * u32::from(DAY)))
}

/// Refuses two ranges `(start, length, label)` that share a minute, on a
/// line or, with `circle`, on a circle of that many minutes.
fn check_overlaps(ranges: &[(u32, u32, String)], circle: Option<u32>) -> Result<(), CalendarError> {
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            let overlap = match circle {
                Some(w) => (b.0 + w - a.0) % w < a.1 || (a.0 + w - b.0) % w < b.1,
                None => a.0 < b.0 + b.1 && b.0 < a.0 + a.1,
            };
            if overlap {
                return Err(CalendarError::Overlap {
                    first: a.2.clone(),
                    second: b.2.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Walks open periods date by date. Ends after `last`, when dates run out,
/// or when the special dates are behind and three weeks had no open time:
/// the week repeats, so the desk would never open again. (Three, not one:
/// a day's only interval can fall into a skipped DST hour, and a desk open
/// one day a week then has a closed run of thirteen days.)
struct Periods<'a> {
    cal: &'a Calendar,
    date: Option<Date>,
    last: Date,
    queue: VecDeque<(Timestamp, Timestamp)>,
    closed_days: u32,
}

impl Iterator for Periods<'_> {
    type Item = (Timestamp, Timestamp);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Some(p);
            }
            let date = self.date.filter(|d| *d <= self.last)?;
            if self.closed_days > 21 && self.cal.last_special.is_none_or(|s| date > s) {
                return None;
            }
            let periods = self.cal.periods_on(date)?;
            self.closed_days = if periods.is_empty() {
                self.closed_days + 1
            } else {
                0
            };
            self.queue.extend(periods);
            self.date = date.tomorrow().ok();
        }
    }
}
