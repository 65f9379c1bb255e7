//! The dates a desk report covers: whole calendar days in the viewer's time
//! zone, first and last included. A supervisor in Tokyo asking for
//! 1 March means 1 March in Tokyo, so the instants that bound each day are
//! worked out in that zone (a DST day is 23 or 25 hours long, and a zone
//! whose midnight does not exist on some day starts that day later).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// The longest range a report covers, in days: a year, leap day included.
pub const MAX_DAYS: i32 = 366;
/// The range when none is given: the last 30 days, today included.
pub const DEFAULT_DAYS: i32 = 30;

/// Why a range is refused; each names the parameter to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// `from` is not a date (YYYY-MM-DD) Koban can bound.
    FromNotADate,
    /// `to` is not a date (YYYY-MM-DD) Koban can bound.
    ToNotADate,
    /// `to` is before `from`.
    Reversed,
    /// More than [`MAX_DAYS`] days.
    TooLong,
}

impl RangeError {
    /// The query parameter the error is about.
    pub const fn field(self) -> &'static str {
        match self {
            RangeError::FromNotADate => "from",
            RangeError::ToNotADate | RangeError::Reversed | RangeError::TooLong => "to",
        }
    }

    /// The reason code a problem document carries.
    pub const fn code(self) -> &'static str {
        match self {
            RangeError::FromNotADate | RangeError::ToNotADate => "not_a_date",
            RangeError::Reversed => "report_range_reversed",
            RangeError::TooLong => "report_range_too_long",
        }
    }
}

/// Whole days in one zone, with the instant each begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub first: Date,
    pub last: Date,
    /// Milliseconds at which each day starts, and then the end of the last.
    bounds: Vec<i64>,
}

/// Dates outside these years are refused as not dates: nobody reports on
/// them, and the zone arithmetic near jiff's limits would fail.
const EARLIEST_YEAR: i16 = 1970;
const LATEST_YEAR: i16 = 2999;

fn day_start(date: Date, zone: &TimeZone) -> Option<i64> {
    let start = date.to_zoned(zone.clone()).ok()?.start_of_day().ok()?;
    Some(start.timestamp().as_millisecond())
}

fn read_date(text: &str) -> Option<Date> {
    let text = text.trim();
    // Only the ISO calendar date a date input sends; jiff reads more shapes.
    if text.len() != 10 || text.as_bytes()[4] != b'-' || text.as_bytes()[7] != b'-' {
        return None;
    }
    let date: Date = text.parse().ok()?;
    (EARLIEST_YEAR..=LATEST_YEAR)
        .contains(&date.year())
        .then_some(date)
}

impl Range {
    /// The days from `first` to `last` in `zone`.
    pub fn new(first: Date, last: Date, zone: &TimeZone) -> Result<Range, RangeError> {
        if last < first {
            return Err(RangeError::Reversed);
        }
        let days = first
            .until(last)
            .map_err(|_| RangeError::TooLong)?
            .get_days()
            + 1;
        if days > MAX_DAYS {
            return Err(RangeError::TooLong);
        }
        let mut bounds = Vec::with_capacity(days as usize + 1);
        let mut day = first;
        for _ in 0..=days {
            bounds.push(day_start(day, zone).ok_or(RangeError::ToNotADate)?);
            day = day.tomorrow().map_err(|_| RangeError::ToNotADate)?;
        }
        Ok(Range {
            first,
            last,
            bounds,
        })
    }

