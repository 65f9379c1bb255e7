//! Throttles: how often a code may be sent to one destination, and the
//! generic rate limit (GCRA) used per IP and per account. Times are
//! milliseconds since the Unix epoch, passed in by the caller.

/// A verification code lives this long.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong tries that invalidate a code.
pub const CODE_MAX_ATTEMPTS: i64 = 5;
/// Minimum gap between two codes to one destination.
pub const RESEND_GAP_MS: i64 = 60 * 1000;
/// Codes to one destination within `RESEND_WINDOW_MS`.
pub const RESEND_MAX_PER_WINDOW: i64 = 5;
/// The window `RESEND_MAX_PER_WINDOW` counts over.
pub const RESEND_WINDOW_MS: i64 = 60 * 60 * 1000;

/// How many times something may be done for one destination: at least
/// `gap_ms` apart and at most `max_per_window` within any `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub gap_ms: i64,
    pub max_per_window: i64,
    pub window_ms: i64,
}

/// Codes to one destination: one a minute, five an hour.
pub const CODE_SENDS: Allowance = Allowance {
    gap_ms: RESEND_GAP_MS,
    max_per_window: RESEND_MAX_PER_WINDOW,
    window_ms: RESEND_WINDOW_MS,
};

/// Sign-ups naming one phone or email: five an hour, no gap (a person may
/// fix a refused password and try again at once). Sign-up answers 409 for
/// a contact already registered, so without this it would be the cheapest
/// way to ask "is this number on Koban?".
pub const SIGN_UPS: Allowance = Allowance {
    gap_ms: 0,
    max_per_window: 5,
    window_ms: 60 * 60 * 1000,
};

impl Allowance {
    /// Decides whether it may be done now, given when it was done before for
    /// the same destination. On yes, the times to remember (only those still
    /// inside the window, plus now); on no, the milliseconds until it may.
    /// A sliding window, so "5 an hour" holds for every hour, not per clock hour.
    pub fn decide(self, done_ms: &[i64], now_ms: i64) -> Result<Vec<i64>, i64> {
        // A time ahead of `now_ms` counts as now: parallel requests read the
        // clock before they read the row, so one that read it first may find
        // a time another wrote after it (and nodes' clocks differ). Dropping
        // such times once let two requests through in the same instant;
        // clamping keeps the wait bounded if a clock steps back.
        let mut recent: Vec<i64> = done_ms
            .iter()
            .map(|t| (*t).min(now_ms))
            .filter(|t| *t > now_ms - self.window_ms)
            .collect();
        recent.sort_unstable();
        // Both rules must hold, so the wait is the longer of the two.
        let gap_wait = recent.last().map_or(0, |last| last + self.gap_ms - now_ms);
        let max = self.max_per_window.max(1) as usize;
        let window_wait = match recent.len().checked_sub(max) {
            Some(i) => recent[i] + self.window_ms - now_ms,
            None => 0,
        };
        let wait = gap_wait.max(window_wait);
        if wait > 0 {
            return Err(wait);
        }
        recent.push(now_ms);
        Ok(recent)
    }
}

/// Decides whether a code may be sent now ([`CODE_SENDS`]).
pub fn decide_send(sent_ms: &[i64], now_ms: i64) -> Result<Vec<i64>, i64> {
    CODE_SENDS.decide(sent_ms, now_ms)
}

/// A rate: `burst` requests at once, refilled at one per `interval_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub interval_ms: i64,
    pub burst: i64,
}

impl Rate {
    /// `per_minute` requests a minute with an equal burst.
    pub fn per_minute(per_minute: i64) -> Rate {
        let per_minute = per_minute.max(1);
        Rate {
            interval_ms: (60_000 / per_minute).max(1),
            burst: per_minute,
        }
    }
}

/// The generic cell rate algorithm: `tat` is the "theoretical arrival time"
/// remembered for the key. Returns the new tat when the request conforms,
/// or the milliseconds to wait.
pub fn gcra(tat: Option<i64>, now_ms: i64, rate: Rate) -> Result<i64, i64> {
    let tat = tat.unwrap_or(now_ms).max(now_ms);
    let tolerance = rate.interval_ms * (rate.burst - 1).max(0);
    let allow_at = tat - tolerance;
    if now_ms < allow_at {
        return Err(allow_at - now_ms);
    }
    Ok(tat + rate.interval_ms)
}