    /// The range a request asks for: `from` and `to` as YYYY-MM-DD, either
    /// may be left out (`to` is then today in `zone`, `from` the
    /// [`DEFAULT_DAYS`] days up to `to`). Every error found is returned.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        zone: &TimeZone,
        now: Timestamp,
    ) -> Result<Range, Vec<RangeError>> {
        let blank = |s: &Option<&str>| s.is_none_or(|s| s.trim().is_empty());
        let first = (!blank(&from)).then(|| from.and_then(read_date));
        let last = (!blank(&to)).then(|| to.and_then(read_date));
        let mut errors = vec![];
        if first == Some(None) {
            errors.push(RangeError::FromNotADate);
        }
        if last == Some(None) {
            errors.push(RangeError::ToNotADate);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let today = now.to_zoned(zone.clone()).date();
        let back = (DEFAULT_DAYS - 1).days();
        let (first, last) = match (first.flatten(), last.flatten()) {
            (Some(first), Some(last)) => (first, last),
            (Some(first), None) => (first, today.max(first)),
            (None, Some(last)) => (last.checked_sub(back).unwrap_or(last), last),
            (None, None) => (today.checked_sub(back).unwrap_or(today), today),
        };
        Range::new(first, last, zone).map_err(|e| vec![e])
    }

    /// How many days.
    pub fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Never: a range has at least one day.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// When the first day starts (ms).
    pub fn start_ms(&self) -> i64 {
        self.bounds[0]
    }

    /// When the last day ends (ms, exclusive).
    pub fn end_ms(&self) -> i64 {
        self.bounds[self.bounds.len() - 1]
    }

    /// When each day ends (ms, exclusive), in order.
    pub fn day_ends(&self) -> &[i64] {
        &self.bounds[1..]
    }

    /// Every day, in order.
    pub fn days(&self) -> Vec<Date> {
        let mut out = Vec::with_capacity(self.len());
        let mut day = self.first;
        for _ in 0..self.len() {
            out.push(day);
            day = day.tomorrow().unwrap_or(day);
        }
        out
    }

    /// The day (its index) an instant falls on, if inside the range.
    pub fn day_of(&self, ms: i64) -> Option<usize> {
        if ms < self.start_ms() || ms >= self.end_ms() {
            return None;
        }
        Some(self.bounds.partition_point(|&b| b <= ms) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn tokyo() -> TimeZone {
        TimeZone::get("Asia/Tokyo").expect("zone")
    }

    #[test]
    fn a_day_starts_at_midnight_in_the_zone() {
        let r = Range::new(date(2026, 3, 1), date(2026, 3, 2), &tokyo()).expect("range");
        // 2026-03-01 00:00 in Tokyo is 2026-02-28 15:00 UTC.
        assert_eq!(r.start_ms(), 1_772_290_800_000);
        assert_eq!(r.end_ms() - r.start_ms(), 2 * 86_400_000);
        // 23:30 UTC on 1 March is 08:30 on 2 March in Tokyo.
        assert_eq!(r.day_of(1_772_407_800_000), Some(1));
        let utc = Range::new(date(2026, 3, 1), date(2026, 3, 2), &TimeZone::UTC).expect("range");
        assert_eq!(utc.day_of(1_772_407_800_000), Some(0));
    }

    #[test]
    fn a_dst_day_is_23_hours() {
        let ny = TimeZone::get("America/New_York").expect("zone");
        let r = Range::new(date(2026, 3, 8), date(2026, 3, 8), &ny).expect("range");
        assert_eq!(r.end_ms() - r.start_ms(), 23 * 3_600_000);
    }

    #[test]
    fn bad_input_names_the_parameter() {
        let now = Timestamp::from_second(1_772_290_800).expect("now");
        let z = TimeZone::UTC;
        let parse = |f, t| Range::parse(f, t, &z, now);
        assert_eq!(
            parse(Some("2026-13-01"), Some("yesterday")),
            Err(vec![RangeError::FromNotADate, RangeError::ToNotADate])
        );
        assert_eq!(
            parse(Some("2026-03-02"), Some("2026-03-01")),
            Err(vec![RangeError::Reversed])
        );
        assert_eq!(
            parse(Some("2025-01-01"), Some("2026-01-02")),
            Err(vec![RangeError::TooLong])
        );
        assert!(
            parse(Some("2024-01-01"), Some("2024-12-31")).is_ok(),
            "366 days"
        );
        assert_eq!(
            parse(Some("20260301"), None),
            Err(vec![RangeError::FromNotADate])
        );
        assert_eq!(
            parse(Some("0001-01-01"), None),
            Err(vec![RangeError::FromNotADate])
        );
        let default = parse(None, Some("")).expect("default");
        assert_eq!(default.len(), 30);
        assert_eq!(default.last, date(2026, 2, 28));
    }

    proptest! {
        #[test]
        fn every_instant_in_the_range_falls_on_the_day_that_holds_it(
            start in 0i32..20_000, length in 1i32..=MAX_DAYS, offset in 0i64..(400 * 86_400_000),
            zone in prop::sample::select(vec!["UTC", "Asia/Tokyo", "America/New_York", "Asia/Bangkok", "Pacific/Apia"]),
        ) {
            let zone = TimeZone::get(zone).expect("zone");
            let first = date(1970, 1, 1).checked_add(start.days()).expect("date");
            let last = first.checked_add((length - 1).days()).expect("date");
            let r = Range::new(first, last, &zone).expect("range");
            prop_assert_eq!(r.len(), length as usize);
            prop_assert_eq!(r.days().len(), r.len());
            let ms = r.start_ms() + offset;
            match r.day_of(ms) {
                None => prop_assert!(ms >= r.end_ms()),
                Some(i) => {
                    let day = Timestamp::from_millisecond(ms).expect("ms").to_zoned(zone).date();
                    prop_assert_eq!(day, r.days()[i]);
                }
            }
        }
    }
}