/// How long a failed background job waits before its next try: doubling
/// from 2 s, capped at an hour, so a provider outage is not hammered.
pub fn job_backoff_ms(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 32) - 1;
    2_000i64
        .saturating_mul(1i64 << exponent.min(20))
        .min(3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn resend_needs_a_minute_and_stops_at_five_an_hour() {
        let mut sent = decide_send(&[], 0).unwrap();
        assert_eq!(decide_send(&sent, 30_000), Err(30_000));
        for i in 1..5 {
            sent = decide_send(&sent, i * 61_000).unwrap();
        }
        assert_eq!(sent.len(), 5);
        assert_eq!(
            decide_send(&sent, 5 * 61_000),
            Err(RESEND_WINDOW_MS - 5 * 61_000)
        );
        let after_first_ages_out = decide_send(&sent, RESEND_WINDOW_MS + 1).unwrap();
        assert_eq!(after_first_ages_out.len(), 5);
    }

    #[test]
    fn a_time_written_by_a_request_that_read_the_clock_later_still_counts() {
        // Request B read the clock at 999, request A at 1000 and wrote first.
        let written_by_a = decide_send(&[], 1_000).unwrap();
        assert_eq!(decide_send(&written_by_a, 999), Err(RESEND_GAP_MS));
    }

    #[test]
    fn five_sign_ups_an_hour_without_a_gap() {
        let mut done = Vec::new();
        for i in 0..5 {
            done = SIGN_UPS.decide(&done, i).unwrap();
        }
        assert_eq!(SIGN_UPS.decide(&done, 5), Err(60 * 60 * 1000 - 5));
        assert!(SIGN_UPS.decide(&done, 60 * 60 * 1000).is_ok());
    }

    #[test]
    fn gcra_allows_the_burst_then_spaces_requests() {
        let rate = Rate {
            interval_ms: 1000,
            burst: 3,
        };
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(gcra(tat, 0, rate).unwrap());
        }
        assert_eq!(gcra(tat, 0, rate), Err(1000));
        assert!(gcra(tat, 1000, rate).is_ok());
    }

    #[test]
    fn job_backoff_doubles_then_caps() {
        assert_eq!(job_backoff_ms(1), 2_000);
        assert_eq!(job_backoff_ms(2), 4_000);
        assert_eq!(job_backoff_ms(5), 32_000);
        assert_eq!(job_backoff_ms(40), 3_600_000);
        assert_eq!(job_backoff_ms(-3), 2_000);
    }

    proptest! {
        #[test]
        fn never_more_than_five_codes_in_any_window(gaps in proptest::collection::vec(0i64..400_000, 1..60)) {
            let mut now = 0;
            let mut remembered = Vec::new();
            let mut sent: Vec<i64> = Vec::new();
            for gap in gaps {
                now += gap;
                if let Ok(next) = decide_send(&remembered, now) {
                    remembered = next;
                    sent.push(now);
                }
            }
            for (i, t) in sent.iter().enumerate() {
                let in_window = sent[i..].iter().take_while(|u| **u < t + RESEND_WINDOW_MS).count();
                prop_assert!(in_window <= RESEND_MAX_PER_WINDOW as usize);
            }
            for pair in sent.windows(2) {
                prop_assert!(pair[1] - pair[0] >= RESEND_GAP_MS);
            }
        }

        #[test]
        fn no_allowance_is_ever_exceeded(
            gap_ms in 0i64..120_000,
            max_per_window in 1i64..8,
            window_beyond_gap in 1i64..3_600_000,
            gaps in proptest::collection::vec(0i64..400_000, 1..60),
        ) {
            // The gap is remembered for as long as the window, so a rule
            // with a gap longer than its window makes no sense.
            let window_ms = gap_ms + window_beyond_gap;
            let allowance = Allowance { gap_ms, max_per_window, window_ms };
            let mut now = 0;
            let mut remembered = Vec::new();
            let mut done: Vec<i64> = Vec::new();
            for gap in gaps {
                now += gap;
                match allowance.decide(&remembered, now) {
                    Ok(next) => {
                        remembered = next;
                        done.push(now);
                    }
                    // The wait it names is enough: waiting it is allowed.
                    Err(wait) => {
                        prop_assert!(wait > 0);
                        prop_assert!(allowance.decide(&remembered, now + wait).is_ok());
                    }
                }
            }
            for (i, t) in done.iter().enumerate() {
                let in_window = done[i..].iter().take_while(|u| **u < t + window_ms).count();
                prop_assert!(in_window <= max_per_window as usize);
            }
            for pair in done.windows(2) {
                prop_assert!(pair[1] - pair[0] >= gap_ms);
            }
        }

        #[test]
        fn a_remembered_time_ahead_of_the_clock_never_lets_one_through(
            ahead in 1i64..RESEND_WINDOW_MS,
            now in 0i64..1_000_000_000,
        ) {
            prop_assert!(decide_send(&[now + ahead], now).is_err());
            // And the wait stays bounded by the rules, not by the clock's step.
            prop_assert_eq!(decide_send(&[now + ahead], now), Err(RESEND_GAP_MS));
        }

        #[test]
        fn gcra_never_admits_more_than_burst_plus_elapsed(times in proptest::collection::vec(0i64..10_000, 1..200)) {
            let rate = Rate { interval_ms: 100, burst: 5 };
            let mut sorted = times.clone();
            sorted.sort();
            let mut tat = None;
            let mut admitted = 0i64;
            for t in &sorted {
                if let Ok(next) = gcra(tat, *t, rate) { tat = Some(next); admitted += 1; }
            }
            let span = sorted.last().unwrap() - sorted.first().unwrap();
            prop_assert!(admitted <= rate.burst + span / rate.interval_ms + 1);
        }
    }
}
